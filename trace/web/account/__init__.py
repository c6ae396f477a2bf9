"""Signing in and out, the account's own pages (password, API tokens, audit trail)."""

from farmtrace.web.account.views import bp, init_app

__all__ = ["bp", "init_app"]

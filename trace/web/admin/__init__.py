"""The admin pages (/admin): orgs, users, API tokens and keys, for operators and org admins (docs/admin.md)."""

from farmtrace.web.admin.views import bp

__all__ = ["bp"]

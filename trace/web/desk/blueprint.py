"""The regulator's desk's blueprint and what every one of its views needs: a signed-in regulator (or an
admin of a regulator org, the operator)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app
from flask_login import current_user, login_required

from farmtrace.services import admin
from farmtrace.services.ledger import Ledger
from farmtrace.services.transaction import Actor

bp = Blueprint("desk", __name__, url_prefix="/desk")


@bp.before_request
@login_required
def _signed_in() -> Any:
    """Every desk page needs a signed-in regulator, or the operator (an admin of a regulator org): an admin
    of a farm or a shop manages their own org on /admin, and audits no one."""
    if not may_use_desk():
        abort(403)
    return None


def may_use_desk() -> bool:
    """Whether the signed-in user is a regulator or the operator (base.html shows the desk's link by it)."""
    if not current_user.is_authenticated:
        return False
    account = current_user.account
    return bool(account.role == "regulator" or (
        account.role == "admin" and admin.who(ledger(), account.username).is_operator))


def ledger() -> Ledger:
    return current_app.extensions["ledger"]  # type: ignore[no-any-return]


def actor() -> Actor:
    account = current_user.account
    return Actor(account.org, account.username, account.role)

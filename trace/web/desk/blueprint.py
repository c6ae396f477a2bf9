"""The regulator's desk's blueprint and what every one of its views needs: a signed-in regulator (or an
admin of a regulator org, the operator)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app
from flask_login import current_user, login_required

from farmtrace.services.ledger import Ledger
from farmtrace.services.transaction import Actor

bp = Blueprint("desk", __name__, url_prefix="/desk")
DESK_ROLES = ("regulator", "admin")


@bp.before_request
@login_required
def _signed_in() -> Any:
    """Every desk page needs a signed-in regulator or admin."""
    if current_user.account.role not in DESK_ROLES:
        abort(403)
    return None


def ledger() -> Ledger:
    return current_app.extensions["ledger"]  # type: ignore[no-any-return]


def actor() -> Actor:
    account = current_user.account
    return Actor(account.org, account.username, account.role)

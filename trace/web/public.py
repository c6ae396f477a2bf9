"""Public pages: the home page and a batch's journey with its verification (no login)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, render_template

from farmtrace.core.ledger import Ledger
from farmtrace.core.verify import verify_batch

bp = Blueprint("public", __name__)


def ledger() -> Ledger:
    return current_app.extensions["ledger"]  # type: ignore[no-any-return]


@bp.get("/")
def index() -> Any:
    """Recent batches and the state of the log."""
    with ledger().uow() as uow:
        batches = uow.batches(limit=50)
        orgs = {o.id: o for o in uow.orgs()}
        size = uow.log_size()
        latest = uow.latest_checkpoint()
    return render_template("public/index.html", batches=batches, orgs=orgs, size=size, checkpoint=latest)


@bp.get("/batches/<batch_id>")
def batch(batch_id: str) -> Any:
    """One batch: product, holder, and each step with date, place and whether it verifies."""
    with ledger().uow() as uow:
        row = uow.batch(batch_id)
        if row is None:
            abort(404)
        checks = verify_batch(uow, batch_id)
        orgs = {o.id: o for o in uow.orgs()}
    return render_template("public/batch.html", batch=row, checks=checks, orgs=orgs,
                           verified=all(c.ok for c in checks))

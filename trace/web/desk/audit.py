"""The desk: a batch's audit view: does every step of this chain hold? Each event with its own verdicts
(hash, signature, key valid at its log position, signer, chain link, inclusion in the latest checkpoint),
its findings and its corrections; the batch's mock recall drills."""

from __future__ import annotations

from typing import Any

from flask import render_template

from farmtrace.rules.steps import FAMILIES
from farmtrace.services.desk import IBM_FOOD_TRUST_SECONDS, audit

from farmtrace.web.desk.blueprint import bp, ledger


@bp.get("/batches/<batch_id>")
def batch(batch_id: str) -> Any:
    """Audit one batch's chain event by event."""
    view = audit(ledger(), batch_id)
    return render_template("desk/batch.html", view=view, batch=view.batch, orgs=view.orgs,
                           ibm_seconds=IBM_FOOD_TRUST_SECONDS, families=FAMILIES)

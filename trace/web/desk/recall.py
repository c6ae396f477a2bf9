"""The desk: recall a batch and everything made from it, after a confirmation that lists every affected
lot and holder (a recall event signed by the regulator's org); and the mock recall drill, which runs the
same query, flags nothing, and is kept with how long it took."""

from __future__ import annotations

from typing import Any

from flask import redirect, render_template, request, url_for
from flask_babel import gettext

from farmtrace.ledger.errors import FarmtraceError
from farmtrace.services.desk import mock_recall, recall_scope
from farmtrace.services.lineage import recall as record_recall

from farmtrace.web.desk.blueprint import actor, bp, ledger
from farmtrace.web.errors import status_of

REASON_MIN, REASON_MAX = 4, 500


def _confirm(batch_id: str, *, reason: str = "", error: str | None = None, status: int = 200) -> Any:
    scope = recall_scope(ledger(), batch_id)
    root = next(lot for lot in scope.lots if lot["id"] == batch_id)
    return render_template("desk/recall.html", scope=scope, root=root, reason=reason, error=error), status


@bp.get("/batches/<batch_id>/recall")
def recall_confirm(batch_id: str) -> Any:
    """What recalling this batch reaches: every lot and holder, and the form to confirm it."""
    return _confirm(batch_id)


@bp.post("/batches/<batch_id>/recall")
def recall(batch_id: str) -> Any:
    """Record the recall: one event signed by the regulator's org; every descendant is flagged with it."""
    reason = (request.form.get("reason") or "").strip()
    if not REASON_MIN <= len(reason) <= REASON_MAX:
        return _confirm(batch_id, reason=reason, status=422, error=gettext(
            "Write the reason for the recall (%(min)s to %(max)s characters): holders and consumers read it.",
            min=REASON_MIN, max=REASON_MAX))
    try:
        record_recall(ledger(), batch_id, actor=actor(), reason=reason)
    except FarmtraceError as err:
        message = err.message_zh if err.message_zh and not _english() else err.message
        return _confirm(batch_id, reason=reason, error=message, status=status_of(err))
    return redirect(url_for("desk.trace", batch_id=batch_id, recalled=1), 303)


@bp.post("/batches/<batch_id>/drill")
def drill(batch_id: str) -> Any:
    """A mock recall: list every affected lot and holder, time it, keep the record, flag nothing."""
    made, _ = mock_recall(ledger(), batch_id, actor=actor())
    return redirect(url_for("desk.batch", batch_id=batch_id, drill=made.id, _anchor="drills"), 303)


def _english() -> bool:
    from flask_babel import get_locale
    return str(get_locale() or "zh").startswith("en")

"""The desk: whole-log verification as a background job (`/desk/verification`): start it, watch its
progress (the page polls `/desk/verification/status`), read its report. One job at a time; the job's
state is in the database, so a reload or another worker shows the same job (services/verify_jobs.py)."""

from __future__ import annotations

from typing import Any

from flask import jsonify, redirect, render_template, url_for
from flask_login import current_user

from farmtrace.services import verify_jobs

from farmtrace.web.desk.blueprint import bp, ledger
from farmtrace.web.errors import status_of


def _page(refused: tuple[str, str | None] | None = None, status: int = 200) -> Any:
    job = verify_jobs.latest(ledger())
    return render_template("desk/verification.html", job=job, refused=refused), status


@bp.get("/verification")
def verification() -> Any:
    """The latest job: running with its progress, or its report."""
    return _page()


@bp.post("/verification")
def start_verification() -> Any:
    """Start a whole-log verification, unless one is running."""
    try:
        verify_jobs.start(ledger(), current_user.account.username)
    except verify_jobs.VerificationBusyError as err:
        return _page((err.message, err.message_zh), status_of(err))
    return redirect(url_for("desk.verification"), 303)


@bp.get("/verification/status")
def verification_status() -> Any:
    """The latest job's state and progress as JSON, for the page's polling."""
    job = verify_jobs.latest(ledger())
    if job is None:
        return jsonify({"state": None})
    return jsonify({"id": job.id, "state": job.state, "phase": job.phase, "done": job.done, "total": job.total,
                    "percent": job.percent, "ok": job.ok, "failures": len(job.failures)})

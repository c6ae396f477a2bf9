"""The desk: the dashboard (`GET /desk/dashboard`): open warnings by family and org, cold-chain
excursions, certificates expired or expiring, counterfeit-pattern serials, recalls in progress and the
log's health, in words (services/dashboard.py reads it all)."""

from __future__ import annotations

from typing import Any

from flask import render_template

from farmtrace.services.dashboard import SOON, dashboard as read_dashboard
from farmtrace.services.scans import FLAG_TEXT

from farmtrace.web.desk.blueprint import bp, ledger


@bp.get("/dashboard")  # /desk/ itself is the search (search.py)
def dashboard() -> Any:
    """What needs a regulator's attention today."""
    return render_template("desk/dashboard.html", d=read_dashboard(ledger()), soon=SOON, flag_text=FLAG_TEXT)

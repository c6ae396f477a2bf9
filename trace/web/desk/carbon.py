"""The desk's carbon views: a batch's footprint with every emission line behind it (factor, table
version, source), and an org's emissions per unit of product by month with a CSV download
(method: docs/carbon.md)."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, render_template, url_for
from flask_babel import get_locale

from farmtrace.services.desk import org_choices
from farmtrace.services.footprint import org_monthly
from farmtrace.services.footprint_audit import footprint_audit

from farmtrace.web.desk.blueprint import bp, ledger
from farmtrace.web.footprint import lines_shown, months_csv, months_shown, shown


def _lang() -> str:
    return "en" if str(get_locale() or "zh").startswith("en") else "zh"


@bp.get("/batches/<batch_id>/carbon")
def carbon(batch_id: str) -> Any:
    """The batch's footprint, its stages, and each emission line behind it for the audit."""
    audit = footprint_audit(ledger(), batch_id)
    return render_template("desk/carbon.html", audit=audit, batch={"id": batch_id},
                           footprint=shown(audit.footprint, _lang()), lines=lines_shown(audit.lines, _lang()))


def _org_name(org_id: str) -> str:
    names = {o.id: o.name for o in org_choices(ledger())}
    if org_id not in names:
        abort(404)
    return names[org_id]


@bp.get("/orgs/<org_id>/carbon")
def org_carbon(org_id: str) -> Any:
    """An org's emissions per unit of product by month (企业能效碳排放绩效), table and bars."""
    name = _org_name(org_id)
    return render_template("desk/carbon_report.html", org_name=name,
                           months=months_shown(org_monthly(ledger(), org_id), _lang()),
                           csv_href=url_for("desk.org_carbon_csv", org_id=org_id))


@bp.get("/orgs/<org_id>/carbon.csv")
def org_carbon_csv(org_id: str) -> Any:
    _org_name(org_id)
    body = months_csv(org_monthly(ledger(), org_id), _lang())
    return Response(body.encode("utf-8"), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="carbon-{org_id}.csv"'})

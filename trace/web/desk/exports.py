"""The desk: exports in a regulator's browser session (`/desk/exports`): EPCIS 2.0 JSON-LD and the FSMA 204
spreadsheet (XLSX, CSV) for a batch's lineage (with a direction) or a date range. A form, then a download;
bad input is shown beside its field (422), never a 500. The checks are services/export_access.py's, the
same the JSON API makes."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, render_template, request

from farmtrace.ledger.errors import NotFoundError, PermissionDeniedError, Said
from farmtrace.services import export_access

from farmtrace.web.desk.blueprint import actor, bp, ledger
from farmtrace.web.errors import status_of


def _form(values: dict[str, str], errors: dict[str, Said], status: int = 200) -> Any:
    return render_template("desk/exports.html", values=values, errors=errors), status


@bp.get("/exports")
def exports() -> Any:
    """The export form."""
    return _form({"scope": "lineage", "direction": "both", "format": "epcis", "sheet_lang": "zh"}, {})


@bp.get("/exports/download")
def export_download() -> Any:
    """The document the form asked for, as an attachment; the form again with errors beside the fields."""
    values = {k: v[:200] for k, v in request.args.items()}
    wanted, errors = export_access.parse_form(values)
    if wanted is None:
        return _form(values, errors, 422)
    try:
        made = export_access.export(ledger(), actor(), wanted, base_url=str(current_app.config["FARMTRACE"].base_url))
    except (NotFoundError, PermissionDeniedError) as err:
        words = Said(err.message, err.message_zh or err.message)
        return _form(values, {err.field or "batch": words}, status_of(err) if status_of(err) != 404 else 422)
    response = Response(made.payload, mimetype=made.mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{made.filename}"'
    return response

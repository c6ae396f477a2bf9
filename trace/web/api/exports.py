"""Export endpoints of the JSON API (docs/exports.md): EPCIS 2.0, the FSMA 204 spreadsheet, the offline bundle.

Who may export what: a regulator or an admin, anything; a producer, only the lineage of a batch its
org holds or created (`batch=`, the bundle), never a date range (403). Registered on `api.bp`, so
the OpenAPI document and the token-in-URL refusal cover them like every other /api/v1 view.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from flask import Response, current_app, request
from pydantic import Field, StringConstraints

from farmtrace.services.transaction import Actor
from farmtrace.ledger.errors import InvalidRequestError
from farmtrace.services.export_access import require_exporter
from farmtrace.services.export_access import require_lineage_access as _lineage_access
from farmtrace.services.exports import fsma204
from farmtrace.services.exports._select import parse_window
from farmtrace.services.exports.bundle import make_bundle
from farmtrace.services.exports.epcis import MEDIA_TYPE as EPCIS_MEDIA_TYPE
from farmtrace.services.exports.epcis import epcis_document

from farmtrace.web.api import schemas as s
from farmtrace.web.api.events import batch_arg, bp, ledger, op
from farmtrace.web.auth import current_actor

DateOrTime = Annotated[str, StringConstraints(
    pattern=r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2}))?$")]
FROM = "a date (a day in +08:00) or an RFC 3339 time; included"
TO = "a date (that whole day is included) or an RFC 3339 time (excluded)"
PRODUCT = "only batches whose product name contains this, or whose GTIN it is"


class EpcisQuery(s.Query):
    batch: s.Ident | None = Field(default=None, description="export this batch's lineage (ancestors and descendants)")
    from_: DateOrTime | None = Field(default=None, alias="from", description=FROM)
    to: DateOrTime | None = Field(default=None, description=TO)
    product: s.SearchText | None = Field(default=None, description=PRODUCT)


class Fsma204Query(s.Query):
    from_: DateOrTime = Field(alias="from", description=FROM)
    to: DateOrTime = Field(description=TO)
    product: s.SearchText | None = Field(default=None, description=PRODUCT)
    format: Literal["csv", "xlsx"] = "csv"
    lang: Literal["en", "zh"] = Field(default="en", description="language of the header row and CTE names")


def _media(note_holder: Any, media: dict[str, dict[str, Any]]) -> Any:
    """Say in the OpenAPI document which media type the 200 answer has (not JSON)."""
    note_holder.openapi["media"] = media
    return note_holder


def _base_url() -> str:
    return str(current_app.config["FARMTRACE"].base_url)


def require_lineage_access(actor: Actor, batch_id: str) -> None:
    """A producer exports only batches its org holds or created; 404 for no such batch (services/export_access.py)."""
    _lineage_access(ledger(), actor, batch_arg(batch_id))


@bp.get("/exports/epcis")
@op("A GS1 EPCIS 2.0 JSON-LD document: a batch's lineage (batch=) or the events in a date range",
    auth=True, query=EpcisQuery, errors=(403, 404, 422))
def export_epcis() -> Response:
    """Producers: only batch= for a batch their org holds or created. Date ranges: regulators and admins."""
    actor = current_actor()
    q = s.parse(EpcisQuery, request.args.to_dict())
    if q.batch is not None:
        if q.from_ or q.to or q.product:
            raise InvalidRequestError("give either batch, or from and to (and product), not both", field="batch")
        require_lineage_access(actor, q.batch)
        doc = epcis_document(ledger(), batch=q.batch, base_url=_base_url())
    else:
        if not (q.from_ or q.to):
            raise InvalidRequestError("give batch, or from and to", field="batch")
        require_exporter(actor)
        start, end = parse_window(q.from_, q.to)
        doc = epcis_document(ledger(), start=start, end=end, product=q.product, base_url=_base_url())
    return Response(json.dumps(doc, ensure_ascii=False), mimetype=EPCIS_MEDIA_TYPE)


_media(export_epcis, {EPCIS_MEDIA_TYPE: {"type": "object", "description": "an EPCISDocument (GS1 EPCIS 2.0)"}})


@bp.get("/exports/fsma204")
@op("The FSMA 204 electronic sortable spreadsheet of a date range (CSV or XLSX attachment)",
    auth=True, query=Fsma204Query, errors=(403, 422))
def export_fsma204() -> Response:
    """One row per critical tracking event with its key data elements; regulators and admins only."""
    actor = current_actor()
    q = s.parse(Fsma204Query, request.args.to_dict())
    require_exporter(actor)
    start, end = parse_window(q.from_, q.to)
    rows = fsma204.rows(ledger(), start, end, q.product)
    name = f"fsma204-{start.date().isoformat()}-{q.to[:10]}.{q.format}"
    if q.format == "xlsx":
        payload, mimetype = fsma204.to_xlsx(rows, q.lang), fsma204.XLSX_MEDIA_TYPE
    else:
        payload, mimetype = fsma204.to_csv(rows, q.lang).encode("utf-8"), fsma204.CSV_MEDIA_TYPE
    response = Response(payload, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


_media(export_fsma204, {fsma204.CSV_MEDIA_TYPE: {"type": "string"},
                        fsma204.XLSX_MEDIA_TYPE: {"type": "string", "contentEncoding": "binary"}})


@bp.get("/batches/<batch_id>/bundle")
@op("The batch's offline-verifiable bundle (docs/bundle.md): its lineage, keys, checkpoint and proofs",
    auth=True, errors=(403, 404))
def export_bundle(batch_id: str) -> Response:
    """Producers: only a batch their org holds or created."""
    actor = current_actor()
    require_lineage_access(actor, batch_id)
    doc = make_bundle(ledger(), batch_id)
    return Response(json.dumps(doc, ensure_ascii=False), mimetype="application/json")


@bp.post("/import/epcis")
@op("Import a GS1 EPCIS 2.0 JSON document: its events are recorded by your org, signed on receipt",
    auth=True, errors=(403, 409, 422))
def import_epcis_document() -> tuple[dict[str, Any], int]:
    """Producers and regulators; the body is the document (at most 16 MiB); all of it is recorded or nothing."""
    from farmtrace.ledger.errors import PermissionDeniedError
    from farmtrace.services.epcis_import import MAX_BYTES, import_epcis

    actor = current_actor()
    if actor.role not in ("producer", "regulator"):
        raise PermissionDeniedError("importing EPCIS needs a producer or regulator token", field="role")
    if (request.content_length or 0) > MAX_BYTES:
        raise InvalidRequestError(f"the document is larger than {MAX_BYTES} bytes", field="document")
    raw = request.stream.read(MAX_BYTES + 1)
    report = import_epcis(ledger(), raw, org=actor.org)
    return {"document": report.document, "events": report.events, "recorded": report.recorded,
            "batches": list(report.batches)}, 201 if report.recorded else 200

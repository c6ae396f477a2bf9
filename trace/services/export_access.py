"""Who may export what, and the desk's export form: checks the JSON API (web/api/exports.py) and the
regulator's desk (web/desk/exports.py) both call, so an export is allowed and refused the same way.

Rules (docs/exports.md):
1. A regulator or an admin exports anything: a batch's lineage or a date range.
2. A producer exports only the lineage of a batch its org holds or created, never a date range.
3. A lineage names a batch that exists (NotFoundError otherwise); a range is `from` and `to` as
   exports/_select.py `parse_window` reads them.
The desk adds a direction to a lineage (both ways, backward to the origins, forward to every lot made
from it): the exporters write the whole lineage, and the desk keeps the events of the batches on the
chosen side (the batch itself always included).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from farmtrace.ledger.errors import FarmtraceError, InvalidRequestError, NotFoundError, PermissionDeniedError, Said
from farmtrace.ledger.events import IDENT
from farmtrace.services.exports import fsma204
from farmtrace.services.exports._select import parse_window
from farmtrace.services.exports.epcis import MEDIA_TYPE as EPCIS_MEDIA_TYPE
from farmtrace.services.exports.epcis import epcis_document
from farmtrace.services.ledger import Ledger
from farmtrace.services.transaction import Actor

EXPORTERS = ("regulator", "admin")
DIRECTIONS = ("both", "backward", "forward")
FORMATS = ("epcis", "xlsx", "csv")
SCOPES = ("lineage", "range")


def require_lineage_access(ledger: Ledger, actor: Actor, batch_id: str) -> None:
    """A producer exports only batches its org holds or created (rules 2, 3).

    Raises:
        NotFoundError: no such batch (field "batch").
        PermissionDeniedError: a producer's org neither holds nor created it.
    """
    if not isinstance(batch_id, str) or not IDENT.match(batch_id):
        raise NotFoundError(Said(f"no batch {str(batch_id)[:64]!r}", f"没有批次 {str(batch_id)[:64]}"), field="batch")
    with ledger.uow() as uow:
        row = uow.batch(batch_id)
        holder, origin = (row.org_id, row.origin_org) if row is not None else (None, None)
    if row is None:
        raise NotFoundError(Said(f"no batch {batch_id}", f"没有批次 {batch_id}"), field="batch")
    if actor.role not in EXPORTERS and actor.org not in (holder, origin):
        raise PermissionDeniedError(f"org {actor.org} neither holds nor created batch {batch_id}", field="batch")


def require_exporter(actor: Actor) -> None:
    """Only regulators and admins export a date range (rule 2)."""
    if actor.role not in EXPORTERS:
        raise PermissionDeniedError("date-range exports are for regulators and admins; a producer exports a "
                                    "batch's lineage with batch=", field="role")


@dataclass(frozen=True)
class DeskExport:
    """A checked request from the desk's export form."""

    scope: str                       # lineage | range
    format: str                      # epcis | xlsx | csv
    lang: str                        # en | zh (the spreadsheet's header row)
    batch: str | None = None
    direction: str = "both"
    start: datetime | None = None
    end: datetime | None = None
    product: str | None = None


@dataclass(frozen=True)
class Download:
    payload: bytes
    mimetype: str
    filename: str


def parse_form(form: dict[str, str]) -> tuple[DeskExport | None, dict[str, Said]]:
    """Read the desk's form; returns the request, or None and each field's error in both languages."""
    errors: dict[str, Said] = {}

    def pick(name: str, allowed: tuple[str, ...], default: str) -> str:
        value = (form.get(name) or default).strip()
        if value not in allowed:
            errors[name] = Said(f"Choose one of: {', '.join(allowed)}.", "请从列出的选项中选择一项。")
        return value

    scope = pick("scope", SCOPES, "lineage")
    fmt = pick("format", FORMATS, "epcis")
    lang = pick("sheet_lang", ("zh", "en"), "zh")
    direction = pick("direction", DIRECTIONS, "both")
    product = (form.get("product") or "").strip() or None
    if product is not None and len(product) > 100:
        errors["product"] = Said("A product name has at most 100 characters.", "产品名称最多 100 个字。")
    batch = (form.get("batch") or "").strip()
    start = end = None
    if scope == "lineage":
        if not batch:
            errors["batch"] = Said("Give the batch's id.", "请填写批次编号。")
        elif not IDENT.match(batch):
            errors["batch"] = Said(f"No batch {batch[:64]!r}.", f"没有批次 {batch[:64]}。")
    elif scope == "range":
        try:
            start, end = parse_window((form.get("from") or "").strip() or None, (form.get("to") or "").strip() or None)
        except FarmtraceError as err:
            errors[err.field or "from"] = _words(err)
    if errors:
        return None, errors
    return DeskExport(scope, fmt, lang, batch or None, direction, start, end, product), {}


def _words(err: FarmtraceError) -> Said:
    """A window error in both languages (parse_window words it in English only)."""
    zh = err.message_zh
    if not zh and err.field == "to" and "after" in err.message:
        zh = "结束日期须不早于开始日期。"
    elif not zh:
        zh = "请填写日期（如 2026-03-01）或带时区的时间（如 2026-03-01T08:00:00+08:00）。"
    return Said(err.message, zh)


def _side(ledger: Ledger, batch: str, direction: str) -> set[str] | None:
    """The batches on the chosen side of the lineage (None: both sides, everything the exporter wrote)."""
    if direction == "both":
        return None
    with ledger.uow() as uow:
        other = uow.ancestors([batch]) if direction == "backward" else uow.descendants([batch])
    return {batch} | other


def export(ledger: Ledger, actor: Actor, request: DeskExport, *, base_url: str) -> Download:
    """Make the document the desk's form asked for, through the exporters in services/exports/.

    Raises:
        NotFoundError: the lineage's batch does not exist (field "batch").
        PermissionDeniedError: the actor may not export it.
    """
    if request.scope == "lineage":
        assert request.batch is not None
        require_lineage_access(ledger, actor, request.batch)
        keep = _side(ledger, request.batch, request.direction)
        stem = f"{request.batch}-{request.direction}"
    else:
        require_exporter(actor)
        assert request.start is not None and request.end is not None
        keep = None
        stem = f"{request.start.date().isoformat()}-{request.end.date().isoformat()}"
    if request.format == "epcis":
        if request.scope == "lineage":
            doc = epcis_document(ledger, batch=request.batch, base_url=base_url)
        else:
            doc = epcis_document(ledger, start=request.start, end=request.end, product=request.product,
                                 base_url=base_url)
        if keep is not None:
            events = doc["epcisBody"]["eventList"]
            doc["epcisBody"]["eventList"] = [e for e in events if _batch_of(e) in keep]
        return Download(json.dumps(doc, ensure_ascii=False).encode("utf-8"), EPCIS_MEDIA_TYPE,
                        f"epcis-{stem}.jsonld")
    if request.scope == "lineage":
        assert request.batch is not None
        rows = _lineage_rows(ledger, request.batch, keep)
    else:
        assert request.start is not None and request.end is not None
        rows = fsma204.rows(ledger, request.start, request.end, request.product)
    if request.format == "xlsx":
        return Download(fsma204.to_xlsx(rows, request.lang), fsma204.XLSX_MEDIA_TYPE, f"fsma204-{stem}.xlsx")
    return Download(fsma204.to_csv(rows, request.lang).encode("utf-8"), fsma204.CSV_MEDIA_TYPE, f"fsma204-{stem}.csv")


def _batch_of(event: dict[str, Any]) -> str | None:
    batch = event.get("ft:batch")
    return batch if isinstance(batch, str) else None


def _lineage_rows(ledger: Ledger, batch: str, keep: set[str] | None) -> list[fsma204.Row]:
    """The FSMA 204 rows of a lineage: the spreadsheet of all time, kept to the lineage's batches
    (fsma204 selects by date range only)."""
    if keep is None:
        with ledger.uow() as uow:
            keep = {batch} | uow.ancestors([batch]) | uow.descendants([batch])
    start, end = parse_window("0001-01-01", "9999-12-31")
    return [row for row in fsma204.rows(ledger, start, end) if row.get("batch") in keep]

"""The FSMA 204 electronic sortable spreadsheet: one row per critical tracking event (domain.md §8).

Critical tracking events (CTEs) and where they come from:
1. harvesting: a `harvested` event (it creates the lot), with the field or growing area (`plot`,
   the plot batch's lot and name when it names one, else `place`) and the immediate subsequent
   recipient (the org its first `ship` names; the harvester itself when it kept the lot);
2. cooling: a `stored` or `temperature_logged` event whose `regime` is cooling/chilling/precooling,
   on a harvested lot not packed yet (cooling *before initial packing* only);
3. initial packing: the first `packed` event of a harvested lot (a raw commodity);
4. shipping, receiving: `ship`, `receive`;
5. transformation: `transform`, one row per output lot, with its input lots and quantities and the
   input products' descriptions.
Location descriptions (the event's place, sources and recipients) are 21 CFR 1.1310's: business
name, physical address with country, and phone number, from the org's contact details.
Growing, input applications and the like are not CTEs and stay farmtrace-only.

Shipping and receiving rows of a lot with a 承诺达标合格证 (its `certificate_issued` event) name it in "Other
reference documents" ("承诺达标合格证 No. HGZ-…"), beside the delivery note in the reference-document columns.

Columns are the key data elements of the rule, one header row so the sheet sorts and filters: in
English (`lang="en"`, the default, for buyers who ask for FSMA records) or Chinese (`lang="zh"`);
the CTE and reference-document-type values follow the same language. Each row also names the
farmtrace event hash (the record anyone can check) and batch id.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import text

from farmtrace.storage.models import Event
from farmtrace.storage.uow import UnitOfWork

from farmtrace.ledger.errors import InvalidRequestError
from farmtrace.services.ledger import Ledger
from farmtrace.services.exports._select import Facts, body, chunks, event_time, window_events

COLUMNS: list[tuple[str, str, str]] = [  # key, English header, Chinese header
    ("cte", "Critical tracking event", "关键追踪事件"),
    ("traceability_lot_code", "Traceability lot code", "追溯批次代码"),
    ("tlc_source", "Traceability lot code source", "批次代码来源"),
    ("product_description", "Product description", "产品描述"),
    ("gtin", "GTIN", "商品条码 GTIN"),
    ("quantity", "Quantity", "数量"),
    ("unit", "Unit of measure", "计量单位"),
    ("location", "Location description", "事件地点"),
    ("date", "Date", "日期"),
    ("time", "Time", "时间"),
    ("previous_source", "Immediate previous source", "直接来源"),
    ("subsequent_recipient", "Immediate subsequent recipient", "直接接收方"),
    ("field_name", "Field or growing area name", "田块或种植区名称"),
    ("input_lots", "Input traceability lot codes and quantities", "投入批次代码及数量"),
    ("input_products", "Input product descriptions", "投入产品描述"),
    ("reference_document_type", "Reference document type", "参考文件类型"),
    ("reference_document_number", "Reference document number", "参考文件编号"),
    ("other_documents", "Other reference documents", "其他参考文件"),
    ("event_hash", "farmtrace event hash", "farmtrace 事件哈希"),
    ("batch", "farmtrace batch", "farmtrace 批次"),
]
KEYS = [key for key, _, _ in COLUMNS]
CTES = {"harvesting": ("Harvesting", "收获"), "cooling": ("Cooling", "冷却"),
        "initial_packing": ("Initial packing", "初次包装"), "shipping": ("Shipping", "发运"),
        "receiving": ("Receiving", "接收"), "transformation": ("Transformation", "加工转化")}
DOCUMENTS = {"delivery_note": ("Delivery note", "送货单"), "certificate": ("Certificate", "合格证/证明"),
             "farmtrace_event": ("farmtrace event", "farmtrace 事件")}
CERTIFICATE = "承诺达标合格证"  # its name as printed on it, in both languages of the sheet
CTE_TYPES = ("harvested", "stored", "temperature_logged", "packed", "ship", "receive", "transform")
COOLING = {"cooling", "chilling", "precooling"}
LANGS = ("en", "zh")
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MEDIA_TYPE = "text/csv"

Row = dict[str, str]


def rows(ledger: Ledger, start: datetime, end: datetime, product: str | None = None) -> list[Row]:
    """Every CTE whose `at` lies in [start, end) (of batches whose product name contains `product`,
    or whose GTIN it is), oldest first; values are text, keyed by COLUMNS' keys."""
    with ledger.uow() as uow:
        facts = Facts(uow)
        events = window_events(uow, start, end, CTE_TYPES)
        facts.load(str(e.batch_id) for e in events)
        events = [e for e in events if facts.product_matches(str(e.batch_id), product)]
        parsed = [(e, body(e)) for e in events]
        ships = facts.events_by_hash(str(b["data"].get("ship")) for e, b in parsed if e.type == "receive")
        inputs = [str(i.get("batch")) for e, b in parsed if e.type == "transform"
                  for i in b["data"].get("inputs", []) if isinstance(i, dict)]
        facts.load(inputs)
        packed_before = _first_packing(uow, [str(e.batch_id) for e in events])
        certificates = _certificates(uow, sorted({str(e.batch_id) for e in events if e.type in ("ship", "receive")}))
        harvested = [str(e.batch_id) for e in events if e.type == "harvested"]
        recipients = _first_recipients(uow, harvested)
        plots = [str(b["data"].get("plot")) for e, b in parsed if e.type == "harvested" and b["data"].get("plot")]
        facts.load(plots)
        out: list[tuple[datetime, int, Row]] = []
        for event, b in parsed:
            row = _row(facts, event, b, ships, packed_before, recipients)
            if row is not None:
                row["other_documents"] = certificates.get(str(event.batch_id), "") if row["cte"] in (
                    "shipping", "receiving") else ""
                out.append((event_time(event.at), event.seq, row))
    return [row for _, _, row in sorted(out, key=lambda item: (item[0], item[1]))]


def _first_of_type(uow: UnitOfWork, batch_ids: list[str], type_: str) -> dict[str, tuple[int, str]]:
    """batch -> (log position, canonical text) of its first event of `type_`."""
    found: dict[str, tuple[int, str]] = {}
    for part in chunks(batch_ids):
        marks = ", ".join(f":b{i}" for i in range(len(part)))
        sql = text("SELECT batch_id, seq, canonical FROM events WHERE type = :t "  # nosec B608 (placeholders only)
                   f"AND batch_id IN ({marks}) ORDER BY seq")
        for batch_id, seq, canonical in uow.connection.execute(
                sql, {"t": type_, **{f"b{i}": b for i, b in enumerate(part)}}):
            found.setdefault(str(batch_id), (int(str(seq)), str(canonical)))
    return found


def _first_packing(uow: UnitOfWork, batch_ids: list[str]) -> dict[str, int]:
    """batch -> log position of its first `packed` event (to tell initial packing and pre-packing cooling)."""
    return {batch: seq for batch, (seq, _) in _first_of_type(uow, batch_ids, "packed").items()}


def _first_recipients(uow: UnitOfWork, batch_ids: list[str]) -> dict[str, str]:
    """batch -> the org its first `ship` names (a harvested lot's immediate subsequent recipient)."""
    found = {batch: json.loads(canonical).get("data", {}).get("to")
             for batch, (_, canonical) in _first_of_type(uow, batch_ids, "ship").items()}
    return {batch: to for batch, to in found.items() if isinstance(to, str)}


def _certificates(uow: UnitOfWork, batch_ids: list[str]) -> dict[str, str]:
    """batch -> "承诺达标合格证 No. …" of the certificate issued on the lot (its `certificate_issued` event)."""
    found = {batch: json.loads(canonical).get("data", {}).get("certificate_no")
             for batch, (_, canonical) in _first_of_type(uow, batch_ids, "certificate_issued").items()}
    return {batch: f"{CERTIFICATE} No. {number}" for batch, number in found.items() if isinstance(number, str)}


def _field_name(facts: Facts, data: dict[str, Any]) -> str:
    """Where a lot was harvested: its plot (the plot batch's lot and name when `plot` names one), else `place`."""
    plot = data.get("plot")
    if isinstance(plot, str) and plot:
        row = facts.batch(plot)
        return f"{row.lot} {row.product}" if row is not None else plot
    return str(data.get("place") or "")


def _row(facts: Facts, event: Event, b: dict[str, Any], ships: dict[str, Event],
         packed_before: dict[str, int], recipients: dict[str, str]) -> Row | None:
    data: dict[str, Any] = b["data"]
    batch_id = str(event.batch_id)
    batch = facts.batch(batch_id)
    if batch is None:
        return None
    raw = facts.genesis.get(batch_id, {}).get("type") == "harvested"
    first_pack = packed_before.get(batch_id)
    cte: str | None = None
    quantity, unit = data.get("quantity"), data.get("unit")
    previous = recipient = inputs = products = field_name = ""
    document = ("farmtrace_event", event.hash)
    if event.type == "harvested":
        cte = "harvesting"
        field_name = _field_name(facts, data)
        recipient = facts.location(recipients.get(batch_id) or event.org_id)  # kept and processed on the farm: itself
    elif event.type in ("stored", "temperature_logged"):
        if raw and str(data.get("regime", "")).lower() in COOLING and (first_pack is None or event.seq < first_pack):
            cte = "cooling"
            quantity, unit = batch.quantity, batch.unit
    elif event.type == "packed":
        if raw and first_pack == event.seq:
            cte = "initial_packing"
            quantity, unit = data.get("units") or data.get("count"), "units"
    elif event.type == "ship":
        cte = "shipping"
        recipient = facts.location(data.get("to"))
        document = _document(data) or document
    elif event.type == "receive":
        cte = "receiving"
        ship = ships.get(str(data.get("ship")))
        if ship is not None:
            previous = facts.location(ship.org_id)
            document = _document(body(ship)["data"]) or _document(data) or document
        else:
            document = _document(data) or document
    elif event.type == "transform":
        cte = "transformation"
        items = [i for i in data.get("inputs", []) if isinstance(i, dict)]
        inputs = "; ".join(_input_text(facts, i) for i in items)
        products = "; ".join(_input_product(facts, i) for i in items)
    if cte is None:
        return None
    gtin = facts.gtins.get(batch_id, "")
    genesis = facts.genesis.get(batch_id, {})
    source = facts.location(batch.origin_org or genesis.get("org"))
    place = genesis.get("data", {}).get("place")
    at = str(b["at"])
    return {
        "cte": cte, "traceability_lot_code": batch.lot,
        "tlc_source": f"{source}, {place}" if isinstance(place, str) and place else source,
        "product_description": batch.product, "gtin": gtin,
        "quantity": _text(quantity), "unit": _text(unit),
        "location": facts.location(event.org_id), "date": at[:10], "time": at[11:],
        "previous_source": previous, "subsequent_recipient": recipient, "field_name": field_name,
        "input_lots": inputs, "input_products": products,
        "reference_document_type": document[0], "reference_document_number": document[1], "other_documents": "",
        "event_hash": event.hash, "batch": batch_id,
    }


def _document(data: dict[str, Any]) -> tuple[str, str] | None:
    if isinstance(data.get("doc"), str) and data["doc"].strip():
        return ("delivery_note", data["doc"])
    if isinstance(data.get("certificate_no"), str) and data["certificate_no"].strip():
        return ("certificate", data["certificate_no"])
    return None


def _input_text(facts: Facts, item: dict[str, Any]) -> str:
    row = facts.batch(str(item.get("batch")))
    lot = row.lot if row is not None else str(item.get("batch"))
    return f"{lot} {_text(item.get('quantity'))} {_text(item.get('unit'))}".strip()


def _input_product(facts: Facts, item: dict[str, Any]) -> str:
    row = facts.batch(str(item.get("batch")))
    return f"{row.lot} {row.product}" if row is not None else str(item.get("batch"))


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def check_lang(lang: str) -> str:
    if lang not in LANGS:
        raise InvalidRequestError(f"lang must be one of {', '.join(LANGS)}", field="lang")
    return lang


def _headers(lang: str) -> list[str]:
    return [en if check_lang(lang) == "en" else zh for _, en, zh in COLUMNS]


def _cells(row: Row, lang: str) -> list[str]:
    pick = 0 if lang == "en" else 1
    values = dict(row)
    values["cte"] = CTES[row["cte"]][pick] if row["cte"] in CTES else row["cte"]
    kind = row["reference_document_type"]
    values["reference_document_type"] = DOCUMENTS[kind][pick] if kind in DOCUMENTS else kind
    return [values.get(key, "") for key in KEYS]


def to_csv(rows: list[Row], lang: str = "en") -> str:
    """The sheet as CSV text: UTF-8 BOM first (so Excel reads the Chinese right), CRLF line ends."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(_headers(lang))
    for row in rows:
        writer.writerow(_cells(row, lang))
    return out.getvalue()


def to_xlsx(rows: list[Row], lang: str = "en") -> bytes:
    """The sheet as an .xlsx workbook: header row frozen, autofilter on, dates and quantities typed so they sort."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "FSMA 204"
    sheet.append(_headers(lang))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    date_col, qty_col = KEYS.index("date") + 1, KEYS.index("quantity") + 1
    for row in rows:
        cells: list[Any] = list(_cells(row, lang))
        cells[date_col - 1] = _as_date(row["date"])
        cells[qty_col - 1] = _as_number(row["quantity"])
        sheet.append(cells)
    for r in range(2, sheet.max_row + 1):
        sheet.cell(row=r, column=date_col).number_format = "yyyy-mm-dd"
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(KEYS))}{max(sheet.max_row, 1)}"
    widths = {"other_documents": 30, "event_hash": 66, "tlc_source": 60, "location": 60, "product_description": 30, "input_lots": 36,
              "previous_source": 60, "subsequent_recipient": 60, "field_name": 30, "input_products": 36}
    for i, key in enumerate(KEYS, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = widths.get(key, 18)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _as_date(text: str) -> date | str:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return text


def _as_number(text: str) -> Decimal | str:
    try:
        return Decimal(text) if text else text
    except InvalidOperation:
        return text

"""`farmtrace bench`, the standard exports: EPCIS 2.0 documents and FSMA 204 spreadsheets, in events per
second over the run's big log, each beside the bare cost of writing the same output in the same run:
`json.dumps` of the finished document, and openpyxl writing the finished rows with no styling. The
ratio (how many times the bare write our export takes, reading and mapping included) is the figure; the
machines are shared and noisy, so absolute rates are printed but not compared across runs.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from farmtrace.services.exports.epcis import epcis_document
from farmtrace.services.exports.fsma204 import KEYS, rows, to_xlsx
from farmtrace.services.ledger import Ledger

Echo = Callable[[str], None]
EVER = (datetime(2000, 1, 1, tzinfo=timezone.utc), datetime(2100, 1, 1, tzinfo=timezone.utc))


def _raw_xlsx(table: list[dict[str, str]]) -> bytes:
    from openpyxl import Workbook
    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(KEYS)
    for row in table:
        sheet.append([row.get(key, "") for key in KEYS])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def bench_exports(ledger: Ledger, echo: Echo) -> dict[str, Any]:
    """EPCIS over the whole log's window and FSMA 204 XLSX over the same window, against the bare writes."""
    out: dict[str, Any] = {}
    start = time.perf_counter()
    doc = epcis_document(ledger, start=EVER[0], end=EVER[1])
    text = json.dumps(doc, ensure_ascii=False)
    ours = time.perf_counter() - start
    start = time.perf_counter()
    json.dumps(doc, ensure_ascii=False)
    bare = time.perf_counter() - start
    events = len(doc["epcisBody"]["eventList"])
    out["epcis"] = {"events": events, "events_per_s": events / ours, "bytes": len(text),
                    "ratio_to_json_dumps": ours / bare if bare else float("inf")}
    echo(f"export EPCIS 2.0: {events} events in {ours:.2f} s ({events / ours:,.0f} events/s); "
         f"json.dumps of the same document {bare:.3f} s, ratio {ours / bare if bare else 0:.1f}×")

    start = time.perf_counter()
    table = rows(ledger, *EVER)
    sheet = to_xlsx(table)
    ours = time.perf_counter() - start
    start = time.perf_counter()
    _raw_xlsx(table)
    bare = time.perf_counter() - start
    out["fsma204_xlsx"] = {"rows": len(table), "rows_per_s": len(table) / ours if ours else 0.0, "bytes": len(sheet),
                           "ratio_to_raw_openpyxl": ours / bare if bare else float("inf")}
    echo(f"export FSMA 204 XLSX: {len(table)} rows in {ours:.2f} s ({len(table) / ours if ours else 0:,.0f} rows/s); "
         f"raw openpyxl writes of the same rows {bare:.3f} s, ratio {ours / bare if bare else 0:.1f}×")
    return out

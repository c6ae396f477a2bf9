"""Issue 14's standard exports: CBV 2.0 event hashes, the FSMA 204 key data elements, EPCIS import."""

from __future__ import annotations

import copy
import io
import json
import secrets
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from farmtrace.demo import load_demo, setup_orgs
from farmtrace.ledger.errors import InvalidRequestError
from farmtrace.services.epcis_import import import_epcis
from farmtrace.services.exports import fsma204
from farmtrace.services.exports._select import body, parse_window
from farmtrace.services.exports.epcis import epcis_document
from farmtrace.services.ledger import Ledger
from farmtrace.storage.engine import make_engine
from farmtrace.storage.migrate import upgrade

BASE = "https://trace.example.cn"
EVERYTHING = parse_window("2000-01-01", "2099-12-31")
REQUIRED = {  # CTE -> the columns 21 CFR 1.1325-1.1350 asks of it (beside lot, product, quantity, unit, place, date)
    "harvesting": {"field_name", "subsequent_recipient", "tlc_source"},
    "cooling": {"tlc_source"},
    "initial_packing": {"tlc_source"},
    "shipping": {"subsequent_recipient", "reference_document_type", "reference_document_number"},
    "receiving": {"previous_source", "reference_document_type", "reference_document_number"},
    "transformation": {"input_lots", "input_products"},
}
ALWAYS = {"cte", "traceability_lot_code", "product_description", "quantity", "unit", "location", "date", "time",
          "reference_document_type", "reference_document_number", "event_hash", "batch"}


def _ledger(path: Path) -> Ledger:
    url = f"sqlite:///{path}"
    upgrade(url)
    return Ledger(make_engine(url), secret_key="std-" + secrets.token_hex(8), log_origin="test.farmtrace/log",
                  checkpoint_interval=None)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ledger]:
    ledger = _ledger(tmp_path_factory.mktemp("std") / "demo.db")
    assert load_demo(ledger)
    yield ledger
    ledger.engine.dispose()


@pytest.fixture(scope="module")
def document(demo: Ledger) -> dict[str, Any]:
    return epcis_document(demo, start=EVERYTHING[0], end=EVERYTHING[1], base_url=BASE)


def _reference_hash(doc: dict[str, Any], event: dict[str, Any]) -> str:
    """GS1's reference tool, its whole path (JSON-LD expansion included), on a document of this one event.

    The tool cannot read a term definition that is an object in @context (ours: `ft:data` as @json); it
    only collects prefixes there, so the term is left out, which changes nothing in the pre-hash."""
    from epcis_event_hash_generator import hash_generator, json_to_py

    context = [doc["@context"][0], {"ft": doc["@context"][1]["ft"]}]
    one = {"@context": context, "type": "EPCISDocument", "schemaVersion": "2.0",
           "creationDate": doc["creationDate"], "epcisBody": {"eventList": [copy.deepcopy(event)]}}
    with warnings.catch_warnings():  # the tool reads its bundled GS1 context with a deprecated importlib call
        warnings.simplefilter("ignore", DeprecationWarning)
        return str(hash_generator.epcis_hashes_from_events(json_to_py.event_list_from_epcis_document_json(one))[0])


def test_every_exported_event_id_is_the_reference_tools_cbv_hash(document) -> None:
    events = document["epcisBody"]["eventList"]
    assert len(events) > 150
    for event in events:
        assert event["eventID"].endswith("?ver=CBV2.0")
        assert event["eventID"] == _reference_hash(document, event), event["ft:eventType"]
        assert event["ft:event"] == f"{BASE}/api/v1/events/{event['ft:eventHash']}"


def test_an_event_has_the_same_id_in_every_document_it_is_in(demo, document) -> None:
    lineage = epcis_document(demo, batch="rice-nj-0", base_url=BASE)["epcisBody"]["eventList"]
    everywhere = {e["ft:eventHash"]: e["eventID"] for e in document["epcisBody"]["eventList"]}
    assert lineage and all(everywhere[e["ft:eventHash"]] == e["eventID"] for e in lineage)


def test_the_sheet_has_one_row_per_cte_with_every_required_kde_filled(demo) -> None:
    rows = fsma204.rows(demo, *EVERYTHING)
    with demo.uow() as uow:
        ctes = [e for e in uow.stream_events() if e.type in ("harvested", "ship", "receive", "transform")]
    assert sum(r["cte"] in ("harvesting", "shipping", "receiving", "transformation") for r in rows) == len(ctes)
    assert {r["cte"] for r in rows} == set(REQUIRED)  # the demo exercises every CTE, cooling and packing too
    book = load_workbook(io.BytesIO(fsma204.to_xlsx(rows)))
    sheet = book.active
    header = [c.value for c in sheet[1]]
    assert sheet.max_row == len(rows) + 1 and header == [en for _, en, _ in fsma204.COLUMNS]
    cte_names = {en: key for key, (en, _) in fsma204.CTES.items()}
    for line in sheet.iter_rows(min_row=2, values_only=True):
        row = dict(zip(fsma204.KEYS, line))
        cte = cte_names[row["cte"]]
        empty = [k for k in ALWAYS | REQUIRED[cte] if row[k] in (None, "")]
        assert empty == [], (cte, row["batch"], empty)
        assert "China (CN)" in row["location"] and "tel." in row["location"]
    harvest = next(r for r in rows if r["batch"] == "paddy-nj-0-0" and r["cte"] == "harvesting")
    assert harvest["field_name"].startswith("CC-0 南江富硒稻田")
    assert harvest["subsequent_recipient"].startswith("恩阳区粮油加工厂")
    milled = next(r for r in rows if r["batch"] == "rice-nj-0" and r["cte"] == "transformation")
    assert milled["input_products"] == "NJP-0-0 南江富硒稻谷; NJP-0-1 南江富硒稻谷"


def _lineage(ledger: Ledger) -> dict[str, tuple[Any, ...]]:
    """batch -> (product, lot, quantity and unit it started with, its ancestors)."""
    found: dict[str, tuple[Any, ...]] = {}
    with ledger.uow() as uow:
        for batch in uow.batches(limit=10_000):
            first = next(e for e in uow.stream_events() if e.batch_id == batch.id and e.prev is None)
            data = body(first)["data"]
            found[batch.id] = (batch.product, batch.lot, data.get("quantity"), data.get("unit"),
                               frozenset(uow.ancestors([batch.id])))
    return found


def test_an_exported_document_imports_into_an_empty_instance_as_the_same_lineage_once(demo, document,
                                                                                      tmp_path) -> None:
    raw = json.dumps(document, ensure_ascii=False).encode()
    fresh = _ledger(tmp_path / "fresh.db")
    setup_orgs(fresh)
    report = import_epcis(fresh, raw, org="bazhong-samr")
    assert report.events == len(document["epcisBody"]["eventList"]) and report.recorded >= report.events
    assert _lineage(fresh) == _lineage(demo)
    with fresh.uow() as uow:
        imported = [body(e)["data"] for e in uow.stream_events() if e.type not in ("consume", "key_added")]
    assert all(d["imported_from"]["document"] == report.document for d in imported)
    assert {d["imported_from"]["event_id"] for d in imported} == {e["eventID"] for e in document["epcisBody"]["eventList"]}
    before = fresh.row_counts()
    again = import_epcis(fresh, raw, org="bazhong-samr")
    assert again.recorded == 0 and fresh.row_counts() == before


BAD_DOCUMENTS = {  # id: (change to the exported document, the field the error names)
    "not JSON": (lambda doc: b"<EPCISDocument/>", "document"),
    "not an EPCIS document": (lambda doc: json.dumps({"type": "Nothing"}).encode(), "document"),
    "a time that is not one": (lambda doc: _changed(doc, eventTime="yesterday"), "epcisBody.eventList.0.eventTime"),
    "an unknown action": (lambda doc: _changed(doc, action="TELEPORT"), "epcisBody.eventList.0"),
}


def _changed(doc: dict[str, Any], **change: Any) -> bytes:
    bad = copy.deepcopy(doc)
    bad["epcisBody"]["eventList"][0].update(change)
    return json.dumps(bad).encode()


@pytest.mark.parametrize(("make", "field"), list(BAD_DOCUMENTS.values()), ids=list(BAD_DOCUMENTS))
def test_a_bad_document_is_refused_naming_where_and_nothing_is_written(document, tmp_path, make, field) -> None:
    fresh = _ledger(tmp_path / "bad.db")
    setup_orgs(fresh)
    before = fresh.row_counts()
    with pytest.raises(InvalidRequestError) as refused:
        import_epcis(fresh, make(document), org="bazhong-samr")
    assert refused.value.field == field
    assert fresh.row_counts() == before

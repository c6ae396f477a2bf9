"""EPCIS 2.0 documents and FSMA 204 spreadsheets of the demo ledger, checked against GS1's schema and by reading them back."""

from __future__ import annotations

import csv
import io
import json
import re
import secrets
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft7Validator, FormatChecker
from openpyxl import load_workbook

from farmtrace.services.transaction import Actor
from farmtrace.ledger.errors import InvalidRequestError, NotFoundError
from farmtrace.services.exports import fsma204
from farmtrace.services.exports._select import parse_window
from farmtrace.services.exports.epcis import GS1_CONTEXT, epcis_document
from farmtrace.services.ledger import Ledger
from farmtrace.demo import GTINS, load_demo
from farmtrace.storage.engine import make_engine
from farmtrace.storage.migrate import upgrade
from tests.conftest import _pg_database

BASE = "https://trace.example.cn"
EVERYTHING = parse_window("2000-01-01", "2099-12-31")
URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s<>\"{}|\\^`]*$")
DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def _formats() -> FormatChecker:
    """`uri` and `date-time` checked too (jsonschema skips them without optional packages)."""
    checker = FormatChecker(formats=())
    checker.checks("uri")(lambda value: not isinstance(value, str) or bool(URI.match(value)))

    @checker.checks("date-time", raises=ValueError)
    def _date_time(value: Any) -> bool:
        if not isinstance(value, str):
            return True
        datetime.fromisoformat(value.replace("Z", "+00:00"))
        return bool(DATE_TIME.match(value))
    return checker


@pytest.fixture(scope="module")
def epcis_validator(shared_dir: Path) -> Draft7Validator:
    schema = json.loads((shared_dir / "vectors" / "epcis" / "EPCIS-JSON-Schema.json").read_text())
    Draft7Validator.check_schema(schema)
    return Draft7Validator(schema, format_checker=_formats())


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def demo(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ledger]:
    """The demo data set, loaded once per database for this module (the exports only read)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('exports') / 'farmtrace.db'}"
        upgrade(url)
    else:
        _, url = _pg_database(request.getfixturevalue("postgres"))
    engine = make_engine(url)
    ledger = Ledger(engine, secret_key="exports-" + secrets.token_hex(8), log_origin="test.farmtrace/log",
                    checkpoint_interval=None)
    assert load_demo(ledger)
    _add_cooled_and_packed_leaves(ledger)
    yield ledger
    engine.dispose()


def _add_cooled_and_packed_leaves(ledger: Ledger) -> None:
    """Fresh leaves cooled before their first packing: the two CTEs the demo's chains do not have."""
    garden = Actor(org="yunding-tea")
    steps = [
        ("harvested", {"product": "云顶茶鲜叶 (预冷)", "lot": "YDL-COOL", "family": "produce", "quantity": "300",
                       "unit": "KGM", "plot": "YD-3", "crop": "茶", "place": "南江县 云顶茶园"}),
        ("temperature_logged", {"device": "PC-1", "value": "6.5", "unit": "CEL", "probe": "air", "regime": "precooling"}),
        ("packed", {"gtin": "09521005002505", "units": "60", "net_content": "5 kg"}),  # under the garden's prefix 9521005
    ]
    for i, (kind, data) in enumerate(steps):
        ledger.append({"type": kind, "batch": "leaf-cool", "at": f"2026-04-0{i + 1}T08:00:00+08:00", "data": data},
                      actor=garden)


def _events(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return doc["epcisBody"]["eventList"]


def _problems(validator: Draft7Validator, doc: Any) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message[:200]}" for e in validator.iter_errors(doc)]


def test_the_official_gs1_examples_validate_with_the_same_validator(epcis_validator, shared_dir) -> None:
    examples = sorted((shared_dir / "vectors" / "epcis" / "examples").rglob("*.jsonld"))
    assert len(examples) == 47
    for path in examples:
        assert _problems(epcis_validator, json.loads(path.read_text())) == [], path.name
    broken = json.loads(examples[0].read_text())
    broken["epcisBody"]["eventList"][0]["eventTime"] = "yesterday"
    assert _problems(epcis_validator, broken)  # the validator does refuse


def test_the_whole_demo_is_one_valid_epcis_document_mapping_every_family(demo, epcis_validator) -> None:
    doc = epcis_document(demo, start=EVERYTHING[0], end=EVERYTHING[1], base_url=BASE)
    assert _problems(epcis_validator, doc) == []
    assert doc["@context"][0] == GS1_CONTEXT and doc["@context"][1]["ft"] == BASE + "/ns/"
    assert (doc["type"], doc["schemaVersion"]) == ("EPCISDocument", "2.0")
    events = _events(doc)
    with demo.uow() as uow:
        logged = [e for e in uow.stream_events() if e.batch_id and e.type != "consume"]
    ids = [e["eventID"] for e in events]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"ni:///sha-256;[0-9a-f]{64}\?ver=CBV2\.0", i) for i in ids)  # CBV's event hash
    assert {e.hash for e in logged} == {e["ft:eventHash"] for e in events}  # one each, nothing lost
    assert [e["ft:seq"] for e in events] == sorted(e["ft:seq"] for e in events)  # log order
    by_type: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        by_type.setdefault(event["ft:eventType"], []).append(event)
    for genesis in ("harvested", "animal_tagged", "create", "source_registered"):  # produce, pork, baijiu, water
        first = by_type[genesis][0]
        assert (first["type"], first["action"], first["bizStep"], first["disposition"]) == (
            "ObjectEvent", "ADD", "commissioning", "active")
        assert first["ilmd"]["ft:lot"] and first["quantityList"][0]["epcClass"]
    slaughter = next(e for e in by_type["transform"] if e["ft:data"]["process"] == "slaughter")
    assert (slaughter["type"], slaughter["bizStep"]) == ("TransformationEvent", "killing")
    ship, receive = by_type["ship"][0], by_type["receive"][0]
    assert (ship["bizStep"], ship["disposition"], receive["bizStep"]) == ("shipping", "in_transit", "receiving")
    assert ship["destinationList"][0]["destination"] == receive["destinationList"][0]["destination"]
    assert ship["sourceList"] == receive["sourceList"]
    verdicts = {e.get("disposition") for e in by_type["test"]}  # none where farmtrace computed no verdict (info)
    assert "conformant" in verdicts and verdicts <= {"conformant", "non_conformant", None}
    reading = by_type["temperature_logged"][0]["sensorElementList"][0]["sensorReport"][0]
    assert reading["type"] == "Temperature" and reading["uom"] == "CEL" and isinstance(reading["value"], float)
    recall = by_type["recall"][0]
    assert (recall["bizStep"], recall["disposition"]) == ("holding", "recalled")
    assert len(recall["quantityList"]) == 2  # the paddy lot and the rice milled from it
    packing = by_type["packed"][0]
    assert (packing["type"], packing["bizStep"]) == ("AggregationEvent", "packing")
    bottles = by_type["commissioned"][0]["epcList"]
    assert len(bottles) == 1000 and bottles[0] == f"https://id.gs1.org/01/{GTINS['baijiu']}/21/PC0000000001"
    again = epcis_document(demo, start=EVERYTHING[0], end=EVERYTHING[1], base_url=BASE)
    assert _events(again) == events  # deterministic


def test_a_batch_document_carries_its_lineage_with_the_transformation_and_the_handoffs(demo, epcis_validator) -> None:
    rice = epcis_document(demo, batch="rice-nj-1", base_url=BASE)
    assert _problems(epcis_validator, rice) == []
    events = _events(rice)
    assert {e["ft:batch"] for e in events} == {"rice-nj-1", "paddy-nj-1-0", "paddy-nj-1-1"}
    milling = next(e for e in events if e["type"] == "TransformationEvent")
    rice_lot = f"https://id.gs1.org/01/{GTINS['rice']}/10/NJR-1"  # the GTIN of its packed event, with its lot
    assert [q["epcClass"] for q in milling["outputQuantityList"]] == [rice_lot]
    assert sorted(q["epcClass"] for q in milling["inputQuantityList"]) == [
        f"{BASE}/batches/paddy-nj-1-0", f"{BASE}/batches/paddy-nj-1-1"]
    assert all(q["uom"] == "KGM" and q["quantity"] > 0 for q in milling["inputQuantityList"])
    steps = [(e["ft:batch"], e["bizStep"]) for e in events]
    assert ("rice-nj-1", "shipping") in steps and ("rice-nj-1", "receiving") in steps
    assert steps.count(("paddy-nj-1-0", "shipping")) == 1
    forward = epcis_document(demo, batch="paddy-nj-0-0", base_url=BASE)
    assert _problems(epcis_validator, forward) == []
    assert {"paddy-nj-0-0", "rice-nj-0"} <= {e["ft:batch"] for e in _events(forward)}  # descendants too
    with pytest.raises(NotFoundError):
        epcis_document(demo, batch="no-such-batch")


def test_a_window_keeps_only_its_events_and_a_product_only_its_batches(demo, epcis_validator) -> None:
    start, end = parse_window("2026-03-01", "2026-03-03")
    doc = epcis_document(demo, start=start, end=end, base_url=BASE)
    assert _problems(epcis_validator, doc) == [] and _events(doc)
    for event in _events(doc):
        assert start <= datetime.fromisoformat(event["eventTime"]) < end
    tea = epcis_document(demo, start=EVERYTHING[0], end=EVERYTHING[1], product="绿茶")
    assert {e["ft:batch"] for e in _events(tea)} == {"tea-yd-0", "tea-yd-1"}
    with pytest.raises(InvalidRequestError) as bad:
        parse_window("2026-03-05", "2026-03-01")
    assert bad.value.field == "to"
    with pytest.raises(InvalidRequestError) as bad:
        parse_window("2026-02-30", "2026-03-01")
    assert bad.value.field == "from"


def test_every_cte_of_a_lot_is_a_row_with_its_key_data_elements(demo) -> None:
    rows = fsma204.rows(demo, *EVERYTHING)
    paddy = [r for r in rows if r["batch"] == "paddy-nj-0-0"]
    assert [r["cte"] for r in paddy] == ["harvesting", "shipping", "receiving"]
    harvest, shipped, received = paddy
    assert harvest["traceability_lot_code"] == "NJP-0-0" and harvest["unit"] == "KGM" and harvest["quantity"]
    assert harvest["tlc_source"].startswith("南江县富硒稻米专业合作社 (南江县 511922)")
    assert shipped["subsequent_recipient"] == received["location"] == harvest["subsequent_recipient"] == (
        "恩阳区粮油加工厂 (恩阳区 511903), 四川省巴中市恩阳区工业园区粮油路 12 号, China (CN), tel. 0827-3361002")
    assert received["previous_source"] == shipped["location"]
    assert (received["reference_document_type"], received["reference_document_number"]) == (
        "delivery_note", "DN-paddy-nj-0-0")
    milled = next(r for r in rows if r["batch"] == "rice-nj-0" and r["cte"] == "transformation")
    assert milled["input_lots"].count("KGM") == 2 and "NJP-0-0" in milled["input_lots"]
    assert milled["gtin"] == GTINS["rice"] and milled["traceability_lot_code"] == "NJR-0"
    leaves = [r["cte"] for r in rows if r["batch"] == "leaf-cool"]
    assert leaves == ["harvesting", "cooling", "initial_packing"]
    assert all(re.fullmatch(r"[0-9a-f]{64}", r["event_hash"]) for r in rows)
    times = [datetime.fromisoformat(f"{r['date']}T{r['time']}") for r in rows]
    assert times == sorted(times)
    assert {r["batch"] for r in fsma204.rows(demo, *EVERYTHING, product=GTINS["baijiu"])} == {"bottles-pc-0",
                                                                                              "bottles-pc-1"}


def test_the_sheet_round_trips_as_csv_and_reopens_as_a_sortable_workbook(demo) -> None:
    rows = fsma204.rows(demo, *parse_window("2026-03-01", "2026-04-30"))
    text = fsma204.to_csv(rows)
    assert text.startswith("\ufeff")
    read = list(csv.DictReader(io.StringIO(text[1:])))
    english = {key: en for key, en, _ in fsma204.COLUMNS}
    assert [{key: r[english[key]] for key in fsma204.KEYS} for r in read] == [
        {**row, "cte": fsma204.CTES[row["cte"]][0],
         "reference_document_type": fsma204.DOCUMENTS[row["reference_document_type"]][0]} for row in rows]
    chinese = fsma204.to_csv(rows, "zh").splitlines()
    assert chinese[0].lstrip("\ufeff").startswith("关键追踪事件,追溯批次代码") and "发运" in "\n".join(chinese)
    book = load_workbook(io.BytesIO(fsma204.to_xlsx(rows)))
    sheet = book.active
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:T{len(rows) + 1}"  # 20 columns: "Other reference documents" is T
    assert [c.value for c in sheet[1]] == [en for _, en, _ in fsma204.COLUMNS]
    assert sheet.max_row == len(rows) + 1
    date_col = fsma204.KEYS.index("date")
    assert all(isinstance(r[date_col].value, datetime) for r in sheet.iter_rows(min_row=2))


def test_the_command_line_writes_both_exports_and_refuses_bad_arguments_in_one_line(demo, tmp_path) -> None:
    from click.testing import CliRunner

    from farmtrace.cli import main
    env = {"FARMTRACE_DATABASE_URL": demo.engine.url.render_as_string(hide_password=False),
           "FARMTRACE_INSTANCE": str(tmp_path / "instance")}
    runner = CliRunner()
    made = runner.invoke(main, ["export", "epcis", "--batch", "rice-nj-1", "--out", str(tmp_path / "rice.jsonld")],
                         env=env)
    assert made.exit_code == 0, made.output
    assert json.loads((tmp_path / "rice.jsonld").read_text())["epcisBody"]["eventList"]
    sheet = runner.invoke(main, ["export", "fsma204", "--from", "2026-01-01", "--to", "2026-12-31", "--out",
                                 str(tmp_path / "fsma.xlsx")], env=env)
    assert sheet.exit_code == 0, sheet.output
    assert load_workbook(tmp_path / "fsma.xlsx").active.max_row > 1
    bad = {
        "batch and a window": ["epcis", "--batch", "rice-nj-1", "--from", "2026-03-01"],
        "neither": ["epcis"],
        "to before from": ["fsma204", "--from", "2026-03-05", "--to", "2026-03-01"],
        "no --to": ["fsma204", "--from", "2026-03-05"],
        "an unknown format": ["fsma204", "--from", "2026-03-01", "--to", "2026-03-05", "--format", "pdf"],
    }
    for case, args in bad.items():
        out = tmp_path / f"{case}.out"
        refused = runner.invoke(main, ["export", *args, "--out", str(out)], env=env)
        assert refused.exit_code == 2, (case, refused.output)
        assert len(refused.stderr.strip().splitlines()) == 1 and refused.stderr.startswith("error"), case
        assert not out.exists(), case


EXTREME_WINDOWS = {  # case: (from, to, what the export holds)
    "the first day to the last day there is": ("0001-01-01", "9999-12-31", "everything"),
    "the first day alone": ("0001-01-01", "0001-01-01", "nothing"),
    "the last day alone": ("9999-12-31", "9999-12-31", "nothing"),
    "times at the ends with the widest offsets": ("0001-01-01T00:00:00+23:59", "9999-12-31T23:59:59-23:59",
                                                  "everything"),
}
MALFORMED_WINDOWS = {  # case: (from, to, the option the error names)
    "year zero": ("0000-01-01", "2026-01-01", "from"),
    "a five-digit year": ("2026-01-01", "10000-01-01", "to"),
    "an offset of 24 hours": ("2026-01-01T00:00:00+24:00", "2026-02-01", "from"),
    "the 31st of February": ("2026-01-01", "2026-02-31", "to"),
}


@pytest.mark.parametrize(("start", "end", "holds"), list(EXTREME_WINDOWS.values()), ids=list(EXTREME_WINDOWS))
def test_a_window_at_the_ends_of_the_calendar_exports_everything_or_nothing(demo, tmp_path, start, end,
                                                                            holds) -> None:
    from click.testing import CliRunner

    from farmtrace.cli import main
    window = parse_window(start, end)
    everything = holds == "everything"
    assert fsma204.rows(demo, *window) == (fsma204.rows(demo, *EVERYTHING) if everything else [])
    all_events = _events(epcis_document(demo, start=EVERYTHING[0], end=EVERYTHING[1], base_url=BASE))
    assert _events(epcis_document(demo, start=window[0], end=window[1], base_url=BASE)) == (
        all_events if everything else [])
    env = {"FARMTRACE_DATABASE_URL": demo.engine.url.render_as_string(hide_password=False),
           "FARMTRACE_INSTANCE": str(tmp_path / "instance")}
    for command in (["epcis"], ["fsma204"]):
        made = CliRunner().invoke(main, ["export", *command, "--from", start, "--to", end, "--out",
                                         str(tmp_path / "out")], env=env)
        assert made.exit_code == 0, (command, made.output)


@pytest.mark.parametrize(("start", "end", "option"), list(MALFORMED_WINDOWS.values()), ids=list(MALFORMED_WINDOWS))
def test_a_malformed_window_is_refused_naming_the_option(demo, tmp_path, start, end, option) -> None:
    from click.testing import CliRunner

    from farmtrace.cli import main
    with pytest.raises(InvalidRequestError) as refused:
        parse_window(start, end)
    assert refused.value.field == option
    env = {"FARMTRACE_DATABASE_URL": demo.engine.url.render_as_string(hide_password=False),
           "FARMTRACE_INSTANCE": str(tmp_path / "instance")}
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["export", "fsma204", "--from", start, "--to", end, "--out", str(out)], env=env)
    assert result.exit_code == 2 and result.stderr.startswith(f"error (invalid_request): {option} ")
    assert not out.exists()


BOUNDS = st.one_of(  # a date, or an RFC 3339 time with any offset a time may carry, anywhere in Python's calendar
    st.dates().map(lambda day: day.isoformat()),
    st.builds(lambda moment, minutes: moment.replace(tzinfo=timezone(timedelta(minutes=minutes))).isoformat(),
              st.datetimes(), st.integers(-1439, 1439)),
)


@settings(max_examples=40, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(start=BOUNDS, end=BOUNDS)
def test_any_window_in_the_calendar_exports_or_is_refused_naming_its_bound(demo, start, end) -> None:
    try:
        low, high = parse_window(start, end)
    except InvalidRequestError as refused:
        assert refused.field == "to"  # every generated bound is well-formed: only their order can be wrong
        return
    events = _events(epcis_document(demo, start=low, end=high, base_url=BASE))
    assert all(low <= datetime.fromisoformat(event["eventTime"]) < high for event in events)
    rows = fsma204.rows(demo, low, high)
    assert {r["event_hash"] for r in rows} <= {r["event_hash"] for r in fsma204.rows(demo, *EVERYTHING)}

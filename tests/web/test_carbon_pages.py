"""Carbon footprints where people read them (issue "Green and low-carbon"): the desk's footprint audit of a lot,
an org's emissions per unit of product by month as a table and a CSV download (desk and producer), and the
lot's footprint as master data in the EPCIS export. On the demo data, SQLite and PostgreSQL; the numbers
on every page are the service's own, recomputed here from the lines the page lists."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from jsonschema import Draft7Validator

from farmtrace.services.exports.epcis import epcis_document
from farmtrace.services.footprint import footprint, org_monthly
from farmtrace.services.footprint_audit import footprint_audit
from tests.web.test_producer import login
from tests.web.test_words_on_pages import _visible_text

LOTS = ["cuts-qy-0", "rice-nj-0"]


def _ledger(app: Flask):  # type: ignore[no-untyped-def]
    return app.extensions["ledger"]


@pytest.mark.parametrize("lot", LOTS)
def test_the_audit_lines_add_up_to_the_footprint_to_the_gram(app: Flask, lot: str) -> None:
    audit = footprint_audit(_ledger(app), lot)
    fp = audit.footprint
    assert fp.total_kg > 0 and audit.lines
    assert sum((line.reaching for line in audit.lines), Decimal(0)).quantize(Decimal("0.001")) == \
        fp.total_kg.quantize(Decimal("0.001"))
    for line in audit.lines:
        assert line.kg_co2e == line.amount * line.factor, line
        assert line.source and line.row.startswith(line.table_version + "/")


@pytest.mark.parametrize("lot", LOTS)
def test_the_desk_shows_a_lots_footprint_in_chinese_with_every_line_and_its_source(client: FlaskClient,
                                                                                    app: Flask, lot: str) -> None:
    login(client, "regulator")
    page = client.get(f"/desk/batches/{lot}/carbon")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    shown = _visible_text(html)
    fp = footprint(_ledger(app), lot)
    total = str(fp.total_kg.quantize(Decimal("0.001")))
    assert f"{total} 千克二氧化碳当量" in shown
    assert "每千克" in shown and "KGM" not in shown
    for stage in fp.stages:
        assert stage.org_name in shown and stage.product in shown
    lines = footprint_audit(_ledger(app), lot).lines
    assert html.count('class="carbon-lines"') == 1 and html.count("因子表") >= len(lines)
    assert "生态环境部" in shown  # the grid factor's source, by name


def test_an_orgs_monthly_report_and_its_csv_hold_the_same_numbers(client: FlaskClient, app: Flask) -> None:
    org = "bazhong-meat-park"
    rows = org_monthly(_ledger(app), org)
    assert rows and any(r.per_unit_kg for r in rows)
    login(client, "regulator")
    page = client.get(f"/desk/orgs/{org}/carbon")
    assert page.status_code == 200
    shown = _visible_text(page.get_data(as_text=True))
    for r in rows:
        assert r.month in shown
    download = client.get(f"/desk/orgs/{org}/carbon.csv")
    assert download.status_code == 200 and download.mimetype == "text/csv"
    assert f'filename="carbon-{org}.csv"' in download.headers["Content-Disposition"]
    text = download.get_data(as_text=True)
    assert text.startswith("\ufeff")
    table = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert table[0][0] == "月份" and len(table) == len(rows) + 1
    for r, line in zip(rows, table[1:]):
        assert line[0] == r.month
        assert Decimal(line[1]) == r.kg_co2e.quantize(Decimal("0.001"))
        if r.per_unit_kg is not None:
            assert abs(Decimal(line[4]) - r.per_unit_kg) < Decimal("0.000001")


def test_a_producer_sees_its_own_report_and_no_one_elses(client: FlaskClient, app: Flask) -> None:
    login(client, "meat")
    own = client.get("/producer/carbon")
    assert own.status_code == 200 and "巴中西部肉类食品加工园屠宰厂" in own.get_data(as_text=True)
    assert client.get("/producer/carbon.csv").get_data(as_text=True).lstrip("\ufeff").startswith("月份")
    assert client.get("/desk/orgs/qingyu-pig-farm/carbon").status_code == 403
    assert client.get("/desk/batches/cuts-qy-0/carbon").status_code == 403


@pytest.mark.parametrize("path", ["/desk/orgs/no-such-org/carbon", "/desk/orgs/no-such-org/carbon.csv",
                                  "/desk/batches/no-such-lot/carbon", "/desk/batches/%2E%2E/carbon"])
def test_unknown_orgs_and_lots_are_a_404_not_a_500(client: FlaskClient, path: str) -> None:
    login(client, "regulator")
    assert client.get(path).status_code == 404


def test_the_epcis_export_of_a_lot_carries_its_footprint_as_master_data(app: Flask, shared_dir: Path) -> None:
    ledger = _ledger(app)
    doc = epcis_document(ledger, batch="cuts-qy-0")
    schema = json.loads((shared_dir / "vectors" / "epcis" / "EPCIS-JSON-Schema.json").read_text())
    assert not list(Draft7Validator(schema).iter_errors(doc))
    [vocabulary] = doc["epcisHeader"]["epcisMasterData"]["vocabularyList"]
    assert vocabulary["type"] == "urn:epcglobal:epcis:vtype:EPCClass"
    [element] = vocabulary["vocabularyElementList"]
    assert re.fullmatch(r"https://id\.gs1\.org/01/\d{14}/10/.+", element["id"])
    [attribute] = element["attributes"]
    assert attribute["id"].endswith("/ns/carbonFootprint")
    value = attribute["attribute"]
    fp = footprint(ledger, "cuts-qy-0")
    assert Decimal(value["ft:kgCO2e"]) == fp.total_kg.quantize(Decimal("0.001"))
    assert value["ft:factorTables"] == list(fp.table_versions) and value["ft:factorRows"]
    assert [s["ft:batch"] for s in value["ft:stages"]] == [s.batch for s in fp.stages]
    # master data, not an event field: the events (and their CBV hash IDs) are those of a window export
    window = epcis_document(ledger, start=datetime(2000, 1, 1, tzinfo=timezone.utc),
                            end=datetime(2100, 1, 1, tzinfo=timezone.utc))
    assert "epcisHeader" not in window
    ids = {e["eventID"] for e in window["epcisBody"]["eventList"]}
    assert {e["eventID"] for e in doc["epcisBody"]["eventList"]} <= ids


def test_the_demo_pork_chain_matches_the_hand_computed_footprint_to_the_gram(app: Flask) -> None:
    """farm → slaughter → cutting → retail, as the demo records 青峪猪 lot 0 (7 head), factor table v3:

    farm        fed: 7 head × 25 kg compound feed = 175 kg × 0.55          = 96.250 kg CO₂e
    slaughter   transform: 7 head × 15 kWh = 105 kWh × 0.1404 (Sichuan)    = 14.742
    cutting     transform: no activity of its own; all 616 kg of carcass made 431 kg of cuts, and the
                losses stay with the output, so both upstream figures reach the cuts whole
    to the shop ship: 431 kg × 20 km = 8 t·km (rounded down) × 0.127 refrigerated road = 1.016
    retail      stored: the shop's cold display 6 kWh × 0.1404                      =  0.8424
    total 112.8504 → 112.850 kg CO₂e for 431 kg; per kg 112.8504 / 431 = 0.26183
    """
    fp = footprint(_ledger(app), "cuts-qy-0")
    assert (fp.quantity, fp.unit) == (Decimal(431), "KGM")
    assert fp.total_kg.quantize(Decimal("0.001")) == Decimal("112.850")
    assert [(s.batch, s.kg_co2e.quantize(Decimal("0.0001"))) for s in fp.stages] == [
        ("pigs-qy-0", Decimal("96.2500")), ("carcass-qy-0", Decimal("14.7420")),
        ("cuts-qy-0", Decimal("1.8584"))]
    assert fp.per_unit_kg is not None and fp.per_unit_kg.quantize(Decimal("0.00001")) == Decimal("0.26183")
    assert fp.table_versions == ("v3",) and fp.estimate  # a placeholder feed factor, the 2022 grid year


def test_the_api_gives_anyone_a_lots_footprint_as_the_pages_show_it(client: FlaskClient, app: Flask) -> None:
    got = client.get("/api/v1/batches/cuts-qy-0/footprint")
    assert got.status_code == 200
    body = got.get_json()
    assert body == footprint(_ledger(app), "cuts-qy-0").to_json()
    assert Decimal(body["total_kg"]).quantize(Decimal("0.001")) == Decimal("112.850")
    assert [s["org_name"] for s in body["stages"]][0] == "通江县青峪猪生态养殖场"
    missing = client.get("/api/v1/batches/no-such-lot/footprint")
    assert missing.status_code == 404 and missing.get_json()["error"]["field"] == "batch"
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "/api/v1/batches/{batch_id}/footprint" in spec["paths"]


CHINESE_PAGES = {  # user: pages a Chinese reader opens about carbon
    "regulator": ["/desk/batches/cuts-qy-0/carbon", "/desk/batches/rice-nj-0/carbon",
                  "/desk/orgs/bazhong-meat-park/carbon"],
    "meat": ["/producer/carbon"],
    "anonymous": ["/01/09521003002002/10/K-0"],
}


@pytest.mark.parametrize("user", list(CHINESE_PAGES))
def test_carbon_pages_read_in_chinese_words_not_keys_or_codes(client: FlaskClient, user: str) -> None:
    from farmtrace.rules.carbon import CHOICES, KIND_WORDS
    from tests.web.test_words_on_pages import _problems_on_a_chinese_page
    keys = set(KIND_WORDS) | {c for choices in CHOICES.values() for c in choices if re.fullmatch(r"[a-z_]+", c)}
    if user != "anonymous":
        login(client, user)
    for path in CHINESE_PAGES[user]:
        page = client.get(path, follow_redirects=True)
        assert page.status_code == 200, path
        html = page.get_data(as_text=True)
        # the factor rows' sources are quoted as published (English reports name themselves in English)
        html = re.sub(r"来源：.*?</p>", "</p>", html, flags=re.S)
        html = re.sub(r"方法：farmtrace", "方法：", html)
        html = re.sub(r"<code>.*?</code>", "", html)  # identifiers to copy (factor row ids), like hashes
        assert _problems_on_a_chinese_page(html, keys) == [], path


def test_anyone_can_recompute_a_footprint_from_the_public_factor_table_and_the_signed_events(
        client: FlaskClient) -> None:
    """The audit an outsider can do with public data alone: the lot's signed events (the API's event reads),
    the factor rows its footprint names (GET /api/v1/carbon/factors), multiplied by hand."""
    table = {f["row_id"]: f for f in client.get("/api/v1/carbon/factors").get_json()["factors"]}
    assert all(f["source"] and f["status"] in ("verified", "unverified") for f in table.values())
    body = client.get("/api/v1/batches/cuts-qy-0/footprint").get_json()
    assert set(body["factor_rows"]) <= set(table)
    feed = table["v3/feed/compound/kg"]
    assert Decimal(feed["kg_co2e_per_unit"]) * 175 == Decimal(body["stages"][0]["kg_co2e"])  # 7 head × 25 kg

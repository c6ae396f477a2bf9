"""The 承诺达标合格证 in the exports and kept for its 6 months (农业农村部令 2025 年第 4号, domain.md §1.4): the
`certificate_issued` event is an EPCIS 2.0 ObjectEvent that GS1's schema and event-hash tool accept, with its
number, quantity, place and issuer; the FSMA 204 sheet names it on the lot's shipping and receiving rows; and a
certificate issued 6 months and a day ago still shows on the lot's pages, verifies and exports, while the
database refuses to delete it, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy.exc
from flask import Flask
from jsonschema import Draft7Validator
from sqlalchemy import text

from farmtrace.demo import CHINA, setup_orgs
from farmtrace.services.certificate import certificate_of
from farmtrace.services.exports import fsma204
from farmtrace.services.exports._select import parse_window
from farmtrace.services.exports.epcis import epcis_document
from farmtrace.services.ledger import Ledger
from farmtrace.services.transaction import Actor
from farmtrace.services.verify import verify_log
from farmtrace.web import create_app
from tests.services.test_exports import _formats, _problems
from tests.services.test_exports_standards import _reference_hash

BASE = "https://trace.example.cn"
EVERYTHING = parse_window("2000-01-01", "2099-12-31")
FARM, MILL = "nanjiang-se-rice", "enyang-rice-mill"
NUMBER = "HGZ-511922-R001"


def six_months_and_a_day_before(moment: datetime) -> datetime:
    """The same day of the month six months earlier (the month's last day when it has fewer), less one day."""
    month, year = moment.month - 6, moment.year
    if month < 1:
        month, year = month + 12, year - 1
    day = moment.day
    while True:
        try:
            return moment.replace(year=year, month=month, day=day) - timedelta(days=1)
        except ValueError:
            day -= 1


@pytest.fixture
def app(db_url: str, tmp_path: Path) -> Iterator[Flask]:
    app = create_app({"database_url": db_url, "instance": str(tmp_path / "instance"), "secret_key": "cert-exports",
                      "log_origin": "test.farmtrace/log", "TESTING": True})
    setup_orgs(app.extensions["ledger"])
    yield app
    app.extensions["ledger"].engine.dispose()


def _append(ledger: Ledger, org: str, type_: str, at: datetime, **data: Any) -> Any:
    return ledger.append({"type": type_, "batch": "paddy-r", "at": at.replace(microsecond=0).isoformat(),
                          "data": data}, actor=Actor(org=org))


def _issued_and_shipped(ledger: Ledger, issued: datetime) -> None:
    """A paddy lot whose 承诺达标合格证 was issued at `issued`, then shipped to the mill and received."""
    _append(ledger, FARM, "create", issued - timedelta(hours=2), product="南江富硒稻谷", lot="R-1", family="produce",
            quantity="1200", unit="KGM", place="南江县 长赤镇 富硒稻田")
    _append(ledger, FARM, "certificate_issued", issued, certificate_no=NUMBER, product="南江富硒稻谷",
            quantity="1200", unit="KGM", county="511922", town="长赤镇", contact_phone="0827-8861001",
            basis="quality_control")
    shipped = _append(ledger, FARM, "ship", issued + timedelta(hours=1), to=MILL, quantity="1200", unit="KGM",
                      doc="DN-R-1", certificate_no=NUMBER)
    _append(ledger, MILL, "receive", issued + timedelta(hours=5), ship=shipped.hash, quantity="1200", unit="KGM",
            certificate_no=NUMBER)


@pytest.fixture
def validator(shared_dir: Path) -> Draft7Validator:
    schema = json.loads((shared_dir / "vectors" / "epcis" / "EPCIS-JSON-Schema.json").read_text())
    return Draft7Validator(schema, format_checker=_formats())


def _certificate_event(doc: dict[str, Any]) -> dict[str, Any]:
    found = [e for e in doc["epcisBody"]["eventList"] if e["ft:eventType"] == "certificate_issued"]
    assert len(found) == 1
    return found[0]


def test_a_certificate_is_an_epcis_object_event_with_its_number_quantity_place_and_issuer(app, validator) -> None:
    ledger = app.extensions["ledger"]
    _issued_and_shipped(ledger, datetime.now(CHINA) - timedelta(days=3))
    doc = epcis_document(ledger, batch="paddy-r", base_url=BASE)
    assert _problems(validator, doc) == []
    event = _certificate_event(doc)
    assert (event["type"], event["action"], event["bizStep"]) == ("ObjectEvent", "OBSERVE", "other")
    assert "ilmd" not in event  # EPCIS 2.0 allows ilmd on ADD only
    document = f"{BASE}/id/doc/{FARM}/{NUMBER}"
    assert event["certificationInfo"] == document
    assert {"type": "cert", "bizTransaction": document} in event["bizTransactionList"]
    assert event["quantityList"] == [{"epcClass": f"{BASE}/batches/paddy-r", "quantity": 1200, "uom": "KGM"}]
    assert event["readPoint"]["id"] == event["ft:certificate"]["ft:issuer"] == f"{BASE}/id/org/{FARM}"
    certificate = event["ft:certificate"]
    assert (certificate["ft:kind"], certificate["ft:number"], certificate["ft:quantity"], certificate["ft:unit"]) == (
        "承诺达标合格证", NUMBER, "1200", "KGM")
    assert (certificate["ft:place"], certificate["ft:issuerName"]) == ("南江县 长赤镇", "南江县富硒稻米专业合作社")
    assert event["eventID"] == _reference_hash(doc, event)  # GS1's own tool, JSON-LD expansion included


def test_the_sheet_names_the_certificate_on_the_lots_shipping_and_receiving_rows(app) -> None:
    ledger = app.extensions["ledger"]
    _issued_and_shipped(ledger, datetime.now(CHINA) - timedelta(days=3))
    rows = {r["cte"]: r for r in fsma204.rows(ledger, *EVERYTHING) if r["batch"] == "paddy-r"}
    assert set(rows) == {"shipping", "receiving"}  # a created lot: no harvesting row
    for cte in ("shipping", "receiving"):
        assert rows[cte]["other_documents"] == f"承诺达标合格证 No. {NUMBER}"
        assert rows[cte]["reference_document_number"] == "DN-R-1"  # the delivery note stays where it was
    sheet = fsma204.to_csv(list(rows.values()), lang="zh")
    assert "其他参考文件" in sheet.splitlines()[0] and f"承诺达标合格证 No. {NUMBER}" in sheet


def test_a_certificate_six_months_and_a_day_old_still_shows_verifies_exports_and_cannot_be_deleted(
        app, validator, db) -> None:
    ledger = app.extensions["ledger"]
    issued = six_months_and_a_day_before(datetime.now(CHINA))
    _issued_and_shipped(ledger, issued)
    cert = certificate_of(ledger, "paddy-r").issued
    assert cert is not None and (cert.number, cert.issued) == (NUMBER, issued.date().isoformat())
    client = app.test_client()
    for page in ("/batches/paddy-r/certificate?lang=zh_CN", "/batches/paddy-r?lang=zh_CN"):
        answer = client.get(page)
        assert answer.status_code == 200 and NUMBER in answer.get_data(as_text=True), page
    report = verify_log(ledger.engine, log_origin=ledger.log_origin)
    assert report.ok, report.failures[:3]
    doc = epcis_document(ledger, batch="paddy-r", base_url=BASE)
    assert _problems(validator, doc) == [] and _certificate_event(doc)["ft:certificate"]["ft:number"] == NUMBER
    before = ledger.row_counts()
    with pytest.raises(sqlalchemy.exc.DBAPIError):  # append-only: a trigger (and on PostgreSQL no DELETE right)
        with ledger.engine.begin() as conn:
            conn.execute(text("DELETE FROM events WHERE type = 'certificate_issued'"))
    assert ledger.row_counts() == before
    assert certificate_of(ledger, "paddy-r").issued == cert

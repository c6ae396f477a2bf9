"""The producer app (issue "The producer app"): a pig farm's lot from its first record to the
slaughterhouse's carcasses, through forms generated from the declarations; a refused form shows its
error beside the field and writes nothing; other orgs and regulators cannot use another org's lots."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from farmtrace.demo import DEMO_PASSWORD
from farmtrace.services.transaction import Actor
from tests.web.test_account import csrf_of
from tests.web.test_words_on_pages import ENGLISH_SENTENCE, _visible_text

LAB = "bazhong-testing"
LOT_LINK = re.compile(r'/producer/batches/([A-Za-z0-9._:-]+)')


def login(client: FlaskClient, username: str) -> Any:
    client.post("/logout", data={"csrf_token": csrf_of(client, "/login")})
    return client.post("/login", data={"csrf_token": csrf_of(client, "/login"), "username": username,
                                       "password": DEMO_PASSWORD})


def submit(client: FlaskClient, path: str, fields: dict[str, str]) -> Any:
    """Post a producer form as a browser would: its CSRF token and the KDE fields (named k_<kde>)."""
    data = {"csrf_token": csrf_of(client, path)}
    data.update({name if name.startswith(("take-", "amends")) else f"k_{name}": value for name, value in fields.items()})
    return client.post(path, data=data)


def new_pig_lot(client: FlaskClient, lot: str = "QY-APP-1") -> str:
    made = submit(client, "/producer/new?family=pork&type=animal_tagged", {
        "product": "青峪猪 生猪", "lot": lot, "quantity": "2", "unit": "head",
        "tags": "151192100000101\n151192100000102", "birth_or_arrival": "2026-01-10", "breed": "青峪猪"})
    assert made.status_code == 303, _visible_text(made.get_data(as_text=True))[:800]
    found = LOT_LINK.search(made.headers["Location"])
    assert found
    return found.group(1)


def test_a_producer_lands_on_their_lots_after_logging_in(client: FlaskClient) -> None:
    landed = login(client, "pigfarm")
    assert landed.headers["Location"].endswith("/producer/")
    home = _visible_text(client.get("/producer/").get_data(as_text=True))
    assert "通江县青峪猪生态养殖场" in home and "新建批次" in home


def test_a_pig_lot_goes_from_the_farm_through_slaughter_in_forms(app: Flask, client: FlaskClient) -> None:
    login(client, "pigfarm")
    lot = new_pig_lot(client)
    steps = [("fed", {"feed": "玉米豆粕", "supplier": "通江饲料厂", "lot": "F-01", "kg": "120"}),
             ("quarantined", {"certificate_no": "5100000000999", "issuer": "通江县动物卫生监督所", "head": "2",
                              "tags": "151192100000101\n151192100000102"}),
             ("ship", {"to": "bazhong-meat-park", "quantity": "2", "unit": "head", "certificate_no": "HGZ-APP-1"})]
    for kind, fields in steps:
        done = submit(client, f"/producer/batches/{lot}/record/{kind}", fields)
        assert done.status_code == 303, (kind, _visible_text(done.get_data(as_text=True))[:800])

    login(client, "meat")
    assert lot in client.get("/producer/").get_data(as_text=True)  # listed as on its way to us
    received = submit(client, f"/producer/incoming/{lot}", {"quantity": "2", "certificate_no": "HGZ-APP-1",
                                                            "live_weight": "230"})
    assert received.status_code == 303, _visible_text(received.get_data(as_text=True))[:800]
    sampled = submit(client, f"/producer/batches/{lot}/record/sample", {"lab": LAB, "sample_id": "A-APP-1"})
    assert sampled.status_code == 303, _visible_text(sampled.get_data(as_text=True))[:800]
    ledger = app.extensions["ledger"]
    with ledger.uow() as uow:
        sample = uow.batch(lot).head  # type: ignore[union-attr]
    for analyte, method, lod, unit, report in (("ASFV", "GB/T 18648-2020", "10", "copies/µL", "ASF-APP-1"),
                                               ("克伦特罗", "GB/T 22286-2008", "0.1", "µg/kg", "BA-APP-1")):
        ledger.append({"type": "test", "batch": lot, "data": {
            "sample": sample, "analyte": analyte, "method": method, "value": None, "lod": lod, "unit": unit,
            "report_no": report}}, actor=Actor(LAB))  # the lab records its result (its own app or the API)
    made = submit(client, "/producer/transform", {f"take-{lot}": "2", "product": "青峪猪 白条", "lot": "C-APP-1",
                                                 "quantity": "180", "unit": "KGM", "process": "slaughter",
                                                 "asf_reports": "ASF-APP-1"})
    assert made.status_code == 303, _visible_text(made.get_data(as_text=True))[:1200]
    carcass = LOT_LINK.search(made.headers["Location"]).group(1)  # type: ignore[union-attr]
    with app.extensions["ledger"].uow() as uow:
        row = uow.batch(carcass)
        assert row is not None and row.org_id == "bazhong-meat-park" and row.quantity == "180"
        assert uow.batch(lot).status == "consumed"  # type: ignore[union-attr]
    page = _visible_text(client.get(f"/batches/{carcass}").get_data(as_text=True))
    assert "青峪猪 白条" in page and "屠宰" in page


BAD_FORMS = {  # id: (fields of a new pig lot, the field whose error must show)
    "a quantity that is not a number": ({"quantity": "two"}, "k_quantity"),
    "no product": ({"product": ""}, "k_product"),
    "a lot code with spaces": ({"lot": "QY APP 2"}, "k_lot"),
    "a birth date that is not a date": ({"birth_or_arrival": "yesterday"}, "k_birth_or_arrival"),
}


@pytest.mark.parametrize(("change", "field"), list(BAD_FORMS.values()), ids=list(BAD_FORMS))
def test_a_form_error_shows_beside_its_field_and_writes_nothing(app: Flask, client: FlaskClient,
                                                                change: dict[str, str], field: str) -> None:
    login(client, "pigfarm")
    before = app.extensions["ledger"].row_counts()
    fields = {"product": "青峪猪 生猪", "lot": "QY-APP-2", "quantity": "2", "unit": "head",
              "tags": "151192100000201\n151192100000202", "birth_or_arrival": "2026-01-10", "breed": "青峪猪", **change}
    refused = submit(client, "/producer/new?family=pork&type=animal_tagged", fields)
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    beside = re.search(rf'<div class="field has-error">\s*<label for="{field}">.*?</div>', page, re.S)
    assert beside and 'class="form-error"' in beside.group(0) and f'id="{field}-error"' in beside.group(0)
    error = _visible_text(beside.group(0))
    assert re.search(r"[\u4e00-\u9fff]", error) and "data." not in error
    assert app.extensions["ledger"].row_counts() == before


def test_another_org_and_a_regulator_cannot_use_a_farms_lot(client: FlaskClient) -> None:
    login(client, "pigfarm")
    lot = new_pig_lot(client, "QY-APP-3")
    login(client, "meat")
    assert client.get(f"/producer/batches/{lot}/record/fed").status_code == 403
    login(client, "regulator")
    assert client.get("/producer/").status_code == 403
    client.post("/logout", data={"csrf_token": csrf_of(client, "/login")})
    assert client.get("/producer/").status_code in (302, 401)


def test_producer_pages_read_in_chinese_by_default(client: FlaskClient) -> None:
    login(client, "pigfarm")
    lot = new_pig_lot(client, "QY-APP-4")
    pages = ["/producer/", "/producer/new?family=pork&type=animal_tagged", f"/producer/batches/{lot}",
             f"/producer/batches/{lot}/record/fed", f"/producer/batches/{lot}/record/ship",
             f"/producer/batches/{lot}/record/correct", "/producer/transform", "/producer/device",
             "/producer/queue", f"/producer/batches/{lot}/labels", f"/producer/batches/{lot}/certificate-label"]
    untranslated = {}
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        english = [m.group(0) for line in _visible_text(response.get_data(as_text=True)).splitlines()
                   for m in ENGLISH_SENTENCE.finditer(line)]
        if english:
            untranslated[path] = english[:5]
    assert not untranslated, untranslated

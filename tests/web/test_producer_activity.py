"""Carbon activity data on the producer's step forms (issue 16): a collapsed fieldset of a few rows, each a
picker naming kind, qualifier and unit in words and an amount. Filled rows become the event's `activity`
exactly; empty rows are left out; a row the rules refuse shows the rule's words beside that row's field and
nothing is written. The lot page and the public batch page show what was recorded in words.
On SQLite and PostgreSQL (the fixtures' `db`)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from farmtrace.rules.declare import DECLARATIONS
from farmtrace.services.transaction import Actor
from tests.web.test_producer import LOT_LINK, login, new_pig_lot, submit
from tests.web.test_words_on_pages import _field_keys, _problems_on_a_chinese_page, _visible_text

FED = {"feed": "玉米豆粕", "supplier": "通江饲料厂", "lot": "F-01", "kg": "120"}
RAW = ("electricity", "kWh", "TKM", "diesel", "sichuan", "refrigerated", "transport", "activity")


def rows(*filled: tuple[str, str]) -> dict[str, str]:
    """Activity rows as posted: (picker value, amount) for rows 0, 1, 2 ..."""
    out = {}
    for i, (what, amount) in enumerate(filled):
        out[f"activity_{i}_what"] = what
        out[f"activity_{i}_amount"] = amount
    return out


def events(app: Flask, batch: str) -> list[dict[str, Any]]:
    """A batch's event bodies in chain order, as signed."""
    with app.extensions["ledger"].uow() as uow:
        return [json.loads(e.canonical) for e in uow.events_of_batch(batch)]


def beside(page: str, field: str) -> str:
    found = re.search(rf'<div class="field has-error">\s*<label for="{field}">.*?</div>', page, re.S)
    assert found, f"no error beside {field}: {_visible_text(page)[:1500]}"
    assert f'id="{field}-error"' in found.group(0) and 'aria-invalid="true"' in found.group(0)
    return _visible_text(found.group(0))


def test_the_fieldset_is_collapsed_and_names_each_choice_in_words(client: FlaskClient) -> None:
    login(client, "pigfarm")
    lot = new_pig_lot(client, "QY-ACT-0")
    for path in (f"/producer/batches/{lot}/record/fed", "/producer/new?family=pork&type=animal_tagged",
                 "/producer/transform"):
        page = client.get(path).get_data(as_text=True)
        details = re.search(r'<details class="activity"[^>]*>', page)
        assert details and "open" not in details.group(0), path  # collapsed until used
        assert "碳排放活动数据（选填）" in _visible_text(page)
        for words in ("电力 · 四川电网（千瓦时）", "燃料 · 柴油（升）", "运输 · 公路冷藏（吨公里）",
                      "化肥 · 氮肥（纯氮，千克）"):
            assert page.count(f">{words}</option>") == 3, (path, words)  # one per row
        assert page.count('inputmode="decimal"') >= 3
    transform = _visible_text(client.get("/producer/transform").get_data(as_text=True))
    assert "碳排放分配方法" not in transform and "产值" not in transform  # one output a form: left to the API


def test_filled_rows_become_the_events_activity_and_empty_rows_are_left_out(app: Flask, client: FlaskClient) -> None:
    login(client, "pigfarm")
    lot = new_pig_lot(client, "QY-ACT-1")
    done = submit(client, f"/producer/batches/{lot}/record/fed", {
        **FED, **rows(("electricity:sichuan:kWh", " 12.5 "), ("", ""), ("transport:road_refrigerated:TKM", "3.20"))})
    assert done.status_code == 303, _visible_text(done.get_data(as_text=True))[:1500]
    fed = events(app, lot)[-1]
    assert fed["type"] == "fed"
    assert fed["data"]["activity"] == [
        {"kind": "electricity", "unit": "kWh", "grid": "sichuan", "amount": "12.5"},
        {"kind": "transport", "unit": "TKM", "mode": "road", "refrigerated": True, "amount": "3.20"}]
    plain = submit(client, f"/producer/batches/{lot}/record/fed", FED)  # no rows filled: no activity at all
    assert plain.status_code == 303 and "activity" not in events(app, lot)[-1]["data"]

    keys = _field_keys() | set(RAW)
    public = client.get(f"/batches/{lot}").get_data(as_text=True)  # the lot page lists steps, not their data
    shown = _visible_text(public)
    assert "电力" in shown and "12.5 千瓦时" in shown and "四川电网" in shown and "3.2 吨公里" in shown
    assert "公路" in shown and "冷藏" in shown
    for path, page in ((f"/batches/{lot}", public), (f"/producer/batches/{lot}",
                                                     client.get(f"/producer/batches/{lot}").get_data(as_text=True))):
        assert not [p for p in _problems_on_a_chinese_page(page, keys) if any(r in p for r in RAW)], path
        assert not re.search(r"\b(electricity|kWh|TKM|diesel|sichuan)\b", _visible_text(page)), path


def test_a_transform_carries_its_activity_data(app: Flask, client: FlaskClient) -> None:
    paddy = {**DECLARATIONS["harvested"].example, "lot": "MILL-PADDY-1"}  # in the mill's stock
    app.extensions["ledger"].append({"type": "harvested", "batch": "mill-paddy-act-1", "data": paddy},
                                    actor=Actor("enyang-rice-mill"))
    login(client, "mill")
    page = client.get("/producer/transform").get_data(as_text=True)
    take = re.search(r'name="(take-mill-paddy-act-1)"', page)
    assert take, _visible_text(page)[:1500]
    made = submit(client, "/producer/transform", {
        take.group(1): "10", "product": "南江富硒大米", "lot": "MILL-ACT-1", "quantity": "7", "unit": "KGM",
        "process": "milling", **rows(("electricity:sichuan:kWh", "40"), ("", ""), ("packaging:paper:kg", "0.2"))})
    assert made.status_code == 303, _visible_text(made.get_data(as_text=True))[:1500]
    new = LOT_LINK.search(made.headers["Location"]).group(1)  # type: ignore[union-attr]
    assert events(app, new)[0]["data"]["activity"] == [
        {"kind": "electricity", "unit": "kWh", "grid": "sichuan", "amount": "40"},
        {"kind": "packaging", "unit": "kg", "material": "paper", "amount": "0.2"}]


REFUSED = {  # id: (rows as posted, the field the error is beside, words of the rule's message)
    "an amount with no choice": ((("", "12"),), "k_activity_0_what", "须为以下之一：电力、燃料、运输"),
    "an amount that is not a number": ((("", ""), ("fuel:diesel:L", "12,5")), "k_activity_1_amount", "十进制数字"),
    "a negative amount": ((("fuel:diesel:L", "8"), ("", ""), ("electricity:sichuan:kWh", "-3")),
                          "k_activity_2_amount", "不能为负数"),
    "a choice with no amount": ((("electricity:sichuan:kWh", ""),), "k_activity_0_amount", "未填写"),
    "a choice the form never offered": ((("electricity:mars:kWh", "5"),), "k_activity_0_what", "须为以下之一"),
}


@pytest.mark.parametrize(("filled", "field", "words"), list(REFUSED.values()), ids=list(REFUSED))
def test_a_refused_row_shows_the_rules_words_beside_it_and_writes_nothing(
        app: Flask, client: FlaskClient, filled: tuple[tuple[str, str], ...], field: str, words: str) -> None:
    login(client, "pigfarm")
    lot = new_pig_lot(client, "QY-ACT-2")
    before = app.extensions["ledger"].row_counts()
    refused = submit(client, f"/producer/batches/{lot}/record/fed", {**FED, **rows(*filled)})
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    error = beside(page, field)
    assert words in error and "GB/T 24067-2024" in error and "data." not in error and "None" not in error
    assert not re.search(r"\b(electricity|fuel|diesel|sichuan)\b", error)  # the choices named in words
    assert re.search(r'<details class="activity"[^>]*\bopen\b', page)  # opened to show it
    for i, (what, amount) in enumerate(filled):  # what was typed is still there
        if amount:
            assert f'name="k_activity_{i}_amount" type="text" value="{amount}"' in page
    assert app.extensions["ledger"].row_counts() == before


def test_the_form_reads_in_english_too(client: FlaskClient) -> None:
    login(client, "pigfarm")
    lot = new_pig_lot(client, "QY-ACT-3")
    page = _visible_text(client.get(f"/producer/batches/{lot}/record/fed",
                                    headers={"Accept-Language": "en"}).get_data(as_text=True))
    if "Carbon activity data (optional)" not in page:
        pytest.skip("this app picks the language from the session, not Accept-Language")
    assert "electricity · Sichuan grid (kWh)" in page and "fertiliser · nitrogen (N, kg)" in page

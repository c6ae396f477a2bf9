"""Pages speak people's words (issue "The house in order").

Every event type of every family is rendered on the batch page and the consumer page, in zh_CN and
en: the demo's events, plus the few types the demo does not write (a pig treated with a withdrawal
period, a correction, a shipment cancelled, and the free-form records), appended through the real
ledger. A Chinese page shows no raw field key, no unit code, no English sentence, and nothing of
Python (`None`, lists, dicts, `data.x` paths). The words come from the declarations
(farmtrace.rules.declare); this test reads the same declarations to know what a raw key looks like.
"""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

import farmtrace.rules  # noqa: F401  (the declarations)
from farmtrace.rules.declare import DECLARATIONS, EXTRA_KDES, UNITS
from farmtrace.services.consumer import public_token
from farmtrace.services.transaction import Actor

PIG_FARM, SLAUGHTERHOUSE = "qingyu-pig-farm", "bazhong-meat-park"
UNIT_CODES = sorted(code for code in UNITS if re.fullmatch(r"[A-Z][A-Z0-9]{2}", code))
ENGLISH_SENTENCE = re.compile(r"\b[A-Za-z]{2,}(?:[ ,;:]+[A-Za-z]{2,}){2,}\b")
PYTHON_SHAPES = re.compile(r"\bNone\b|\[\s*'|\{\s*'|\bdata\.[a-z_]+|\bTrue\b|\bFalse\b")


def _field_keys() -> set[str]:
    """Every KDE name a declaration knows that reads as a key, not a word (e.g. sample_id, KGM-like)."""
    names = {k.name for d in DECLARATIONS.values() for k in d.kdes}
    names |= {k.name for by_family in EXTRA_KDES.values() for kdes in by_family.values() for k in kdes}
    return {n for n in names if "_" in n}


def _visible_text(page: str) -> str:
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    page = re.sub(r"<[^>]+>", "\n", page)
    return html.unescape(page)


def _problems_on_a_chinese_page(page: str, keys: set[str]) -> list[str]:
    found = []
    for line in (line.strip() for line in _visible_text(page).splitlines()):
        if not line:
            continue
        found += [f"field key {k!r} in {line!r}" for k in keys if re.search(rf"\b{re.escape(k)}\b", line)]
        found += [f"unit code {u!r} in {line!r}" for u in UNIT_CODES if re.search(rf"\b{u}\b", line)]
        found += [f"English {m.group(0)!r} in {line!r}" for m in ENGLISH_SENTENCE.finditer(line)]
        found += [f"Python {m.group(0)!r} in {line!r}" for m in PYTHON_SHAPES.finditer(line)]
    return found


def _append_what_the_demo_lacks(app: Flask) -> None:
    """A treated pig with its free-form records, a correction, and a shipment sent and cancelled."""
    ledger = app.extensions["ledger"]
    farm = Actor(PIG_FARM)
    tagged = dict(DECLARATIONS["animal_tagged"].example or {}, lot="QY-WORDS-1")
    pigs = ledger.append({"type": "animal_tagged", "batch": "pigs-words", "data": tagged}, actor=farm)
    treated = ledger.append({"type": "treated", "batch": "pigs-words", "data": dict(DECLARATIONS["treated"].example or {})},
                            actor=farm)
    records: list[tuple[str, dict[str, Any]]] = [
        ("observe", {"step": "weighed", "place": "通江县 青峪镇 养殖场"}),
        ("stored", {"place": "青峪镇 圈舍 3 号"}),
        ("inspected", {"place": "青峪镇 圈舍 3 号"}),
        ("temperature_logged", {"value": "18", "unit": "CEL", "location": "air", "place": "青峪镇 圈舍 3 号"}),
        ("correct", {"amends": treated.hash, "reason": "用药剂量笔误，应为 5 毫升"}),
    ]
    for kind, data in records:
        ledger.append({"type": kind, "batch": "pigs-words", "data": data}, actor=farm)
    assert pigs.created
    quarantined = dict(DECLARATIONS["quarantined"].example or {}, tags=tagged["tags"], head=tagged["quantity"])
    ledger.append({"type": "quarantined", "batch": "pigs-words", "data": quarantined}, actor=farm)
    ship = ledger.append({"type": "ship", "batch": "pigs-words",
                          "data": {"to": SLAUGHTERHOUSE, "quantity": tagged["quantity"], "unit": tagged["unit"],
                                   "certificate_no": "HGZ-511921-0099"}},
                         actor=farm)
    ledger.append({"type": "cancel", "batch": "pigs-words", "data": {"ship": ship.hash, "reason": "车辆故障，改日再运"}},
                  actor=farm)


def _rendered_types(app: Flask) -> set[tuple[str, str]]:
    with app.extensions["ledger"].uow() as uow:
        rows = uow.connection.exec_driver_sql(
            "SELECT DISTINCT b.family, e.type FROM events e JOIN batches b ON b.id = e.batch_id").fetchall()
    return {(str(family), str(kind)) for family, kind in rows}


def test_every_event_type_of_every_family_is_shown_in_words_on_both_pages(app: Flask, client: FlaskClient) -> None:
    _append_what_the_demo_lacks(app)
    rendered = _rendered_types(app)
    for family in ("produce", "pork", "baijiu", "water"):
        own = {d.type for d in farmtrace.rules.families.rules_for(family).declarations}
        assert own and own <= {kind for fam, kind in rendered if fam == family}, family
    assert set(DECLARATIONS) <= {kind for _fam, kind in rendered}, set(DECLARATIONS) - {k for _f, k in rendered}

    keys = _field_keys()
    ledger = app.extensions["ledger"]
    with ledger.uow() as uow:
        batch_ids = [b.id for b in uow.batches(limit=1000)]
    problems: dict[str, list[str]] = {}
    for batch_id in batch_ids:
        token = public_token(ledger, batch_id)
        for path in (f"/batches/{batch_id}", f"/p/{token}"):
            for lang in ("zh_CN", "en"):
                response = client.get(f"{path}?lang={lang}")
                assert response.status_code == 200, (path, lang)
                page = response.get_data(as_text=True)
                if lang == "zh_CN":
                    found = _problems_on_a_chinese_page(page, keys)
                else:  # English pages may be English, but never keys or Python
                    found = [p for p in _problems_on_a_chinese_page(page, keys) if not p.startswith("English")]
                if found:
                    problems[f"{path}?lang={lang}"] = found[:5]
    assert not problems, problems


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_a_treated_pig_reads_as_labelled_values_with_units(app: Flask, client: FlaskClient, lang: str) -> None:
    _append_what_the_demo_lacks(app)
    page = _visible_text(client.get(f"/batches/pigs-words?lang={lang}").get_data(as_text=True))
    expected = {"zh_CN": ("用药治疗", "土霉素注射液", "5 毫升", "休药期", "28 天", "取消发货", "更正"),
                "en": ("Treated", "土霉素注射液", "5 mL", "28", "Shipment cancelled", "Correction")}[lang]
    for words in expected:
        assert words in page, words


def test_stored_moments_are_shown_in_bazhong_time() -> None:
    """The database keeps naive UTC; pages show Asia/Shanghai (UTC+8, no daylight saving)."""
    from datetime import datetime, timezone

    from farmtrace.web.words import local_time
    assert local_time(datetime(2026, 12, 1, 16, 30)) == "2026-12-02 00:30"
    assert local_time(datetime(2026, 12, 1, 16, 30, 5, tzinfo=timezone.utc), seconds=True) == "2026-12-02 00:30:05"
    assert local_time(None) == ""

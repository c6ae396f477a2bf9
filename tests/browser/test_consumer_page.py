"""The consumer's real page (templates/public/product.html) on a 360×740 phone, in Debian's chromium.

Acceptance of the consumer-page issue: a normal lot shows its timeline and "verified on this
device"; a lot tampered in the database shows the failure; a recalled lot shows its warning above
the fold; a counterfeit-pattern serial shows its warning; the page and its assets weigh at most
100 KB (the bundle fetched after first paint excluded) and no request leaves 127.0.0.1.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from farmtrace.ledger.canonical import canonicalize
from farmtrace.services.exports.bundle import make_bundle
from farmtrace.demo import GTINS

from .conftest import LiveServer, Phone, assert_local_only

BOTTLES = f"/01/{GTINS['baijiu']}/10/PC0"
RECALLED_RICE = f"/01/{GTINS['rice']}/10/NJR-1"
FOLD = 740
BUDGET = 100 * 1024
DONE = ",".join(f"#verify[data-state={state}]" for state in ("ok", "fail", "error", "unsupported"))


def _open(phone: Phone, server: LiveServer, path: str) -> Any:
    page = phone.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.goto(server.url + path)
    page.locator(DONE).wait_for(timeout=20_000)
    page.errors = errors
    return page


def _above_the_fold(page: Any, selector: str) -> bool:
    box = page.locator(selector).bounding_box()
    return box is not None and box["y"] >= 0 and box["y"] + min(box["height"], 120) <= FOLD


def test_a_normal_lot_shows_its_journey_and_is_verified_on_the_phone(phone: Phone, live_server: LiveServer) -> None:
    page = _open(phone, live_server, BOTTLES)
    assert page.locator("#verify").get_attribute("data-state") == "ok"
    assert page.locator("#verify-status").text_content() == "已在本机验证"
    assert page.locator("#journey li").count() >= 10
    assert page.locator("#journey li").first.locator(".when").text_content().startswith("20")
    assert page.locator("h1").text_content() == "平昌 巴山窖 五年 52%vol 500mL"
    assert page.locator("#recall").count() == 0 and page.locator("#counterfeit").count() == 0
    assert page.evaluate("document.documentElement.scrollWidth") <= 360  # no sideways scrolling at 360 px
    assert not page.errors
    assert_local_only(phone.requests)


def test_a_lot_tampered_in_the_database_shows_the_failure(phone: Phone, fresh_server: LiveServer) -> None:
    bundle = make_bundle(fresh_server.ledger, "bottles-pc-0")
    target = next(e for e in bundle["batches"][0]["events"] if json.loads(e["canonical"])["type"] == "packed")
    body = json.loads(target["canonical"])
    body["data"]["units"] = "2000"  # a forger doubles the bottles
    with sqlite3.connect(fresh_server.db_path) as db:
        for (trigger,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'events'"):
            db.execute(f'DROP TRIGGER "{trigger}"')
        assert db.execute("UPDATE events SET canonical = ? WHERE seq = ?",
                          (canonicalize(body).decode(), target["seq"])).rowcount == 1
    page = _open(phone, fresh_server, BOTTLES)
    assert page.locator("#verify").get_attribute("data-state") == "fail"
    assert page.locator("#verify-status").text_content() == "本机验证未通过"
    codes = page.locator("#verify-failures li").evaluate_all("items => items.map(li => li.dataset.code)")
    assert "hash_mismatch" in codes
    assert "bad" in page.locator("#verify-server").get_attribute("class")  # the server's own check agrees
    assert_local_only(phone.requests)


def test_a_recalled_lot_shows_the_warning_above_the_fold(phone: Phone, live_server: LiveServer) -> None:
    page = _open(phone, live_server, RECALLED_RICE)
    assert page.locator("#recall").is_visible()
    assert _above_the_fold(page, "#recall")
    assert "已召回" in page.locator("#recall").text_content()
    assert_local_only(phone.requests)


def test_a_counterfeit_pattern_serial_shows_its_warning(phone: Phone, live_server: LiveServer) -> None:
    page = _open(phone, live_server, BOTTLES + "/21/PC0000099999")  # a serial never issued for the lot
    assert page.locator("#counterfeit").is_visible() and _above_the_fold(page, "#counterfeit")
    assert "疑似假冒" in page.locator("#counterfeit").text_content()
    assert_local_only(phone.requests)


def test_a_refilled_bottle_warns_the_next_phone(browser: Any, phone: Phone, live_server: LiveServer) -> None:
    url = BOTTLES + "/21/PC0000000777"
    mine = _open(phone, live_server, url)
    mine.get_by_label("瓶盖内的开盖码").fill(_cap_code(live_server, "PC0000000777").lower().replace("-", " "))
    mine.get_by_role("button", name="我已开启这瓶酒").click()
    mine.wait_for_load_state()
    assert mine.locator("#counterfeit").count() == 0 and "已标记为开启" in mine.locator("#unit").text_content()
    other = browser.new_context(viewport={"width": 360, "height": 740}, locale="zh-CN")
    try:
        page = other.new_page()
        page.goto(live_server.url + url)
        assert page.locator("#counterfeit").is_visible()
        assert "回收灌装" in page.locator("#counterfeit").text_content()
    finally:
        other.close()


def _cap_code(server: LiveServer, serial: str) -> str:
    """The clear code the demo wrote for `serial` (<instance>/demo-cap-codes.csv)."""
    import csv
    path = server.app.config["FARMTRACE"].instance / "demo-cap-codes.csv"
    with open(path, encoding="utf-8-sig", newline="") as f:
        return next(row["开盖码"] for row in csv.DictReader(f) if row["序列号"] == serial)


def test_a_wrong_cap_code_is_said_beside_the_field_and_marks_nothing(phone: Phone, live_server: LiveServer) -> None:
    url = BOTTLES + "/21/PC0000000778"
    page = _open(phone, live_server, url)
    page.get_by_label("瓶盖内的开盖码").fill("00000-00000")
    page.get_by_role("button", name="我已开启这瓶酒").click()
    page.wait_for_load_state()
    assert page.locator("#code-error").is_visible() and "开盖码与此瓶不符" in page.locator("#code-error").text_content()
    assert page.locator("#error-summary").is_visible() and _above_the_fold(page, "#error-summary")
    assert page.locator("#code").input_value() == "00000-00000"  # what was typed stays
    assert "已标记为开启" not in page.locator("#unit").text_content()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert_local_only(phone.requests)


def test_the_page_and_its_assets_fit_the_weight_budget(phone: Phone, live_server: LiveServer) -> None:
    page = phone.new_page()
    responses: list[Any] = []
    page.on("requestfinished", lambda request: responses.append(request))
    page.goto(live_server.url + BOTTLES)
    page.locator(DONE).wait_for(timeout=20_000)
    weights = {}
    for request in responses:
        if request.url.endswith("bundle.json"):
            continue  # the proof data, fetched after first paint
        sizes = request.sizes()
        weights[request.url] = sizes["responseBodySize"] + sizes["responseHeadersSize"]
    total = sum(weights.values())
    assert any(url.endswith("verify.js") for url in weights) and any(url.endswith(".css") for url in weights)
    assert total <= BUDGET, f"{total} bytes: {weights}"
    print(f"\npage weight: {total} bytes over {len(weights)} requests (budget {BUDGET})")
    assert_local_only(phone.requests)

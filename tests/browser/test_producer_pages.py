"""The producer app in Chromium at a tablet's 768×1024, a phone's 360×740 and a desktop's 1366×900: a pig farm creates a
lot and records a step through the generated forms, and axe-core (bundled by the PyPI package
axe-playwright-python: no CDN) finds no serious or critical violation on any producer page."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import SIZES, LiveServer, assert_local_only, serious, sign_in

pytest.importorskip("axe_playwright_python.sync_playwright")


@pytest.fixture(params=list(SIZES))
def tablet(request: pytest.FixtureRequest, screens: Any) -> Any:
    """A pig farm worker's browser at each size (tablet, phone, desktop)."""
    return screens(request.param)


def test_a_farm_worker_creates_a_lot_and_records_a_step_and_every_page_passes_axe(
        live_server: LiveServer, tablet: Any) -> None:
    url = live_server.url
    sign_in(tablet, url, "pigfarm")
    problems: dict[str, list[str]] = {"home": serious(tablet)}

    tablet.click("text=新建批次")
    tablet.wait_for_selector("#k_product")
    problems["new lot"] = serious(tablet)
    lot = f"QY-B-{tablet.viewport_size['width']}"
    tablet.fill("#k_product", "青峪猪 生猪")
    tablet.fill("#k_lot", lot)
    tablet.fill("#k_quantity", "two")  # refused: the error shows beside the field
    tablet.fill("#k_tags", "151192100000301\n151192100000302")
    tablet.fill("#k_birth_or_arrival", "2026-01-10")
    tablet.fill("#k_breed", "青峪猪")
    tablet.click("button.primary")
    error = tablet.locator("#k_quantity-error")
    assert "头数" in error.inner_text()
    problems["a refused form"] = serious(tablet)

    tablet.fill("#k_quantity", "2")
    tablet.click("button.primary")
    tablet.wait_for_selector("text=批次已建立并签名")
    problems["the lot"] = serious(tablet)

    tablet.click("a.button:has-text('饲喂')")
    tablet.wait_for_selector("#k_feed")
    problems["a step's form"] = serious(tablet)
    tablet.fill("#k_feed", "玉米豆粕")
    tablet.fill("#k_supplier", "通江饲料厂")
    tablet.fill("#k_lot", "F-B1")
    tablet.fill("#k_kg", "120")
    tablet.click("button.primary")
    tablet.wait_for_selector("text=已记录并签名")
    assert "饲喂" in tablet.inner_text("main")

    tablet.click("text=加工")
    problems["processing"] = serious(tablet)
    for name, path in (("this tablet", "/producer/device"), ("waiting to sync", "/producer/queue")):
        tablet.goto(url + path)
        tablet.wait_for_selector("#device-bar[data-ready]", state="attached")
        problems[name] = serious(tablet)
    assert not {name: found for name, found in problems.items() if found}, problems
    assert_local_only(tablet.seen)

"""Carbon footprints in Chromium (issue 16): the consumer's card at 360 and 768 px (the figure per unit in
words, a bar per stage, the 估算 label), the desk's carbon audit and the producer's monthly report; nothing
wider than the screen, axe finds nothing serious, screenshots in docs/screenshots/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .conftest import LiveServer, serious, sign_in

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.mark.parametrize(("size", "width"), [("phone", 360), ("tablet", 768)])
def test_the_consumer_sees_the_footprint_per_kilogram_with_a_bar_per_stage(screens: Any, live_server: LiveServer,
                                                                           size: str, width: int) -> None:
    page = screens(size)
    page.goto(f"{live_server.url}/batches/cuts-qy-0/label")  # redirects to the lot's /p/<token> page
    card = page.locator("#footprint")
    card.wait_for()
    text = card.text_content() or ""
    assert "碳足迹" in text and "每千克" in text and "千克二氧化碳当量" in text and "估算" in text
    assert "KGM" not in text and "kg CO" not in text
    stages = card.locator(".footprint-stages li")
    assert stages.count() == 3  # the pigs, the carcass, the cuts (with the shop's cold display)
    assert "通江县青峪猪生态养殖场" in (stages.first.text_content() or "")
    bars = card.locator("svg.bar .bar-fill")
    widths = [float(bars.nth(i).get_attribute("width") or 0) for i in range(bars.count())]
    assert max(widths) == 100 and all(0 < w <= 100 for w in widths)
    assert card.locator("svg.bar[aria-hidden='true']").count() == bars.count()  # the numbers are the text
    assert "碳足迹已核算" in (page.locator("#claims").text_content() or "")
    assert "低碳" not in (page.locator("#claims").text_content() or "")  # a figure, not a claim
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    card.scroll_into_view_if_needed()
    card.screenshot(path=str(SHOTS / f"consumer-footprint-{width}.png"))
    assert serious(page) == []


def test_the_desk_audits_every_emission_line_on_a_phone(screens: Any, live_server: LiveServer) -> None:
    page = screens("phone")
    sign_in(page, live_server.url, "regulator", lands="/account/tokens")
    page.goto(f"{live_server.url}/desk/batches/cuts-qy-0/carbon")
    lines = page.locator(".carbon-lines li")
    assert lines.count() == 4  # feed, slaughter electricity, refrigerated transport, the shop's display
    assert "生态环境部" in (page.locator(".carbon-lines").text_content() or "")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.screenshot(path=str(SHOTS / "desk-carbon-360.png"), full_page=True)
    assert serious(page) == []


def test_a_producer_reads_its_monthly_emissions_and_downloads_them(screens: Any, live_server: LiveServer) -> None:
    page = screens("tablet")
    sign_in(page, live_server.url, "meat")
    page.goto(f"{live_server.url}/producer/carbon")
    table = page.locator("table.carbon-months")
    assert table.locator("tbody tr").count() >= 1 and "千克二氧化碳当量" in (table.text_content() or "")
    with page.expect_download() as download:
        page.get_by_role("link", name="下载 CSV").click()
    assert download.value.suggested_filename == "carbon-bazhong-meat-park.csv"
    page.screenshot(path=str(SHOTS / "producer-carbon-768.png"), full_page=True)
    assert serious(page) == []

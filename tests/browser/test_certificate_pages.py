"""Certificates on the consumer's page at 360 px (issue 16): an expired certificate shows as expired, in
words with its date, and backs no 绿色 claim; a valid green food licence shows the claim and its PDF link."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .conftest import LiveServer, serious

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "consumer-certificate-expired-360.png"


def _lot_page(page: Any, server: LiveServer, batch: str) -> None:
    page.goto(f"{server.url}/batches/{batch}/label")  # redirects to the lot's /p/<token> page
    page.locator("#certificates").wait_for()


def test_an_expired_certificate_shows_as_expired_at_360_px(screens: Any, live_server: LiveServer) -> None:
    page = screens("phone")
    _lot_page(page, live_server, "tea-yd-1")
    expired = page.locator("#certificates li[data-certificate='OG-DEMO-2022-0417']")
    assert expired.is_visible()
    assert "已过期（2025-02-28 到期）" in (expired.text_content() or "")
    assert page.locator("#claims .claim", has_text="绿色").count() == 0  # none from an expired certificate
    assert page.evaluate("document.documentElement.scrollWidth") <= 360  # nothing wider than the phone
    expired.scroll_into_view_if_needed()
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.locator("#certificates").screenshot(path=str(SCREENSHOT))
    assert serious(page) == []


def test_a_valid_green_food_licence_shows_its_claim_at_360_px(screens: Any, live_server: LiveServer) -> None:
    page = screens("phone")
    _lot_page(page, live_server, "rice-nj-0")
    assert "绿色" in (page.locator("#claims").text_content() or "")
    link = page.locator("#certificates a[href^='/documents/']")
    assert link.count() == 1 and "SHA-256" in (page.locator("#certificates").text_content() or "")
    assert serious(page) == []

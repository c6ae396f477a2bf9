"""The regulator's desk in Chromium at a desktop's 1366×900 and a tablet's 768×1024: the dashboard, a whole-log
verification started, followed and reported, and the export form with its errors beside the fields; axe-core
(bundled by the PyPI package axe-playwright-python: no CDN) finds no serious or critical violation on any of them."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import LiveServer, assert_local_only, serious, sign_in

pytest.importorskip("axe_playwright_python.sync_playwright")


@pytest.fixture(params=["desktop", "tablet", "phone"])
def desk(request: pytest.FixtureRequest, screens: Any) -> Any:
    """A regulator's browser at 1366×900, 768×1024 and 360×740."""
    return screens(request.param)


def test_a_regulator_reads_the_dashboard_verifies_the_log_and_exports_and_every_page_passes_axe(
        fresh_server: LiveServer, desk: Any) -> None:
    url = fresh_server.url
    sign_in(desk, url, "regulator", lands="/account/tokens")
    desk.goto(f"{url}/desk/dashboard")
    assert desk.locator("#warnings").is_visible() and desk.locator("#log-health").is_visible()
    problems: dict[str, list[str]] = {"dashboard": serious(desk)}

    desk.click(".desk-nav >> nth=0 >> a >> nth=2")
    desk.wait_for_url(f"{url}/desk/verification")
    problems["verification, none yet"] = serious(desk)
    desk.click("form button[type=submit] >> nth=-1")
    desk.wait_for_selector('#job[data-state="done"]', timeout=60_000)  # the page polls, then shows the report
    problems["verification, done"] = serious(desk)

    desk.goto(f"{url}/desk/exports")
    problems["exports"] = serious(desk)
    desk.check('input[name=scope][value=range]')
    desk.fill("#from", "2026-12-31")
    desk.fill("#to", "2026-01-01")
    desk.click(".desk-form button[type=submit]")
    desk.wait_for_selector("#to-error")
    problems["exports, refused"] = serious(desk)
    with desk.expect_download() as download:
        desk.goto(f"{url}/desk/exports")
        desk.fill("#batch", "rice-nj-0")
        desk.click(".desk-form button[type=submit]")
    assert download.value.suggested_filename == "epcis-rice-nj-0-both.jsonld"
    assert not {name: found for name, found in problems.items() if found}
    assert_local_only(desk.seen)

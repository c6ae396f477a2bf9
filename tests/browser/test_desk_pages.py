"""The regulator's desk in a browser at 1366×900: search → audit view → trace graph → recall with its
confirmation; the recall then shows on the affected retailer's home and on a descendant lot's public page;
axe-core (bundled by axe-playwright-python: no CDN) finds no serious or critical violation on any desk page
at 1366 and 768 px."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import LiveServer, serious, sign_in

pytest.importorskip("axe_playwright_python.sync_playwright")

DESK_PAGES = ["/desk/search?family=pork", "/desk/search?from=2026-13-01", "/desk/batches/cuts-qy-0",
              "/desk/batches/rice-nj-0/trace", "/desk/batches/carcass-qy-0/recall"]


@pytest.fixture
def desk(screens: Any) -> Any:
    return screens("desktop")


def _login(page: Any, url: str, username: str) -> None:
    sign_in(page, url, username, lands="/producer/" if username == "shop" else "/account/tokens")


def test_a_regulator_searches_audits_traces_and_recalls_and_the_holders_see_it(fresh_server: LiveServer,
                                                                                desk: Any) -> None:
    url = fresh_server.url
    _login(desk, url, "regulator")
    desk.click("header a[href='/desk/search']")  # the header's link to the desk
    desk.fill("#f-q", "C-0")
    desk.click("form.desk-search button[type=submit]")
    desk.click("a[href='/desk/batches/carcass-qy-0']")
    assert desk.url.endswith("/desk/batches/carcass-qy-0")
    assert desk.locator("tr.failed").count() == 0 and desk.locator("tr.ok-row").count() >= 3
    desk.click("a[href='/desk/batches/carcass-qy-0/trace']")
    graph = desk.locator("svg.trace-graph")
    assert graph.is_visible() and graph.locator("a.node").count() == 3
    assert "616 千克" in graph.text_content()
    desk.click("a[href='/desk/batches/carcass-qy-0/recall'] >> nth=0")
    lots = desk.locator("#affected-lots tbody tr")
    assert lots.count() == 2 and "K-0" in lots.nth(1).inner_text()
    assert "巴州区江北生鲜超市" in desk.locator("#affected-holders").inner_text()
    desk.fill("#reason", "白条抽检复核：召回该批及其分割肉")
    desk.click("button.danger-strong")
    desk.wait_for_url("**/desk/batches/carcass-qy-0/trace?recalled=1")
    assert desk.locator("svg.trace-graph a.node.recalled").count() == 2  # the carcass lot and the cuts

    public = desk.context.browser.new_context(viewport={"width": 360, "height": 740}, locale="zh-CN").new_page()
    public.goto(f"{url}/batches/cuts-qy-0")  # a descendant lot, as a consumer sees it
    assert public.locator("section.recall").is_visible()
    public.context.close()
    _login(desk, url, "shop")  # the market holds the cuts
    desk.goto(f"{url}/producer/")
    notices = desk.locator("#recalled")
    assert notices.is_visible() and "K-0" in notices.inner_text()


@pytest.mark.parametrize("size", ["desktop", "tablet", "phone"])
def test_no_desk_page_has_a_serious_accessibility_violation(live_server: LiveServer, screens: Any, size: str) -> None:
    page = screens(size)
    _login(page, live_server.url, "regulator")
    for path in DESK_PAGES:
        page.goto(f"{live_server.url}{path}")
        assert serious(page) == [], (path, size)


def test_a_tampered_event_shows_its_failed_row_in_the_audit_view(fresh_server: LiveServer, desk: Any) -> None:
    """Someone with the database rewrites a reading of the cuts: the audit view marks that row, and only it."""
    import sqlite3
    with sqlite3.connect(fresh_server.db_path) as conn:
        conn.execute("DROP TRIGGER events_no_update")
        seq, canonical = conn.execute("SELECT seq, canonical FROM events WHERE batch_id = 'cuts-qy-0' "
                                      "AND type = 'temperature_logged'").fetchone()
        conn.execute("UPDATE events SET canonical = ? WHERE seq = ?", (canonical.replace('"value":"', '"value":"1'),
                                                                       seq))
    _login(desk, fresh_server.url, "regulator")
    desk.goto(f"{fresh_server.url}/desk/batches/cuts-qy-0")
    failed = desk.locator("tr.failed")
    assert failed.count() == 1 and failed.get_attribute("id") == f"e{seq}"
    assert "✘" in failed.inner_text() and desk.locator("tr.ok-row").count() >= 5
    desk.click(f"a[href='#e{seq}']")  # the verdict above links to the row
    assert desk.url.endswith(f"#e{seq}")

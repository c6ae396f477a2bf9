"""The admin pages in Chromium at 768×1024, 360×740 and 1366×900: the operator opens every page, submits a
refused form (its error shows beside the field) and a good one; axe-core (bundled by the PyPI package
axe-playwright-python: no CDN) finds no serious or critical violation on any of them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from farmtrace.demo import DEMO_PASSWORD
from tests.browser.conftest import LiveServer, assert_local_only

Axe = pytest.importorskip("axe_playwright_python.sync_playwright").Axe

SIZES = {"tablet": (768, 1024), "phone": (360, 740), "desktop": (1366, 900)}
FARM = "qingyu-pig-farm"


@pytest.fixture(params=list(SIZES))
def screen(request: pytest.FixtureRequest, browser: Any) -> Iterator[Any]:
    width, height = SIZES[request.param]
    context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
    seen: list[str] = []
    context.on("request", lambda r: seen.append(r.url))
    page = context.new_page()
    page.seen = seen
    yield page
    context.close()


def _serious(page: Any) -> list[str]:
    results = Axe().run(page)
    return [f"{v['id']} ({v['impact']}): {v['help']}" for v in results.response["violations"]
            if v.get("impact") in ("serious", "critical")]


def _fits(page: Any) -> bool:
    """Nothing wider than the screen: no sideways scrolling."""
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"))


def test_the_operator_uses_every_admin_page_and_each_passes_axe(live_server: LiveServer, screen: Any) -> None:
    url = live_server.url
    screen.goto(f"{url}/login")
    screen.fill("#username", "admin")
    screen.fill("#password", DEMO_PASSWORD)
    screen.click("button[type=submit]")
    screen.wait_for_load_state()
    screen.click("header >> text=管理")
    screen.wait_for_url(f"{url}/admin/")
    problems: dict[str, list[str]] = {"orgs": _serious(screen)}
    wide = []
    for name, path in (("new org", "/admin/orgs/new"), ("org", f"/admin/orgs/{FARM}"),
                       ("users", f"/admin/orgs/{FARM}/users"), ("tokens", f"/admin/orgs/{FARM}/tokens"),
                       ("keys", f"/admin/orgs/{FARM}/keys")):
        screen.goto(url + path)
        problems[name] = _serious(screen)
        if not _fits(screen):
            wide.append(name)

    screen.goto(f"{url}/admin/orgs/{FARM}")
    screen.fill("#edit-contact_phone", "call me")  # refused: the error shows beside the field
    screen.click("form[action$='/edit'] button[type=submit]")
    assert "电话号码" in screen.inner_text("#edit-contact_phone-error")
    problems["a refused form"] = _serious(screen)
    screen.fill("#edit-contact_phone", "0827-5261234")
    screen.click("form[action$='/edit'] button[type=submit]")
    screen.wait_for_selector("text=机构信息已保存")

    screen.goto(f"{url}/admin/orgs/{FARM}/tokens")
    screen.click("form[action$='/tokens'] button[type=submit]")
    screen.wait_for_selector("#new-token")
    problems["a new token"] = _serious(screen)
    assert not {name: found for name, found in problems.items() if found}, problems
    assert not wide, wide
    assert_local_only(screen.seen)

"""The admin pages in Chromium at 768×1024, 360×740 and 1366×900: the operator opens every page, submits a
refused form (its error shows beside the field) and a good one; axe-core (bundled by the PyPI package
axe-playwright-python: no CDN) finds no serious or critical violation on any of them."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import SIZES, LiveServer, assert_local_only, serious, sign_in

pytest.importorskip("axe_playwright_python.sync_playwright")

FARM = "qingyu-pig-farm"


@pytest.fixture(params=list(SIZES))
def screen(request: pytest.FixtureRequest, screens: Any) -> Any:
    return screens(request.param)


def _fits(page: Any) -> bool:
    """Nothing wider than the screen: no sideways scrolling."""
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"))


def test_the_operator_uses_every_admin_page_and_each_passes_axe(live_server: LiveServer, screen: Any) -> None:
    url = live_server.url
    sign_in(screen, url, "admin")
    screen.click("header >> text=管理")
    screen.wait_for_url(f"{url}/admin/")
    problems: dict[str, list[str]] = {"orgs": serious(screen)}
    wide = []
    for name, path in (("new org", "/admin/orgs/new"), ("org", f"/admin/orgs/{FARM}"),
                       ("users", f"/admin/orgs/{FARM}/users"), ("tokens", f"/admin/orgs/{FARM}/tokens"),
                       ("keys", f"/admin/orgs/{FARM}/keys")):
        screen.goto(url + path)
        problems[name] = serious(screen)
        if not _fits(screen):
            wide.append(name)

    screen.goto(f"{url}/admin/orgs/{FARM}")
    screen.fill("#edit-contact_phone", "call me")  # refused: the error shows beside the field
    screen.click("form[action$='/edit'] button[type=submit]")
    assert "电话号码" in screen.inner_text("#edit-contact_phone-error")
    problems["a refused form"] = serious(screen)
    screen.fill("#edit-contact_phone", "0827-5261234")
    screen.click("form[action$='/edit'] button[type=submit]")
    screen.wait_for_selector("text=机构信息已保存")

    screen.goto(f"{url}/admin/orgs/{FARM}/tokens")
    screen.click("form[action$='/tokens'] button[type=submit]")
    screen.wait_for_selector("#new-token")
    problems["a new token"] = serious(screen)
    assert not {name: found for name, found in problems.items() if found}, problems
    assert not wide, wide
    assert_local_only(screen.seen)

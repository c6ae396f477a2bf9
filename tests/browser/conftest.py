"""Browser tests: Debian's chromium driven by Playwright (sync API) against a live farmtrace server.

- `browser` (session): headless /usr/bin/chromium; the whole folder skips with one line when
  chromium is missing or playwright does not import (scripts/test installs chromium when root).
- `live_server` (session): the app on a SQLite file loaded with the demo data, served by werkzeug
  on 127.0.0.1 in a daemon thread; `.url`, `.app`, `.ledger`, `.db_path`. Do not change its data:
  use `fresh_server` (function scope) or `start_live_server(tmp_path)` for tests that tamper.
- `phone` (function): a new context sized like a cheap Android phone (360×740, DPR 2, zh-CN) that
  records every request URL in `phone.requests` and aborts any request not to 127.0.0.1;
  `assert_local_only(phone.requests)` fails naming the first URL that tried to leave.
Test-only pages live in tests/browser/pages/ and are served at /_test/<name>.html (see `_add_test_pages`).
docs/browser-tests.md says how to add a test.
"""

from __future__ import annotations

import html
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask, Response, abort
from werkzeug.serving import BaseWSGIServer, make_server

from farmtrace.services.ledger import Ledger

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]
PAGES = Path(__file__).parent / "pages"
LOCAL_HOSTS = {"127.0.0.1"}
LOCAL_SCHEMES = {"data", "blob", "about"}  # never leave the phone


@dataclass
class LiveServer:
    """A farmtrace app served over HTTP on 127.0.0.1 from its own SQLite file."""

    url: str
    app: Flask
    ledger: Ledger
    db_path: Path
    server: BaseWSGIServer = field(repr=False)
    thread: threading.Thread = field(repr=False)

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(timeout=5)
        self.server.server_close()
        self.ledger.engine.dispose()


def _add_test_pages(app: Flask) -> None:
    """GET /_test/<name>.html serves tests/browser/pages/<name>.html; {{name}} placeholders are filled
    from the query string (HTML-escaped), plus {{log_key}}, the log's verifier key."""
    from flask import request

    from farmtrace.services.log import log_verifier_key

    def page(name: str) -> Response:
        path = PAGES / f"{name}.html"
        if not name.replace("_", "").replace("-", "").isalnum() or not path.is_file():
            abort(404)
        values = {**request.args, "log_key": log_verifier_key(app.extensions["ledger"])}
        text = path.read_text(encoding="utf-8")
        for key, value in values.items():
            text = text.replace("{{%s}}" % key, html.escape(value, quote=True))
        return Response(text, mimetype="text/html")

    app.add_url_rule("/_test/<name>.html", "test_page", page)


def start_live_server(tmp: Path, *, demo: bool = True) -> LiveServer:
    """Create an app on a new SQLite file under `tmp`, load the demo data and serve it; call .stop()."""
    from farmtrace.demo import load_demo
    from farmtrace.web import create_app

    tmp.mkdir(parents=True, exist_ok=True)
    db_path = tmp / "farmtrace.db"
    app = create_app({"database_url": f"sqlite:///{db_path}", "instance": str(tmp / "instance"),
                      "secret_key": "browser-test", "log_origin": "test.farmtrace/log", "migrate": True})
    _add_test_pages(app)
    ledger = app.extensions["ledger"]
    if demo:
        load_demo(ledger, cap_codes=tmp / "instance" / "demo-cap-codes.csv")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    return LiveServer(f"http://127.0.0.1:{server.server_port}", app, ledger, db_path, server, thread)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"browser tests skipped: {CHROMIUM} is missing (scripts/test installs it when run as root)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as err:
        pytest.skip(f"browser tests skipped: playwright does not import ({err})")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = start_live_server(tmp_path_factory.mktemp("live"))
    yield server
    server.stop()


@pytest.fixture
def fresh_server(tmp_path: Path) -> Iterator[LiveServer]:
    """A server of its own, for a test that changes the database."""
    server = start_live_server(tmp_path / "live")
    yield server
    server.stop()


class Phone:
    """A browser context like a cheap Android phone; `requests` holds every URL it asked for.
    Anything else (new_page, route, ...) goes to the Playwright BrowserContext."""

    def __init__(self, context: Any) -> None:
        self.context = context
        self.requests: list[str] = []
        context.on("request", lambda request: self.requests.append(request.url))
        context.route("**/*", _local_only_route)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.context, name)


def _is_local(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in LOCAL_SCHEMES or (parts.scheme in ("http", "https") and parts.hostname in LOCAL_HOSTS)


def _local_only_route(route: Any) -> None:
    if _is_local(route.request.url):
        route.continue_()
    else:
        route.abort("blockedbyclient")


def assert_local_only(requests: list[str]) -> None:
    """Fail unless every request went to 127.0.0.1 (or stayed in the page: data:, blob:)."""
    leaving = [url for url in requests if not _is_local(url)]
    assert not leaving, f"{len(leaving)} request(s) tried to leave 127.0.0.1, first: {leaving[0]}"


@pytest.fixture
def phone(browser: Any) -> Iterator[Phone]:
    context = browser.new_context(viewport={"width": 360, "height": 740}, device_scale_factor=2, is_mobile=True,
                                  has_touch=True, locale="zh-CN")
    yield Phone(context)
    context.close()


# ---- signed-in screens and axe, shared by the page tests ------------------------------------------

SIZES = {"tablet": (768, 1024), "phone": (360, 740), "desktop": (1366, 900)}


def new_screen(browser: Any, size: str = "tablet", **options: Any) -> Any:
    """A page in a new context sized as `size` (SIZES), in Chinese, without service workers unless
    `service_workers="allow"` is passed; `page.seen` lists every URL it asked for. Close it with
    `page.context.close()` (the `screens` fixture does)."""
    width, height = SIZES[size]
    options.setdefault("service_workers", "block")  # the producer app's offline worker: only where a test asks
    context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN", **options)
    seen: list[str] = []
    context.on("request", lambda r: seen.append(r.url))
    page = context.new_page()
    page.seen = seen
    return page


@pytest.fixture
def screens(browser: Any) -> Iterator[Any]:
    """screens(size="tablet", **context options) -> a new page of its own context, closed after the test."""
    made: list[Any] = []

    def screen(size: str = "tablet", **options: Any) -> Any:
        made.append(new_screen(browser, size, **options))
        return made[-1]

    yield screen
    for page in made:
        page.context.close()


def sign_in(page: Any, url: str, username: str, *, lands: str = "/producer/") -> None:
    """Log `username` in (the demo password) from a clean slate and wait for the page it lands on."""
    from farmtrace.demo import DEMO_PASSWORD

    page.goto("about:blank")  # the last page's own requests end here, before its cookies go
    page.context.clear_cookies()  # whoever was signed in before
    page.goto(f"{url}/login")
    page.fill("#username", username)
    page.fill("#password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}{lands}", wait_until="domcontentloaded")


def serious(page: Any) -> list[str]:
    """axe-core's serious and critical violations on the page (axe-playwright-python bundles axe: no CDN)."""
    axe = pytest.importorskip("axe_playwright_python.sync_playwright").Axe
    results = axe().run(page)
    return [f"{v['id']} ({v['impact']}): {v['help']}" for v in results.response["violations"]
            if v.get("impact") in ("serious", "critical")]

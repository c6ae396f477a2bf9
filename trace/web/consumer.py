"""The consumer's page after a scan: GS1 Digital Link and /p/{token}, no login (decisions: docs/consumer.md).

- `/01/{gtin}/10/{lot}` and `/p/{token}`: the lot's page, HTML cached with an ETag.
- `/01/{gtin}/10/{lot}/21/{serial}`: the same page for one bottle; the scan is counted and the
  serial's scan pattern judged (farmtrace.core.scans), so it is never served from a cache.
- `POST .../21/{serial}/opened`: the consumer's "I opened it"; later scans by other phones are
  flagged as a possible refill. No CSRF token: the action is anonymous and grants nothing.
- `/regulator/alerts`: serials whose scans look counterfeit (regulators and admins, logged in).
Unknown or malformed codes get the friendly 404 page, never a 500.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from typing import Any

from flask import Blueprint, abort, current_app, make_response, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_login import current_user, login_required

from farmtrace.core import scans
from farmtrace.core.consumer import ProductView, lot_state, page_state, product_view, resolve_digital_link, resolve_token
from farmtrace.core.errors import TooManyAttemptsError
from farmtrace.core.gs1 import ai_value
from farmtrace.core.ledger import Ledger
from farmtrace.core.log import log_verifier_key

from .auth import FailureCounter

bp = Blueprint("consumer", __name__)
DEVICE_COOKIE = "ft_device"


def ledger() -> Ledger:
    return current_app.extensions["ledger"]  # type: ignore[no-any-return]


def _lot(gtin: str, lot: str) -> str:
    batch_id = resolve_digital_link(ledger(), gtin, lot)
    if batch_id is None:
        abort(404, description=_unknown_code())
    return batch_id


def _unknown_code() -> str:
    from flask_babel import gettext
    return gettext("We could not find this code. Check that the label is intact, or ask the shop; "
                   "a code we never issued may be a counterfeit.")


class PageCache:
    """Lot views and rendered pages by page state (core.consumer.page_state), least recently used out.

    The state changes with any new event in the lineage or a recall, so a hit is the page as it
    would be rendered now. Entries also expire after `ttl` seconds, so that a database altered
    behind the app's back (which changes no state) shows in the server's verdict within that time;
    the phone's own check never trusts this cache.
    """

    def __init__(self, size: int = 2048, ttl: float = 30.0) -> None:
        self.size, self.ttl = size, ttl
        self._items: OrderedDict[tuple[str, ...], tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, ...]) -> Any:
        with self._lock:
            item = self._items.get(key)
            if item is None or item[0] < time.monotonic():
                return None
            self._items.move_to_end(key)
            return item[1]

    def put(self, key: tuple[str, ...], value: Any) -> None:
        with self._lock:
            self._items[key] = (time.monotonic() + self.ttl, value)
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)


def pages() -> PageCache:
    return current_app.extensions.setdefault("consumer_pages", PageCache())  # type: ignore[no-any-return]


def _state(batch_id: str) -> str:
    state = page_state(ledger(), batch_id)
    if state is None:
        abort(404, description=_unknown_code())
    return state


def _view(batch_id: str, state: str) -> ProductView:
    view = pages().get(("view", state))
    if view is None:
        view = product_view(ledger(), batch_id)
        if view is None:
            abort(404, description=_unknown_code())
        pages().put(("view", state), view)
    return view  # type: ignore[no-any-return]


def _render(view: ProductView, serial: str | None = None, verdict: scans.ScanVerdict | None = None) -> str:
    return render_template("public/product.html", view=view, serial=serial, verdict=verdict,
                           log_key=log_verifier_key(ledger()), flag_text=scans.FLAG_TEXT,
                           bundle_url=url_for("public.bundle", batch_id=view.batch.id))


def _lot_page(batch_id: str, state: str | None = None) -> Any:
    """A lot's page, revalidated by ETag; for anonymous visitors the rendered HTML is cached too
    (a logged-in header carries the user's name and a CSRF token, so that is never cached)."""
    started = time.perf_counter()
    state = state or _state(batch_id)
    lang = str(get_locale() or "zh_CN")
    key = ("html", state, lang)
    html = pages().get(key) if current_user.is_anonymous else None
    if html is None:
        html = _render(_view(batch_id, state))
        if current_user.is_anonymous:
            pages().put(key, html)
    response = make_response(html)
    response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
    response.set_etag(f"{state}-{lang}")
    response.headers["Cache-Control"] = "no-cache"  # revalidate every time: a recall must show at once
    response.headers["Vary"] = "Accept-Language, Cookie"
    return response.make_conditional(request)


@bp.get("/01/<gtin>/10/<lot>")
def digital_link(gtin: str, lot: str) -> Any:
    found = lot_state(ledger(), gtin, lot)
    if found is None:
        abort(404, description=_unknown_code())
    return _lot_page(*found)


@bp.get("/p/<token>")
def by_token(token: str) -> Any:
    batch_id = resolve_token(ledger(), token)
    if batch_id is None:
        abort(404, description=_unknown_code())
    return _lot_page(batch_id)


def _device() -> tuple[str, str | None]:
    """(the phone's anonymous id, a new cookie value to set or None)."""
    value = request.cookies.get(DEVICE_COOKIE, "")
    if 16 <= len(value) <= 64 and value.replace("-", "").replace("_", "").isalnum():
        return value, None
    fresh = secrets.token_urlsafe(16)
    return fresh, fresh


def _serial(serial: str) -> str:
    if ai_value(serial) is None:
        abort(404, description=_unknown_code())
    return serial


SCANS_PER_NETWORK = 120  # counted scans and "opened" marks per network per minute; past it, read only


def scan_limit() -> FailureCounter:
    """Scan writes per network, so a flood (a crawler, a script) cannot grow `scans` without bound."""
    return current_app.extensions.setdefault(  # type: ignore[no-any-return]
        "scan_limit", FailureCounter(limit=SCANS_PER_NETWORK, window=60.0))


def _scan(gtin: str, lot: str, serial: str, kind: str) -> tuple[str, scans.ScanVerdict, str | None]:
    """Count a scan (or an "opened" mark) from this phone; (batch, verdict, a new device cookie or None).

    Past SCANS_PER_NETWORK in a minute from one network, a scan is shown but not counted, and an
    "opened" mark is refused with 429."""
    batch_id, serial = _lot(gtin, lot), _serial(serial)
    device, new_cookie = _device()
    secret = current_app.config["SECRET_KEY"]
    place = scans.place_of(secret, request.remote_addr)
    limit = scan_limit()
    if limit.blocked(place):
        if kind == "opened":
            raise TooManyAttemptsError("too many marks from this network; try again in a minute", field="serial")
        return batch_id, scans.verdict(ledger(), batch_id, serial), new_cookie
    limit.fail(place)  # counts every write, not only failures
    verdict = scans.record_scan(ledger(), batch_id, serial, place=place,
                                client=scans.keyed(secret, "device", device), kind=kind)
    return batch_id, verdict, new_cookie


def _with_device(response: Any, new_cookie: str | None) -> Any:
    if new_cookie:
        response.set_cookie(DEVICE_COOKIE, new_cookie, max_age=2 * 365 * 86400, httponly=True, samesite="Lax")
    return response


@bp.get("/01/<gtin>/10/<lot>/21/<serial>")
def unit(gtin: str, lot: str, serial: str) -> Any:
    batch_id, verdict, new_cookie = _scan(gtin, lot, serial, "scan")
    response = make_response(_render(_view(batch_id, _state(batch_id)), serial=serial, verdict=verdict))
    response.headers["Cache-Control"] = "no-store"  # every scan counts
    return _with_device(response, new_cookie)


@bp.post("/01/<gtin>/10/<lot>/21/<serial>/opened")
def opened(gtin: str, lot: str, serial: str) -> Any:
    _, _, new_cookie = _scan(gtin, lot, serial, "opened")
    target = url_for("consumer.unit", gtin=gtin, lot=lot, serial=serial)
    return _with_device(redirect(target, code=303), new_cookie)


@bp.get("/batches/<batch_id>/label")
def label(batch_id: str) -> Any:
    """Where a lot's QR code points: its Digital Link if it was packed with a GTIN, else its /p/ token."""
    from .public import public_path
    with ledger().uow() as uow:
        if uow.batch(batch_id) is None:
            abort(404)
    return redirect(public_path(batch_id), code=302)


@bp.get("/regulator/alerts")
@login_required  # type: ignore[misc]
def alerts() -> Any:
    """Serials whose scan pattern looks counterfeit: the regulator's dashboard list."""
    if current_user.account.role not in ("regulator", "admin"):
        abort(403)
    return render_template("regulator/alerts.html", alerts=scans.alerts(ledger()), flag_text=scans.FLAG_TEXT)

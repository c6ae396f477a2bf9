"""The consumer's page after a scan: GS1 Digital Link and /p/{token}, no login (decisions: docs/consumer.md).

- `/01/{gtin}/10/{lot}` and `/p/{token}`: the lot's page, HTML cached with an ETag.
- `/01/{gtin}/10/{lot}/21/{serial}` (and `/01/{gtin}/21/{serial}`, the lot found by its
  commissioned serial ranges): the same page for one bottle; the scan is counted and the
  serial's scan pattern judged (farmtrace.services.scans), so it is never served from a cache.
- `POST .../21/{serial}/opened` with `code`: the consumer's "I opened it", recorded only with the
  code under the bottle's cap (farmtrace.services.cap_codes); later scans by other phones are flagged
  as a possible refill. A wrong or missing code marks nothing, is said beside the field (422), and
  counts towards the network's write cap. No CSRF token: without the code a forged post does nothing.
- Lots and serials are percent-encoded in links (GS1 Digital Link; `core.gs1`), and read from the
  path as the client sent it (RAW_URI / REQUEST_URI, set by gunicorn and werkzeug), because a
  server has already decoded `%2F` to `/` in PATH_INFO. Query parameters are ignored.
- `/regulator/alerts`: serials whose scans look counterfeit (regulators and admins, logged in).
Unknown or malformed codes get the friendly 404 page, never a 500.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from typing import Any
from urllib.parse import quote, unquote_to_bytes, urlsplit

from flask import Blueprint, abort, current_app, make_response, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_login import current_user, login_required

from farmtrace.services import scans
from farmtrace.services.consumer import (ProductView, lot_state, page_state, product_view, resolve_digital_link,
                                     resolve_serial, resolve_token)
from farmtrace.ledger.errors import InvalidRequestError, TooManyAttemptsError
from farmtrace.rules.gs1 import DigitalLink, digital_link_path, parse_digital_link
from farmtrace.services.ledger import Ledger
from farmtrace.services.log import log_verifier_key

from farmtrace.web.auth import FailureCounter
from farmtrace.web.errors import status_of
from farmtrace.web.footprint import shown as footprint_shown
from farmtrace.web.public.links import public_path

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


def _render(view: ProductView, serial: str | None = None, verdict: scans.ScanVerdict | None = None,
            **extra: Any) -> str:
    lang = "en" if str(get_locale() or "zh").startswith("en") else "zh"
    carbon = footprint_shown(view.footprint, lang) if view.footprint is not None else None
    return render_template("public/product.html", view=view, serial=serial, verdict=verdict, footprint_shown=carbon,
                           log_key=log_verifier_key(ledger()), flag_text=scans.FLAG_TEXT,
                           bundle_url=url_for("public.bundle", batch_id=view.batch.id), **extra)


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


OPENED = "opened"


def _raw_path() -> str:
    """The app-relative request path with its percent-escapes as the client sent them.

    Taken from RAW_URI / REQUEST_URI when that decodes to the PATH_INFO this request was routed
    by (so it is the same request, not a forged header); else the decoded path re-escaped, in which
    a lot holding `/` cannot be told apart (a server that keeps no raw URI: a 404, never a wrong lot)."""
    env = request.environ
    script, decoded = str(env.get("SCRIPT_NAME", "")), str(env.get("SCRIPT_NAME", "")) + str(env.get("PATH_INFO", ""))
    raw = str(env.get("RAW_URI") or env.get("REQUEST_URI") or "").split("?", 1)[0].split("#", 1)[0]
    if raw and not raw.startswith("/"):
        raw = urlsplit(raw).path  # absolute-form request target
    try:
        same = bool(raw) and unquote_to_bytes(raw.encode("latin-1")) == decoded.encode("latin-1")
    except UnicodeEncodeError:
        same = False
    if not same:
        return quote(request.path, safe="/")
    skip = len(script.rstrip("/").split("/")) - 1 if script.strip("/") else 0
    return "/" + "/".join(raw.split("/")[1 + skip:])


def _link() -> DigitalLink:
    link = parse_digital_link(_raw_path(), actions=(OPENED,))
    if link is None:
        abort(404, description=_unknown_code())
    return link


def _batch_of(link: DigitalLink) -> str:
    """The lot a link names: by GTIN + lot, or (`/01/{gtin}/21/{serial}`) by GTIN + commissioned serial."""
    if link.lot is not None:
        return _lot(link.gtin, link.lot)
    batch_id = resolve_serial(ledger(), link.gtin, link.serial or "")
    if batch_id is None:
        abort(404, description=_unknown_code())
    return batch_id


@bp.get("/01/<path:_rest>", merge_slashes=False)
def digital_link(_rest: str) -> Any:
    """A GS1 Digital Link: a lot's page, or one bottle's (the scan is counted)."""
    link = _link()
    if link.action is not None:
        abort(405, valid_methods=["POST"])
    if link.serial is not None:
        return unit(link)
    if link.lot is None:
        abort(404, description=_unknown_code())
    found = lot_state(ledger(), link.gtin, link.lot)
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


SCANS_PER_NETWORK = 120  # counted scans and "opened" attempts per network per minute; past it, read only


def scan_limit() -> FailureCounter:
    """Scan writes per network, so a flood (a crawler, a script) cannot grow `scans` without bound."""
    return current_app.extensions.setdefault(  # type: ignore[no-any-return]
        "scan_limit", FailureCounter(limit=SCANS_PER_NETWORK, window=60.0))


def _phone() -> tuple[str, str, str | None]:
    """(the network's keyed place, the phone's keyed id, a new device cookie to set or None)."""
    device, new_cookie = _device()
    secret = current_app.config["SECRET_KEY"]
    return scans.place_of(secret, request.remote_addr), scans.keyed(secret, "device", device), new_cookie


def _with_device(response: Any, new_cookie: str | None) -> Any:
    if new_cookie:
        response.set_cookie(DEVICE_COOKIE, new_cookie, max_age=2 * 365 * 86400, httponly=True, samesite="Lax")
    return response


def _unit_page(batch_id: str, link: DigitalLink, verdict: scans.ScanVerdict, *, error: str | None = None,
               typed: str = "") -> Any:
    serial = link.serial or ""
    view = _view(batch_id, _state(batch_id))
    action = digital_link_path(view.gtin or link.gtin, view.batch.lot, serial) + "/" + OPENED
    response = make_response(_render(view, serial, verdict, opened_action=request.script_root + action,
                                     code_error=error, typed_code=typed))
    response.headers["Cache-Control"] = "no-store"  # every scan counts
    return response


def unit(link: DigitalLink) -> Any:
    """One bottle: count this phone's scan (past SCANS_PER_NETWORK a minute from its network, show
    the page without counting) and judge the serial's scans."""
    batch_id = _batch_of(link)
    serial = link.serial
    if serial is None:
        abort(404, description=_unknown_code())
    place, client, new_cookie = _phone()
    limit = scan_limit()
    if limit.blocked(place):
        verdict = scans.verdict(ledger(), batch_id, serial)
    else:
        limit.fail(place)  # counts every write, not only failures
        verdict = scans.record_scan(ledger(), batch_id, serial, place=place, client=client)
    return _with_device(_unit_page(batch_id, link, verdict), new_cookie)


@bp.post("/01/<path:_rest>", merge_slashes=False)
def opened(_rest: str) -> Any:
    """ "I opened this bottle", with the code under its cap: right, it is recorded (303 to the bottle's
    page); wrong or missing, nothing is written and the page says so beside the field. Every
    attempt counts towards the network's write cap; past it, 429."""
    link = _link()
    if link.action != OPENED or link.serial is None:
        abort(404, description=_unknown_code())
    batch_id, serial = _batch_of(link), link.serial
    place, client, new_cookie = _phone()
    typed = request.form.get("code", "")[:64]
    limit = scan_limit()
    try:
        if limit.blocked(place):
            raise TooManyAttemptsError("too many marks from this network; try again in a minute", field="code")
        limit.fail(place)  # right or wrong, an attempt is a write or a guess
        scans.mark_opened(ledger(), batch_id, serial, typed, place=place, client=client)
    except (InvalidRequestError, TooManyAttemptsError) as err:
        kind = "rate_limited" if isinstance(err, TooManyAttemptsError) else ("missing" if not typed.strip() else "wrong")
        page = _unit_page(batch_id, link, scans.verdict(ledger(), batch_id, serial), error=kind, typed=typed)
        page.status_code = status_of(err)
        if isinstance(err, TooManyAttemptsError):
            page.headers["Retry-After"] = "60"
        return _with_device(page, new_cookie)
    target = request.script_root + digital_link_path(link.gtin, link.lot, serial)
    return _with_device(redirect(target, code=303), new_cookie)


@bp.get("/batches/<batch_id>/label")
def label(batch_id: str) -> Any:
    """Where a lot's QR code points: its Digital Link if it was packed with a GTIN, else its /p/ token."""
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

"""Labels for a lot: QR codes and a print-ready A4 sheet (issue "The producer app").

Rules:
1. Only the org that holds the lot, or created it (`origin_org`), may print its labels or fetch
   its QR codes; any other org gets a 403. An unknown lot is a 404.
2. A lot's QR code encodes the lot's public link, `public_path` (its GS1 Digital Link if it was
   packed with a GTIN, else its /p/ token) under the configured base URL, as the certificate's does.
3. A serialised lot (`commissioned` serial ranges, and a GTIN to link them by) gets one label per
   serial, LABELS_PER_SHEET a sheet (`?page=N`); each QR code encodes that serial's Digital Link
   `/01/{gtin}/21/{serial}`. A serial the lot's ranges do not hold (or one an earlier lot with the
   same GTIN commissioned, which its Digital Link would open instead) is a 404, as is a page the
   sheet does not have.
4. Any other lot gets one A4 page of identical labels (LABELS_PER_A4).
5. Every QR code keeps the 4-module quiet zone (ISO/IEC 18004) of `links.qr_data_uri`.
6. Under-cap labels (`cap-labels`): the lot's HOLDER only (not the org that made it and shipped it
   on: the holder is who `cap_codes.issue_cap_codes` lets issue them), and a GTIN-linked serialised
   lot only. A GET shows how many serials still lack a code; only a POST (CSRF-checked) issues up to
   LABELS_PER_SHEET codes and shows them, once, on a sheet sent `Cache-Control: no-store`. Issuing is
   NOT idempotent: the clear codes exist only in that answer (only their HMAC is stored), so a
   second POST issues the next serials' codes, and once every serial has one it is refused (409).
   Each label's QR code is the bottle's own Digital Link (the outside label's): the consumer page
   reads the code from its form, never from the URL, so the code is printed as text beside it.
7. 合格证 labels (`certificate-label`): lots of the families `services.labels` names, same access as
   rule 1; the QR code opens the lot's public certificate page (`public.certificate`); one A4 page.
8. `scan?link=PATH`: where a scanned label leads on the producer app. The lot's page if our org
   holds or made it, else the home search for its lot code; a path that names no lot is a 404.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote
from zoneinfo import ZoneInfo

import qrcode
from flask import Response, abort, current_app, make_response, redirect, render_template, request, url_for

from farmtrace.ledger.errors import ChainConflictError
from farmtrace.rules.gs1 import SerialRange, digital_link_path, parse_digital_link, serial_ranges
from farmtrace.services import labels as label_data
from farmtrace.services import producer
from farmtrace.services.cap_codes import issue_cap_codes
from farmtrace.services.consumer import gtin_of, resolve_digital_link, resolve_serial, resolve_token
from farmtrace.services.event_times import instant
from farmtrace.web.producer.blueprint import actor, bp, ledger
from farmtrace.web.public.links import QUIET_ZONE, public_path, qr_data_uri

LABELS_PER_SHEET = 500  # serial labels on one sheet; more are on `?page=2`, ...
LABELS_PER_A4 = 21  # 3 columns x 7 rows of 64 x 39 mm (templates/producer/labels.html)
CERTIFICATES_PER_A4 = 8  # 2 columns x 4 rows of 97 x 68 mm (templates/producer/_label_certificate.html)
SCANNED_PATH = re.compile(r"^/(?:p/(?P<token>[A-Za-z0-9_-]{8,32})|batches/(?P<batch>[^/?#]{1,200}?)(?:/certificate|/label)?)/?$")
PAGE_NUMBER = re.compile(r"^[1-9][0-9]{0,6}$")
SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class Lot:
    """What every label of a lot shows, and what its serial labels are made from."""

    id: str
    product: str
    lot: str
    date: str  # the lot's first event's date in Asia/Shanghai
    holder: str
    gtin: str | None
    ranges: list[SerialRange]
    holder_org: str = ""
    family: str = ""

    @property
    def serial_count(self) -> int:
        return sum(last - first + 1 for _prefix, first, last, _width in self.ranges)


@dataclass(frozen=True)
class Label:
    serial: str | None
    link: str  # what the QR code encodes


def _lot(batch_id: str) -> Lot:
    """The lot, if the signed-in org holds or created it (404 if there is no such lot, else 403)."""
    with ledger().uow() as uow:
        batch = uow.batch(batch_id)
        if batch is None:
            abort(404)
        if actor().org not in (batch.org_id, batch.origin_org):
            abort(403)
        events = uow.events_of_batch(batch_id)
        holder = uow.org(batch.org_id)
        product, lot, holder_name = batch.product, batch.lot, holder.name if holder is not None else batch.org_id
        holder_org, family = batch.org_id, batch.family
        date = instant(events[0].at).astimezone(SHANGHAI).date().isoformat() if events else ""
        ranges = serial_ranges(e.canonical for e in events if e.type == "commissioned")
    link = gtin_of(ledger(), batch_id)
    return Lot(batch_id, product, lot, date, holder_name, None if link is None else link[0], ranges, holder_org,
               family)


def _base_url() -> str:
    return str(current_app.config["FARMTRACE"].base_url)


def _serials(ranges: list[SerialRange], start: int, count: int) -> Iterator[str]:
    """The serials numbered start .. start+count-1 (from 0) across `ranges`, in order, without listing the rest."""
    for prefix, first, last, width in ranges:
        size = last - first + 1
        if start >= size:
            start -= size
            continue
        for n in range(first + start, last + 1):
            if count <= 0:
                return
            yield f"{prefix}{n:0{width}d}"
            count -= 1
        start = 0


def _png(text: str) -> Response:
    image = qrcode.make(text, box_size=6, border=QUIET_ZONE)
    out = io.BytesIO()
    image.save(out, format="PNG")
    response = Response(out.getvalue(), mimetype="image/png")
    response.headers["Cache-Control"] = "private, max-age=3600"  # the same code for as long as the lot is
    return response


@bp.get("/batches/<batch_id>/qr.png")
def lot_qr(batch_id: str) -> Any:
    """The lot's QR code: its public link."""
    _lot(batch_id)
    return _png(_base_url() + public_path(batch_id))


@bp.get("/batches/<batch_id>/serials/<path:serial>/qr.png")
def serial_qr(batch_id: str, serial: str) -> Any:
    """One serialised unit's QR code: its GS1 Digital Link."""
    lot = _lot(batch_id)
    if lot.gtin is None or resolve_serial(ledger(), lot.gtin, serial) != batch_id:
        abort(404)
    return _png(_base_url() + digital_link_path(lot.gtin, serial=serial))


@bp.get("/batches/<batch_id>/labels")
def labels(batch_id: str) -> Any:
    """A print-ready A4 sheet of the lot's labels: one per serial, or one page of the lot's own."""
    lot = _lot(batch_id)
    number = request.args.get("page", "1")
    page = int(number) if PAGE_NUMBER.match(number) else 0
    serialised = lot.gtin is not None and lot.serial_count > 0
    pages = max(1, -(-lot.serial_count // LABELS_PER_SHEET)) if serialised else 1
    if not 1 <= page <= pages:
        abort(404)
    if serialised:
        assert lot.gtin is not None
        gtin, base = lot.gtin, _base_url()
        sheet = [Label(s, base + digital_link_path(gtin, serial=s))
                 for s in _serials(lot.ranges, (page - 1) * LABELS_PER_SHEET, LABELS_PER_SHEET)]
    else:
        sheet = [Label(None, _base_url() + public_path(batch_id))] * LABELS_PER_A4
    return render_template("producer/labels.html", kind="lot", lot=lot, labels=sheet, page=page, pages=pages,
                           total=lot.serial_count if serialised else len(sheet),
                           unlinked_serials=lot.serial_count > 0 and not serialised, **_other_sheets(lot))


def _other_sheets(lot: Lot) -> dict[str, bool]:
    """Which of the lot's other sheets the signed-in org may print (links on the sheet's tools)."""
    return {"has_cap_labels": lot.gtin is not None and lot.serial_count > 0 and actor().org == lot.holder_org,
            "has_certificate": label_data.has_certificate(lot.family)}


@dataclass(frozen=True)
class CapLabel:
    serial: str
    code: str  # as printed, XXXXX-XXXXX; on this one answer only


def _held(batch_id: str) -> Lot:
    """The lot, if the signed-in org holds it (404 if there is no such lot, else 403)."""
    lot = _lot(batch_id)
    if actor().org != lot.holder_org:
        abort(403)
    return lot


def _cap_page(lot: Lot, codes: list[CapLabel] | None = None, *, refused: bool = False, status: int = 200) -> Any:
    state = label_data.cap_code_state(ledger(), lot.id)
    response = make_response(render_template(
        "producer/labels.html", kind="cap", lot=lot, labels=codes or [], state=state, refused=refused,
        linked=lot.gtin is not None and lot.serial_count > 0, per_sheet=LABELS_PER_SHEET, **_other_sheets(lot)),
        status)
    response.headers["Cache-Control"] = "no-store"  # the codes are shown once; no copy in any cache
    return response


@bp.route("/batches/<batch_id>/cap-labels", methods=["GET", "POST"])
def cap_labels(batch_id: str) -> Any:
    """Under-cap labels: GET says what is left to issue; POST issues the next sheet's codes and shows them once."""
    lot = _held(batch_id)
    if request.method == "GET":
        return _cap_page(lot)
    if lot.gtin is None or lot.serial_count == 0:
        return _cap_page(lot, status=409)
    try:
        issue = issue_cap_codes(ledger(), batch_id, actor=actor(), limit=LABELS_PER_SHEET)
    except ChainConflictError:
        return _cap_page(lot, refused=True, status=409)
    return _cap_page(lot, [CapLabel(c.serial, c.code) for c in issue.codes])


@bp.get("/batches/<batch_id>/certificate-label")
def certificate_label(batch_id: str) -> Any:
    """An A4 page of the lot's 承诺达标合格证 labels, each with a QR code to the certificate's public page."""
    lot = _lot(batch_id)
    if not label_data.has_certificate(lot.family):
        abort(404)
    label = label_data.certificate_label(ledger(), batch_id)
    url = _base_url() + url_for("public.certificate", batch_id=batch_id)
    return render_template("producer/labels.html", kind="certificate", lot=lot, label=label, url=url,
                           qr=qr_data_uri(url), labels=[label] * CERTIFICATES_PER_A4 if label.certificate.issued else [],
                           **_other_sheets(lot))


@bp.get("/scan")
def open_scanned() -> Any:
    """Where a scanned label leads: the lot's page if our org holds or made it, else the search for its lot code."""
    path = request.args.get("link", "")[:1000].split("?", 1)[0].split("#", 1)[0]
    batch_id = _scanned_batch(path)
    if batch_id is None:
        abort(404)
    batch = producer.lot_of(ledger(), batch_id)
    if batch is None:
        abort(404)
    if actor().org in (batch.org_id, batch.origin_org):
        return redirect(url_for("producer.lot", batch_id=batch_id), 303)
    return redirect(url_for("producer.home", q=batch.lot), 303)


def _scanned_batch(path: str) -> str | None:
    """The batch a label's URL path names: a Digital Link, a /p/ token, or a /batches/ID page."""
    link = parse_digital_link(path)
    if link is not None:
        if link.lot is not None:
            return resolve_digital_link(ledger(), link.gtin, link.lot)
        return resolve_serial(ledger(), link.gtin, link.serial) if link.serial else None
    match = SCANNED_PATH.match(path)
    if match is None:
        return None
    if match["token"]:
        return resolve_token(ledger(), match["token"])
    return unquote(match["batch"])

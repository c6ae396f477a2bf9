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
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import qrcode
from flask import Response, abort, current_app, render_template, request

from farmtrace.rules.gs1 import SerialRange, digital_link_path, serial_ranges
from farmtrace.services.consumer import gtin_of, resolve_serial
from farmtrace.services.event_times import instant
from farmtrace.web.producer.blueprint import actor, bp, ledger
from farmtrace.web.public.links import QUIET_ZONE, public_path

LABELS_PER_SHEET = 500  # serial labels on one sheet; more are on `?page=2`, ...
LABELS_PER_A4 = 21  # 3 columns x 7 rows of 64 x 39 mm (templates/producer/labels.html)
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
        date = instant(events[0].at).astimezone(SHANGHAI).date().isoformat() if events else ""
        ranges = serial_ranges(e.canonical for e in events if e.type == "commissioned")
    link = gtin_of(ledger(), batch_id)
    return Lot(batch_id, product, lot, date, holder_name, None if link is None else link[0], ranges)


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
    return render_template("producer/labels.html", lot=lot, labels=sheet, page=page, pages=pages,
                           total=lot.serial_count if serialised else len(sheet),
                           unlinked_serials=lot.serial_count > 0 and not serialised)

"""Where a lot's QR code points, and the QR code itself as an inline PNG."""

from __future__ import annotations

import base64
import io

import qrcode
from flask import current_app, request, url_for

from farmtrace.rules.gs1 import digital_link_path
from farmtrace.services.consumer import gtin_of, public_token
from farmtrace.services.ledger import Ledger


def _ledger() -> Ledger:
    return current_app.extensions["ledger"]  # type: ignore[no-any-return]


def public_path(batch_id: str) -> str:
    """What a lot's QR code encodes: its GS1 Digital Link if it was packed with a GTIN, else its /p/ token."""
    link = gtin_of(_ledger(), batch_id)
    if link is not None:
        return request.script_root + digital_link_path(link[0], link[1])  # lot percent-encoded (GS1 DL)
    return url_for("consumer.by_token", token=public_token(_ledger(), batch_id))


QUIET_ZONE = 4  # modules of white around the symbol (ISO/IEC 18004)


def qr_data_uri(text: str) -> str:
    """A QR code as a PNG data URI (served inline: no file, no external service), with the 4-module
    quiet zone ISO/IEC 18004 requires (a narrower margin fails on cheap phone cameras)."""
    image = qrcode.make(text, box_size=6, border=QUIET_ZONE)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode("ascii")

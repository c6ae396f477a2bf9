"""Public pages: the home page and a batch's journey with its verification (no login)."""

from __future__ import annotations

import base64
import io
import json
from typing import Any

import qrcode
from flask import Blueprint, Response, abort, current_app, render_template, request, url_for

from farmtrace.core.certificate import certificate_for
from farmtrace.core.consumer import gtin_of, page_state, public_token
from farmtrace.core.exports.bundle import make_bundle
from farmtrace.core.ledger import Ledger
from farmtrace.core.verify import verify_batch

from .consumer import pages

bp = Blueprint("public", __name__)


def ledger() -> Ledger:
    return current_app.extensions["ledger"]  # type: ignore[no-any-return]


@bp.get("/")
def index() -> Any:
    """Recent batches and the state of the log."""
    with ledger().uow() as uow:
        batches = uow.batches(limit=50)
        orgs = {o.id: o for o in uow.orgs()}
        size = uow.log_size()
        latest = uow.latest_checkpoint()
    return render_template("public/index.html", batches=batches, orgs=orgs, size=size, checkpoint=latest)


@bp.get("/batches/<batch_id>")
def batch(batch_id: str) -> Any:
    """One batch: product, holder, each step with date, place and whether it verifies, findings, recall."""
    with ledger().uow() as uow:
        row = uow.batch(batch_id)
        if row is None:
            abort(404)
        checks = verify_batch(uow, batch_id)
        orgs = {o.id: o for o in uow.orgs()}
        findings: dict[str, list[Any]] = {}
        for finding in uow.findings_of_batch(batch_id):
            findings.setdefault(finding.event_hash, []).append(finding)
        recall = uow.recall_of(batch_id)
    corrected = {str(c.data.get("amends")): c for c in checks if c.type == "correct"}
    return render_template("public/batch.html", batch=row, checks=checks, orgs=orgs, findings=findings,
                           corrected=corrected, recall=recall, verified=all(c.ok for c in checks))


@bp.get("/batches/<batch_id>/bundle.json")
def bundle(batch_id: str) -> Any:
    """The lot's offline bundle (docs/bundle.md): what a phone or `scripts/verify-offline` checks alone.

    Building one costs an inclusion proof per event, so it is cached with the lot's page, by its
    lineage state (a bundle proven against an older checkpoint stays valid: the log only grows),
    and revalidated by ETag.
    """
    state = page_state(ledger(), batch_id)
    if state is None:
        abort(404)
    body = pages().get(("bundle", state))
    if body is None:
        body = json.dumps(make_bundle(ledger(), batch_id), ensure_ascii=False, separators=(",", ":"))
        pages().put(("bundle", state), body)
    response = Response(body, mimetype="application/json")
    response.set_etag(state)
    response.headers["Cache-Control"] = "no-cache"
    return response.make_conditional(request)


@bp.get("/batches/<batch_id>/certificate")
def certificate(batch_id: str) -> Any:
    """The lot's 承诺达标合格证, generated from its signed events, with a QR code to this record."""
    cert = certificate_for(ledger(), batch_id)
    url = f"{current_app.config['FARMTRACE'].base_url}{public_path(batch_id)}"
    return render_template("public/certificate.html", cert=cert, qr=qr_data_uri(url), url=url)


def public_path(batch_id: str) -> str:
    """What a lot's QR code encodes: its GS1 Digital Link if it was packed with a GTIN, else its /p/ token."""
    link = gtin_of(ledger(), batch_id)
    if link is not None:
        return url_for("consumer.digital_link", gtin=link[0], lot=link[1])
    return url_for("consumer.by_token", token=public_token(ledger(), batch_id))


def qr_data_uri(text: str) -> str:
    """A QR code as a PNG data URI (served inline: no file, no external service)."""
    image = qrcode.make(text, box_size=6, border=2)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode("ascii")

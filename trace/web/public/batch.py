"""Public pages: the home page and a batch's journey with its verification (no login).

A batch page shows its chain STEPS_PER_PAGE steps a page, oldest first (`?page=N`), as a chain is
read from the step that started it; the verdict at the top is the whole chain's. The verified view
is cached by the lot's page state (lineage heads, recall, day) in the consumer page's cache, the
rendered page too for anonymous visitors, and revalidated by ETag: a visit verifies no signature
until the chain changes (or the cache's 30 s expire). A page number that is not one of the
chain's pages is a 404.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, abort, current_app, make_response, render_template, request
from flask_babel import get_locale, gettext
from flask_login import current_user

from farmtrace.services.certificate import certificate_of
from farmtrace.services.consumer import page_state
from farmtrace.services.exports.bundle import make_bundle
from farmtrace.services.ledger import Ledger
from farmtrace.services.verify import verify_batch

from farmtrace.web.public.consumer import pages
from farmtrace.web.public.links import public_path, qr_data_uri

bp = Blueprint("public", __name__)
STEPS_PER_PAGE = 100  # a batch page shows its chain this many steps at a time, oldest first
PAGE_NUMBER = re.compile(r"^[1-9][0-9]{0,6}$")


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


@dataclass(frozen=True)
class BatchView:
    """What a batch page shows, every step verified: built once per batch state and cached (`pages()`)."""

    batch: Any
    checks: list[Any]
    orgs: dict[str, Any]
    findings: dict[str, list[Any]]
    corrected: dict[str, Any]
    recall: str | None
    failed: int | None  # index of the first step that does not verify, if any

    @property
    def page_count(self) -> int:
        return max(1, -(-len(self.checks) // STEPS_PER_PAGE))


def batch_view(batch_id: str) -> BatchView | None:
    """Read and verify the whole chain of `batch_id` (every signature): what the cache saves."""
    with ledger().uow() as uow:
        row = uow.batch(batch_id)
        if row is None:
            return None
        checks = verify_batch(uow, batch_id)
        orgs = {o.id: o for o in uow.orgs()}
        findings: dict[str, list[Any]] = {}
        for finding in uow.findings_of_batch(batch_id):
            findings.setdefault(finding.event_hash, []).append(finding)
        recall = uow.recall_of(batch_id)
    corrected = {str(c.data.get("amends")): c for c in checks if c.type == "correct"}
    failed = next((i for i, c in enumerate(checks) if not c.ok), None)
    return BatchView(row, checks, orgs, findings, corrected, recall, failed)


@bp.get("/batches/<batch_id>")
def batch(batch_id: str) -> Any:
    """One batch: product, holder, each step with date, place and whether it verifies, findings, recall."""
    state = page_state(ledger(), batch_id)
    if state is None:
        abort(404)
    number = request.args.get("page", "1")
    page = int(number) if PAGE_NUMBER.match(number) else 0
    lang = str(get_locale() or "zh_CN")
    key = ("batch-html", state, lang, str(page))
    html = pages().get(key) if current_user.is_anonymous else None
    if html is None:
        view = pages().get(("batch-view", state))
        if view is None:
            view = batch_view(batch_id)
            if view is None:
                abort(404)
            pages().put(("batch-view", state), view)
        if not 1 <= page <= view.page_count:
            abort(404, description=gettext("This batch's record has no page %(page)s: it has %(count)s.",
                                           page=number[:12], count=view.page_count))
        first = (page - 1) * STEPS_PER_PAGE
        html = render_template("public/batch.html", view=view, batch=view.batch, orgs=view.orgs,
                               checks=view.checks[first:first + STEPS_PER_PAGE], first=first, page=page,
                               findings=view.findings, corrected=view.corrected, recall=view.recall,
                               verified=view.failed is None, steps_per_page=STEPS_PER_PAGE)
        if current_user.is_anonymous:
            pages().put(key, html)
    response = make_response(html)
    response.set_etag(f"{state}-{lang}-{page}")
    response.headers["Cache-Control"] = "no-cache"  # revalidate every time: a recall must show at once
    response.headers["Vary"] = "Accept-Language, Cookie"
    return response.make_conditional(request)


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
    """The lot's 承诺达标合格证 as issued (its `certificate_issued` event), any recall, and a QR code to this record."""
    cert = certificate_of(ledger(), batch_id)
    url = f"{current_app.config['FARMTRACE'].base_url}{public_path(batch_id)}"
    return render_template("public/certificate.html", cert=cert, qr=qr_data_uri(url), url=url)

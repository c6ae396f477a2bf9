"""Signed on the tablet, and kept on it without signal (issue "The producer app").

- `/producer/device`: this tablet's key (made in the browser by static/device.js: WebCrypto Ed25519,
  non-extractable, kept in IndexedDB) and the org's device keys; an admin of the org registers the
  tablet here (a `key_added` entry written by the operator's log key: services/devices.py).
- `/producer/sync`: where the tablet sends what it recorded, online at once or later from its
  queue: one group of items (one step, or a transformation's consume and transform events), each
  pre-signed `{"body", "signature"}` by the device key, or a draft the server signs for the org when
  the tablet has no registered key. A resent event id with the same content answers 200, so a retry
  after a lost answer never records twice; a refusal is JSON `{"error": {code, message, field}}`.
- `/producer/queue`: what waits on this tablet (drawn by device.js from IndexedDB).
- `/producer/sw.js`: the service worker (static/sw.js) served from here so that its scope is /producer/.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, jsonify, render_template, request, send_from_directory
from flask_babel import get_locale
from flask_login import current_user
from werkzeug.wrappers import Response

from farmtrace.ledger.errors import FarmtraceError, InvalidRequestError, NotFoundError, PermissionDeniedError, Said
from farmtrace.services import devices, lineage, producer
from farmtrace.services.append import is_signed_submission
from farmtrace.web.errors import error_body, status_of
from farmtrace.rules.declare import DECLARATIONS, kdes_of
from farmtrace.web.producer.blueprint import actor, bp, ledger
from farmtrace.web.producer.forms import FIELD_PATH, friendly

MAX_GROUP = 50  # items in one synced group: a transformation's consumes and outputs


def _refusal(err: FarmtraceError, items: Any = None) -> tuple[Response, int]:
    """The JSON error, its message worded as the form would word it (the field by its label, in Chinese
    on Chinese pages): the tablet puts it beside the field that `field` names."""
    lang = "en" if str(get_locale() or "zh").startswith("en") else "zh_CN"
    kde = None
    match = FIELD_PATH.match(err.field or "")
    body = _body_of(items[0]) if isinstance(items, list) and len(items) == 1 else None
    if match and body is not None:
        family = body["data"].get("family") if isinstance(body.get("data"), dict) else None
        row = producer.lot_of(ledger(), str(body.get("batch"))) if isinstance(body.get("batch"), str) else None
        family = row.family if row is not None else family
        if body.get("type") in DECLARATIONS and isinstance(family, str):
            kde = next((k for k in kdes_of(str(body["type"]), family) if k.name == match.group(1)), None)
    return jsonify(error_body(err.code, friendly(err, kde, lang), err.field)), status_of(err)


def _body_of(item: Any) -> dict[str, Any] | None:
    body = item.get("body") if is_signed_submission(item) else item
    return body if isinstance(body, dict) else None


def _json_object() -> dict[str, Any]:
    raw = request.get_json(silent=True)
    if not isinstance(raw, dict):
        raise InvalidRequestError(Said("send a JSON object", "请发送 JSON 对象"))
    return raw


@bp.get("/device")
def device() -> Any:
    """This tablet's key and the org's device keys; registration for an admin of the org."""
    return render_template("producer/device.html", keys=devices.device_keys(ledger(), actor().org),
                           is_admin=current_user.account.role == "admin")


@bp.get("/device/keys.json")
def device_keys() -> Any:
    """The org's device keys (id -> label, revoked): how a tablet learns whether its key is registered."""
    keys = devices.device_keys(ledger(), actor().org)
    response = jsonify({"org": actor().org, "keys": {
        k.id: {"label": k.label, "revoked": k.is_revoked, "added_seq": k.added_seq} for k in keys}})
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/device/register")
def register_device() -> Any:
    """Register this tablet's public key for the org (an admin of the org only)."""
    try:
        raw = _json_object()
        if current_user.account.role != "admin":
            raise PermissionDeniedError(Said("only an admin of the org registers a tablet",
                                             "只有本机构的管理员可以登记平板"))
        made = devices.register_device_key(ledger(), actor().org, raw.get("public_key"), raw.get("label"),
                                           by_user=actor().user)
    except FarmtraceError as err:
        return _refusal(err)
    return jsonify({"key_id": made.id, "label": made.label, "added_seq": made.added_seq}), 201


@bp.post("/sync")
def sync() -> Any:
    """Record one group sent by the tablet: 201 when written now, 200 when it was written before."""
    items: Any = None
    try:
        raw = _json_object()
        items = raw.get("items")
        if not isinstance(items, list) or not 1 <= len(items) <= MAX_GROUP or \
                not all(isinstance(i, dict) for i in items):
            raise InvalidRequestError(Said(f"items: a list of 1 to {MAX_GROUP} events",
                                           f"items 须为 1 至 {MAX_GROUP} 条记录的列表"), field="items")
        if len(items) == 1:
            item = items[0]
            made = [ledger().append_signed(item.get("body"), item.get("signature"), actor=actor())
                    if is_signed_submission(item) else ledger().append(item, actor=actor())]
        elif any(_type_of(i) == "transform" for i in items):
            made = lineage.transform_signed(ledger(), items, actor=actor())
        else:
            made = ledger().append_many(items, actor=actor())
    except FarmtraceError as err:
        return _refusal(err, items)
    return jsonify({"items": [{"id": m.body.id, "batch": m.body.batch, "hash": m.hash, "seq": m.seq,
                               "key": m.key, "created": m.created} for m in made]}), \
        201 if any(m.created for m in made) else 200


def _type_of(item: dict[str, Any]) -> Any:
    body = _body_of(item)
    return body.get("type") if body is not None else None


@bp.get("/batches/<batch_id>/head.json")
def head(batch_id: str) -> Any:
    """A lot's chain head now: what a tablet re-signs on after someone else recorded first."""
    row = producer.lot_of(ledger(), batch_id)
    if row is None:
        return _refusal(NotFoundError(Said(f"no lot {batch_id}", f"没有批次 {batch_id}"), field="batch"))
    if row.org_id != actor().org:
        return _refusal(PermissionDeniedError(Said("this lot is not held by your org", "该批次不在本机构")))
    steps = producer.chain(ledger(), batch_id)
    response = jsonify({"batch": row.id, "head": row.head, "at": steps[-1].at if steps else None, "status": row.status})
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/queue")
def queue() -> Any:
    """What this tablet holds for sending: drawn from IndexedDB by device.js."""
    return render_template("producer/queue.html")


@bp.get("/sw.js")
def service_worker() -> Response:
    """The service worker, from /producer/ so that it controls the producer app's pages."""
    response = send_from_directory(current_app.static_folder or "static", "sw.js", mimetype="text/javascript",
                                   max_age=0)
    response.headers["Cache-Control"] = "no-cache"
    return response

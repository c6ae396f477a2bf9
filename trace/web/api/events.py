"""JSON API v1 and the plain-text log endpoints (DESIGN.md "Interfaces"; decisions in docs/api.md).

Each view is a thin adapter: parse the request with a model from `schemas` (the same models
/api/v1/openapi.json is generated from), call one core command, shape the answer with a
response model. `op(...)` records what the OpenAPI document says about the view.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Blueprint, Response, current_app, request
from pydantic import BaseModel

from farmtrace.rules.carbon import factor_table
from farmtrace.services.footprint import footprint
from farmtrace.services import lineage
from farmtrace.services import log as tlog
from farmtrace.ledger import merkle
from farmtrace.services.append import is_signed_submission
from farmtrace.services.transaction import StoredEvent
from farmtrace.ledger.canonical import parse_json
from farmtrace.ledger.errors import InvalidRequestError, NotFoundError
from farmtrace.ledger.events import IDENT
from farmtrace.services.ledger import BatchRecord, Ledger

from farmtrace.web.api import schemas as s
from farmtrace.web.auth import charge_appends, current_actor, refuse_token_in_url, require_role

bp = Blueprint("api", __name__, url_prefix="/api/v1")
log_bp = Blueprint("log", __name__, url_prefix="/log")
bp.before_request(refuse_token_in_url)
MAX_ENTRIES = 1000
F = TypeVar("F", bound=Callable[..., Any])


def op(summary: str, *, auth: bool = False, body: Any = None, ok: dict[int, Any] | None = None,
       query: type[BaseModel] | None = None, errors: tuple[int, ...] = (), text: bool = False) -> Callable[[F], F]:
    """Describe a view for the OpenAPI document: summary, token or public, body, query and responses."""
    def mark(view: F) -> F:
        view.openapi = {"summary": summary, "auth": auth, "body": body, "ok": ok or {}, "query": query,  # type: ignore[attr-defined]
                        "errors": errors, "text": text, "doc": (view.__doc__ or "").strip()}
        return view
    return mark


def ledger() -> Ledger:
    return current_app.extensions["ledger"]  # type: ignore[no-any-return]


def out(model: type[BaseModel], data: Any) -> dict[str, Any]:
    """Shape a response through its model, so what is served is what the document says."""
    return model.model_validate(data).model_dump(mode="json", by_alias=True)


def json_body(*, limit: int | None = None) -> Any:
    """The request's JSON, parsed strictly; one event body may be at most 64 KiB unless `limit` says more."""
    raw = request.get_data(cache=False)
    return parse_json(raw) if limit is None else parse_json(raw, limit=limit)


def batch_arg(batch_id: str) -> str:
    if not IDENT.match(batch_id):
        raise NotFoundError(f"no batch {batch_id[:64]!r}", field="batch_id")
    return batch_id


def stored(event: StoredEvent) -> dict[str, Any]:
    return {"seq": event.seq, "hash": event.hash, "signature": event.signature, "key": event.key,
            "canonical": event.canonical, "created": event.created}


def summary(b: BatchRecord) -> dict[str, Any]:
    return {"id": b.id, "holder": b.org_id, "origin": b.origin_org, "family": b.family, "product": b.product,
            "lot": b.lot, "quantity": b.quantity, "unit": b.unit, "status": b.status, "head": b.head,
            "events": b.event_count}


# ---- the log (public) ----
@log_bp.get("/checkpoint")
@op("The latest signed checkpoint (C2SP signed note)", text=True, errors=(404,))
def checkpoint() -> Response:
    """Made now if the log has grown and the latest is stale."""
    settings = current_app.config["FARMTRACE"]
    cp = tlog.make_checkpoint(ledger(), max_age=settings.checkpoint_interval)
    if cp is None:
        raise NotFoundError("the log has no checkpoint yet")
    return Response(cp.note, mimetype="text/plain", headers={"Cache-Control": "no-cache"})


@log_bp.get("/key")
@op("The log's verifier key (name+hash+base64key)", text=True)
def log_key() -> Response:
    return Response(tlog.log_verifier_key(ledger()) + "\n", mimetype="text/plain")


@bp.get("/log/inclusion")
@op("Inclusion proof of an event in the log", query=s.InclusionQuery, ok={200: s.InclusionProof},
    errors=(400, 404, 422))
def inclusion() -> dict[str, Any]:
    q = s.parse(s.InclusionQuery, request.args.to_dict())
    proof = tlog.inclusion_proof(ledger(), q.hash, q.size)
    return out(s.InclusionProof, {"index": proof.index, "size": proof.size, "root": merkle.b64(proof.root),
                                  "proof": [h.hex() for h in proof.proof]})


@bp.get("/log/consistency")
@op("Consistency proof between two tree sizes", query=s.ConsistencyQuery, ok={200: s.ConsistencyProof},
    errors=(400, 404, 422))
def consistency() -> dict[str, Any]:
    q = s.parse(s.ConsistencyQuery, request.args.to_dict())
    proof = tlog.consistency_proof(ledger(), q.from_, q.to)
    return out(s.ConsistencyProof, {"from": q.from_, "to": q.to, "proof": [h.hex() for h in proof]})


@bp.get("/log/entries")
@op("Up to 1,000 log entries in sequence order", query=s.EntriesQuery, ok={200: s.LogEntries}, errors=(422,))
def entries() -> dict[str, Any]:
    q = s.parse(s.EntriesQuery, request.args.to_dict())
    end = q.start + MAX_ENTRIES if q.end is None else q.end
    if end < q.start:
        raise InvalidRequestError("end must not be before start", field="end")
    end = min(end, q.start + MAX_ENTRIES, s.MAX_POSITION)
    with ledger().uow() as uow:
        rows = list(uow.stream_events(q.start, end, chunk=MAX_ENTRIES))
        size = uow.log_size()
    return out(s.LogEntries, {"start": q.start, "size": size, "entries": [
        {"index": r.seq, "canonical": r.canonical, "hash": r.hash, "signature": r.signature, "key": r.key_id}
        for r in rows]})


@bp.get("/events/<event_hash>")
@op("One stored event by hash", ok={200: s.EventOut}, errors=(404, 422))
def event(event_hash: str) -> dict[str, Any]:
    if not s.HEX64.match(event_hash):
        raise InvalidRequestError("the event hash must be 64 lowercase hex digits", field="event_hash")
    with ledger().uow() as uow:
        row = uow.event_by_hash(event_hash)
    if row is None:
        raise NotFoundError(f"no event {event_hash}", field="event_hash")
    return out(s.EventOut, {"hash": row.hash, "canonical": row.canonical, "signature": row.signature,
                            "key": row.key_id, "seq": row.seq, "batch": row.batch_id, "type": row.type})


@bp.get("/keys")
@op("Every signing key: org keys and the log's, with validity", ok={200: s.KeyList})
def keys() -> dict[str, Any]:
    with ledger().uow() as uow:
        rows = uow.keys()
    return out(s.KeyList, {"keys": [
        {"id": k.id, "org": k.org_id, "purpose": k.purpose, "public_key": k.public_key,
         "valid_from": (k.added_seq + 1) if k.added_seq is not None else 0, "valid_until": k.ended_seq,
         "end_reason": k.end_reason, "revoked": k.end_reason in ("compromise", "retired"),
         "suspected_since": k.suspected_since} for k in rows]})


@bp.get("/orgs")
@op("Every registered org (public registry data)", ok={200: s.OrgList})
def orgs() -> dict[str, Any]:
    with ledger().uow() as uow:
        rows = uow.orgs()
    return out(s.OrgList, {"orgs": [{"id": o.id, "name": o.name, "kind": o.kind, "family": o.family,
                                     "county": o.county} for o in rows]})


# ---- appends (token) ----
@bp.post("/events")
@op("Append one event: a draft signed here for the token's org, or a body pre-signed with the org's own key",
    auth=True, body=s.EventDraft | s.SignedSubmission, ok={201: s.StoredEventOut, 200: s.StoredEventOut},
    errors=(403, 404, 409, 413, 422))
def append_event() -> tuple[dict[str, Any], int]:
    """201 with the stored event; 200 when the same id and content were stored before (a retry)."""
    actor = current_actor()
    require_role(actor, "producer", "regulator")
    raw = json_body()
    charge_appends(1)
    if is_signed_submission(raw):
        signed = s.parse(s.SignedSubmission, raw)
        result = ledger().append_signed(raw["body"], signed.signature, actor=actor)
    else:
        s.parse(s.EventDraft, raw)
        result = ledger().append(raw, actor=actor)
    return out(s.StoredEventOut, stored(result)), 201 if result.created else 200


@bp.post("/events/batch")
@op("Append up to 500 items (drafts or pre-signed bodies) in one transaction: all or nothing", auth=True, body=s.BatchAppend,
    ok={201: s.BatchAppendOut, 200: s.BatchAppendOut}, errors=(403, 404, 409, 413, 422))
def append_batch() -> tuple[dict[str, Any], int]:
    """Per item: the stored event and whether it was created now (false: an idempotent retry)."""
    actor = current_actor()
    require_role(actor, "producer", "regulator")
    raw = json_body(limit=current_app.config["MAX_CONTENT_LENGTH"])  # up to 500 drafts
    s.parse_batch_append(raw)
    charge_appends(len(raw["items"]), field="items")
    results = ledger().append_many(raw["items"], actor=actor)
    status = 201 if any(r.created for r in results) else 200
    return out(s.BatchAppendOut, {"items": [stored(r) for r in results]}), status


# ---- batches ----
@bp.get("/batches")
@op("Batches the token's org holds or created (a regulator or admin: every batch), newest first",
    auth=True, query=s.BatchQuery, ok={200: s.BatchList}, errors=(422,))
def batches() -> dict[str, Any]:
    actor = current_actor()
    q = s.parse(s.BatchQuery, request.args.to_dict())
    org = None if actor.role in ("regulator", "admin") else actor.org
    with ledger().uow() as uow:
        rows = uow.search_batches(org, q.q, q.limit)
    return out(s.BatchList, {"batches": [summary(b) for b in rows]})


@bp.get("/batches/<batch_id>")
@op("One batch: its events, findings and recall state", auth=True, ok={200: s.BatchDetail}, errors=(404,))
def batch(batch_id: str) -> dict[str, Any]:
    current_actor()
    with ledger().uow() as uow:
        row = uow.batch(batch_arg(batch_id))
        if row is None:
            raise NotFoundError(f"no batch {batch_id}", field="batch_id")
        events = uow.events_of_batch(batch_id)
        findings = uow.findings_of_batch(batch_id)
        recall = uow.recall_of(batch_id)
    return out(s.BatchDetail, {
        "batch": summary(row), "recall": recall,
        "events": [{"hash": e.hash, "canonical": e.canonical, "signature": e.signature, "key": e.key_id,
                    "seq": e.seq, "batch": e.batch_id, "type": e.type} for e in events],
        "findings": [{"event": f.event_hash, "rule": f.rule, "severity": f.severity, "message": f.message}
                     for f in findings]})


@bp.get("/batches/<batch_id>/trace")
@op("The lineage DAG: ancestors (backward) or descendants (forward)", query=s.TraceQuery, ok={200: s.TraceOut},
    errors=(404, 422))
def trace(batch_id: str) -> dict[str, Any]:
    q = s.parse(s.TraceQuery, request.args.to_dict())
    return out(s.TraceOut, lineage.trace(ledger(), batch_arg(batch_id), q.direction).to_json())


@bp.get("/batches/<batch_id>/footprint")
@op("The lot's carbon footprint through its lineage: total and per unit, each upstream batch's share, the factor "
    "table versions and rows used (docs/carbon.md); public, like the trace", ok={200: s.FootprintOut},
    errors=(404, 422))
def carbon_footprint(batch_id: str) -> dict[str, Any]:
    return out(s.FootprintOut, footprint(ledger(), batch_arg(batch_id)).to_json())


@bp.get("/carbon/factors")
@op("The emission-factor table, every version, each row with its source and status: with a lot's signed activity "
    "data (its events) anyone can recompute its footprint (docs/carbon.md)", ok={200: s.FactorTableOut})
def carbon_factors() -> dict[str, Any]:
    table = factor_table()
    return out(s.FactorTableOut, {
        "versions": [{"version": v, "valid_from": start.isoformat(), "valid_to": end.isoformat() if end else None}
                     for v, start, end in table.versions],
        "factors": [{"row_id": f.row_id, "table_version": f.table_version, "valid_from": f.valid_from.isoformat(),
                     "valid_to": f.valid_to.isoformat() if f.valid_to else None, "kind": f.kind, "key": f.key,
                     "unit": f.unit, "kg_co2e_per_unit": str(f.kg_co2e_per_unit), "year": f.year,
                     "source": f.source, "status": f.status} for f in table.rows]})


@bp.post("/batches/<batch_id>/recall")
@op("Recall a batch, its descendants and selected sibling lots (regulators only)", auth=True,
    body=s.RecallRequest, ok={201: s.StoredEventOut}, errors=(403, 404, 409, 413, 422))
def recall(batch_id: str) -> tuple[dict[str, Any], int]:
    actor = current_actor()
    require_role(actor, "regulator")
    req = s.parse(s.RecallRequest, json_body())
    charge_appends(1)
    event = lineage.recall(ledger(), batch_arg(batch_id), actor=actor, reason=req.reason, also=list(req.also))
    return out(s.StoredEventOut, stored(event)), 201


@bp.post("/batches/<batch_id>/cap-codes")
@op("Issue cap codes for the lot's commissioned serials that have none (its holder only; shown once)", auth=True,
    ok={201: s.CapCodesOut}, errors=(403, 404, 409, 422))
def cap_codes(batch_id: str) -> tuple[Response, int]:
    """The clear codes are in this response only (Cache-Control: no-store); docs/consumer.md."""
    from farmtrace.services.cap_codes import issue_cap_codes
    issue = issue_cap_codes(ledger(), batch_arg(batch_id), actor=current_actor())
    base = current_app.config["FARMTRACE"].base_url
    body = out(s.CapCodesOut, {"batch": issue.batch, "remaining": issue.remaining, "codes": [
        {"serial": c.serial, "code": c.code, "link": issue.link(c.serial, base)} for c in issue.codes]})
    response = current_app.json.response(body)
    response.headers["Cache-Control"] = "no-store"
    return response, 201


@bp.get("/openapi.json")
@op("This document (OpenAPI 3.1)")
def openapi() -> dict[str, Any]:
    from farmtrace.web.api.openapi import document
    doc = current_app.extensions.get("openapi")
    if doc is None:
        doc = current_app.extensions["openapi"] = document(current_app)
    return doc  # type: ignore[no-any-return]


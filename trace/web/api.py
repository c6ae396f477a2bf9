"""JSON API v1 (read side of the log) and the plain-text log endpoints (DESIGN.md "Interfaces")."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, Response, current_app, request

from farmtrace.core import log as tlog
from farmtrace.core import merkle
from farmtrace.core.errors import InvalidEventError, NotFoundError
from farmtrace.core.ledger import Ledger

bp = Blueprint("api", __name__, url_prefix="/api/v1")
log_bp = Blueprint("log", __name__, url_prefix="/log")
HEX64 = re.compile(r"^[0-9a-f]{64}$")
MAX_ENTRIES = 1000


def ledger() -> Ledger:
    return current_app.extensions["ledger"]  # type: ignore[no-any-return]


def int_arg(name: str, *, required: bool = True, default: int | None = None) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        if required:
            raise InvalidEventError(f"query parameter {name} is required", field=name)
        return default
    if not re.fullmatch(r"[0-9]{1,15}", raw):
        raise InvalidEventError(f"query parameter {name} must be a non-negative whole number, got {raw[:40]!r}",
                                field=name)
    return int(raw)


def hash_arg(name: str = "hash") -> str:
    raw = request.args.get(name, "")
    if not HEX64.match(raw):
        raise InvalidEventError(f"{name} must be 64 lowercase hex digits", field=name)
    return raw


@log_bp.get("/checkpoint")
def checkpoint() -> Response:
    """The latest signed checkpoint (made now if the log has grown and the latest is stale)."""
    settings = current_app.config["FARMTRACE"]
    cp = tlog.make_checkpoint(ledger(), max_age=settings.checkpoint_interval)
    if cp is None:
        raise NotFoundError("the log has no checkpoint yet")
    return Response(cp.note, mimetype="text/plain", headers={"Cache-Control": "no-cache"})


@log_bp.get("/key")
def log_key() -> Response:
    return Response(tlog.log_verifier_key(ledger()) + "\n", mimetype="text/plain")


@bp.get("/log/inclusion")
def inclusion() -> dict[str, Any]:
    proof = tlog.inclusion_proof(ledger(), hash_arg(), int_arg("size", required=False))
    return {"index": proof.index, "size": proof.size, "root": merkle.b64(proof.root),
            "proof": [h.hex() for h in proof.proof]}


@bp.get("/log/consistency")
def consistency() -> dict[str, Any]:
    first, second = int_arg("from"), int_arg("to")
    assert first is not None and second is not None
    return {"from": first, "to": second, "proof": [h.hex() for h in tlog.consistency_proof(ledger(), first, second)]}


@bp.get("/log/entries")
def entries() -> dict[str, Any]:
    start = int_arg("start", required=False, default=0) or 0
    end = int_arg("end", required=False, default=start + MAX_ENTRIES)
    assert end is not None
    if end < start:
        raise InvalidEventError("end must not be before start", field="end")
    end = min(end, start + MAX_ENTRIES)
    with ledger().uow() as uow:
        rows = list(uow.stream_events(start, end, chunk=MAX_ENTRIES))
        size = uow.log_size()
    return {"start": start, "size": size,
            "entries": [{"index": r.seq, "canonical": r.canonical, "hash": r.hash, "signature": r.signature,
                         "key": r.key_id} for r in rows]}


@bp.get("/events/<event_hash>")
def event(event_hash: str) -> dict[str, Any]:
    if not HEX64.match(event_hash):
        raise InvalidEventError("the event hash must be 64 lowercase hex digits", field="hash")
    with ledger().uow() as uow:
        row = uow.event_by_hash(event_hash)
    if row is None:
        raise NotFoundError(f"no event {event_hash}", field="hash")
    return {"hash": row.hash, "canonical": row.canonical, "signature": row.signature, "key": row.key_id,
            "seq": row.seq, "batch": row.batch_id, "type": row.type}


@bp.get("/keys")
def keys() -> dict[str, Any]:
    with ledger().uow() as uow:
        rows = uow.keys()
    return {"keys": [{"id": k.id, "org": k.org_id, "purpose": k.purpose, "public_key": k.public_key,
                      "valid_from": (k.added_seq + 1) if k.added_seq is not None else 0,
                      "valid_until": k.ended_seq, "end_reason": k.end_reason,
                      "revoked": k.end_reason in ("compromise", "retired"),
                      "suspected_since": k.suspected_since} for k in rows]}

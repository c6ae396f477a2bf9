"""Appending events: custodial (signed here with the org's sealed key) or pre-signed.

An append is one transaction: chain head, global sequence number, Merkle leaf and the event
row are committed together or not at all. Appends to one batch are serialised (BEGIN IMMEDIATE
on SQLite, SELECT ... FOR UPDATE on PostgreSQL), and the unique constraint on (batch, prev)
backs that up, so a chain never forks; the loser of a race gets ChainConflictError.
Resubmitting an event `id` with the same content returns the stored event (idempotent).
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any

import psycopg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.exc import IntegrityError, OperationalError

from farmtrace.storage.models import (Batch, Event, Finding, GtinLot, Lineage, MerkleNode, PersonalData, Recall,
                                      SigningKey, utcnow)
from farmtrace.storage.uow import BatchRow, KeyRow, UnitOfWork

from farmtrace.ledger import merkle
from farmtrace.ledger.canonical import canonicalize, parse_json
from farmtrace.services.custody import apply_custody, check_custody, judge
from farmtrace.services.event_times import check_event_time, default_at
from farmtrace.ledger.errors import (ChainConflictError, CustodyError, FarmtraceError, InvalidEventError, KeyStateError,
                     NotFoundError, SignatureError)
from farmtrace.ledger.events import ENVELOPE, EventBody, event_type, new_event_id, refuse_reserved
from farmtrace.rules.gs1 import ai_value, gtin14
from farmtrace.ledger.signing import KeySealer, sign_event_hash, unb64, verify_event_signature

CHINA = timezone(timedelta(hours=8))
MAX_BATCH_APPEND = 500


@dataclass(frozen=True)
class Actor:
    """Who is acting: an org, optionally a user, and a role (producer | regulator | admin | operator)."""

    org: str
    user: str | None = None
    role: str = "producer"


@dataclass(frozen=True)
class StoredEvent:
    seq: int
    hash: str
    signature: str
    key: str
    body: EventBody
    created: bool = True  # False when an idempotent resubmission returned the stored event

    @property
    def canonical(self) -> str:
        return self.body.canonical.decode("utf-8")


def now_rfc3339() -> str:
    return datetime.now(CHINA).replace(microsecond=0).isoformat()


class Signer:
    """Signs with sealed keys, caching unsealed keys in memory for the life of the process."""

    def __init__(self, sealer: KeySealer) -> None:
        self.sealer = sealer
        self._cache: dict[str, Ed25519PrivateKey] = {}

    def private(self, key: SigningKey | KeyRow) -> Ed25519PrivateKey:
        """The unsealed private half of a custodial key."""
        private = self._cache.get(key.id)
        if private is None:
            if key.sealed_private is None:
                raise KeyStateError(f"key {key.id} is held by its org; submit pre-signed events", field="key")
            private = self.sealer.unseal(key.sealed_private, key.id, key.org_id)
            self._cache[key.id] = private
        return private

    def sign(self, key: SigningKey | KeyRow, hash_hex: str) -> str:
        return sign_event_hash(self.private(key), hash_hex)


class AppendTx:
    """One append transaction: rows it locked, and writes it holds until `flush`.

    Appends inside one transaction (a batch append of up to 500) lock each batch and the log
    once, read no Merkle nodes (the log row carries the tree's right edge), and write every row
    with one multi-row statement per table at the end.
    """

    def __init__(self, uow: UnitOfWork, signer: Signer) -> None:
        self.uow, self.signer = uow, signer
        self._keys: dict[str, KeyRow | None] = {}
        self._batches: dict[str, BatchRow | None] = {}
        self._new_batches: list[BatchRow] = []
        self._moved: dict[str, BatchRow] = {}
        self._tree: merkle.CompactRange | None = None
        self._events: list[dict[str, Any]] = []
        self._nodes: list[dict[str, Any]] = []
        self._by_id: dict[str, StoredEvent] = {}
        self._by_hash: dict[str, str | None] = {}  # hash -> batch, for events written in this transaction
        self._bodies: dict[str, dict[str, Any]] = {}  # hash -> body, for events written in this transaction
        self._pending_of: dict[str, list[dict[str, Any]]] = {}  # batch -> bodies written in this transaction
        self._orgs: dict[str, tuple[str, str | None] | None] = {}
        self._ats: dict[str, str | None] = {}
        self._prefixes: dict[str, list[str]] = {}
        self._lineage: list[dict[str, Any]] = []
        self._recalls: dict[tuple[str, str], None] = {}
        self._findings: list[dict[str, Any]] = []
        self._personal: list[dict[str, Any]] = []
        self._gtin_lots: list[dict[str, Any]] = []

    # ---- reads, cached for the transaction ----
    def current_key(self, org: str) -> KeyRow | None:
        if org not in self._keys:
            self._keys[org] = self.uow.signing_key_for(org)
        return self._keys[org]

    def batch(self, batch_id: str) -> BatchRow | None:
        if batch_id not in self._batches:
            self._batches[batch_id] = self.uow.lock_batch(batch_id)
        return self._batches[batch_id]

    def stored_by_id(self, event_id: str) -> StoredEvent | None:
        if event_id in self._by_id:
            return self._by_id[event_id]
        if not self.uow.event_id_taken(event_id):
            return None
        row = self.uow.event_by_id(event_id)
        return None if row is None else _from_row(row, created=False)

    def batch_of_event(self, event_hash: str) -> str | None:
        if event_hash in self._by_hash:
            return self._by_hash[event_hash]
        row = self.uow.event_by_hash(event_hash)
        return None if row is None else row.batch_id

    def body_of(self, event_hash: str) -> dict[str, Any] | None:
        """The body of an event stored before or in this transaction."""
        if event_hash in self._bodies:
            return self._bodies[event_hash]
        row = self.uow.event_by_hash(event_hash)
        return None if row is None else dict(parse_json(row.canonical))

    def at_of(self, event_hash: str) -> str | None:
        """The `at` of an event stored before or in this transaction (None: no such event)."""
        if event_hash in self._bodies:
            return str(self._bodies[event_hash]["at"])
        if event_hash not in self._ats:  # the default `at` and the time rule both ask for the chain head's
            self._ats[event_hash] = self.uow.event_at(event_hash)
        return self._ats[event_hash]

    def org_record(self, org: str) -> tuple[str, str | None] | None:
        """(kind, CMA number) of an org, or None when there is no such org."""
        if org not in self._orgs:
            self._orgs[org] = self.uow.org_record(org)
        return self._orgs[org]

    def company_prefixes(self, org: str) -> list[str]:
        """The GS1 company prefixes registered to an org."""
        if org not in self._prefixes:
            self._prefixes[org] = self.uow.company_prefixes(org)
        return self._prefixes[org]

    def history(self, batch_id: str) -> list[dict[str, Any]]:
        """Bodies of a batch's events, oldest first, including those written in this transaction."""
        stored = [dict(parse_json(text)) for text in self.uow.bodies_of_batch(batch_id)]
        return stored + self._pending_of.get(batch_id, [])

    def org_kind(self, org: str) -> str | None:
        record = self.org_record(org)
        return None if record is None else record[0]

    def recall_of(self, batch_id: str) -> str | None:
        for (batch, recall) in self._recalls:
            if batch == batch_id:
                return recall
        return self.uow.recall_of(batch_id)

    def recall(self, batch_ids: Sequence[str], recall_hash: str) -> None:
        """Flag the batches and every descendant as recalled by `recall_hash`."""
        for batch in self.uow.descendants(batch_ids) | set(batch_ids):
            self._recalls[(batch, recall_hash)] = None

    def link(self, child: str, parent: str, via: str, quantity: str, unit: str) -> None:
        self._lineage.append({"child": child, "parent": parent, "via": via, "quantity": quantity, "unit": unit})

    def add_findings(self, event_hash: str, batch_id: str | None, findings: Sequence[tuple[str, str, str]]) -> None:
        for rule, severity, message in findings:
            self._findings.append({"event_hash": event_hash, "batch_id": batch_id, "rule": rule,
                                   "severity": severity, "message": message})

    def keep_personal(self, ref: str, salt: str, data: str, org: str) -> None:
        self._personal.append({"ref": ref, "salt": salt, "data": data, "org_id": org})

    def batch_row(self, batch_id: str | None) -> BatchRow | None:
        return None if batch_id is None else self._batches.get(batch_id)

    def lot_taken(self, org: str, product: str, lot: str) -> bool:
        if any((b.origin_org, b.product, b.lot) == (org, product, lot) for b in self._new_batches):
            return True
        return self.uow.lot_taken(org, product, lot)

    # ---- writes ----
    def store(self, body: EventBody, signature: str, batch: BatchRow | None) -> StoredEvent:
        """Give the event its sequence number and Merkle leaf and queue its rows."""
        if self._tree is None:
            state = self.uow.lock_log()
            self._tree = merkle.CompactRange.from_state(state.size, bytes(state.frontier or b""))
        seq = self._tree.size
        for level, idx, digest in self._tree.append(merkle.leaf_hash(body.canonical)):
            self._nodes.append({"level": level, "idx": idx, "hash": digest})
        self._events.append({"seq": seq, "hash": body.hash, "id": body.id, "type": body.type, "batch_id": body.batch,
                             "org_id": body.org, "key_id": body.key, "prev": body.prev, "at": body.at,
                             "canonical": body.canonical.decode("utf-8"), "signature": signature,
                             "recorded_at": utcnow()})
        if body.kind.genesis:
            data = body.data
            batch = BatchRow(id=str(body.batch), org_id=body.org, family=str(data["family"]),
                             product=str(data["product"]), lot=str(data["lot"]), head=body.hash, created_seq=seq,
                             event_count=1, quantity=str(data["quantity"]), unit=str(data["unit"]),
                             origin_org=body.org)
            self._new_batches.append(batch)
            self._batches[batch.id] = batch
        elif batch is not None:
            batch.head = body.hash
            batch.event_count += 1
        if batch is not None and batch not in self._new_batches:
            self._moved[batch.id] = batch
        if body.type == "packed" and batch is not None:
            self._link_gtin(body, batch)
        stored = StoredEvent(seq=seq, hash=body.hash, signature=signature, key=body.key, body=body)
        self._by_id[body.id] = stored
        self._by_hash[body.hash] = body.batch
        obj = body.as_obj()
        self._bodies[body.hash] = obj
        if body.batch is not None:
            self._pending_of.setdefault(body.batch, []).append(obj)
        return stored

    def _link_gtin(self, body: EventBody, batch: BatchRow) -> None:
        """A `packed` event with a GTIN makes the lot reachable as GS1 Digital Link /01/{gtin}/10/{lot}."""
        gtin = gtin14(body.data.get("gtin"))
        lot = ai_value(body.data.get("lot") or batch.lot)
        if gtin is None or lot is None:
            return
        owner = next((row["batch_id"] for row in self._gtin_lots if (row["gtin"], row["lot"]) == (gtin, lot)), None)
        owner = owner or self.uow.gtin_lot(gtin, lot)
        if owner is None:
            self._gtin_lots.append({"gtin": gtin, "lot": lot, "batch_id": batch.id})
        elif owner != batch.id:
            raise ChainConflictError(f"GTIN {gtin} with lot {lot} already names batch {owner}: "
                                     "a lot code must be unique for its GTIN", field="data.gtin")

    def flush(self) -> None:
        """Write every queued row: one statement per table."""
        if self._tree is None:
            return
        uow = self.uow
        if self._new_batches:
            uow.insert_rows(Batch, [asdict(b) for b in self._new_batches])
        uow.insert_rows(Event, self._events)
        uow.insert_rows(MerkleNode, self._nodes)
        for batch in self._moved.values():
            uow.set_batch_state(batch)
        uow.insert_rows(Lineage, self._lineage)
        uow.insert_rows(Recall, [{"batch_id": b, "recall": r} for b, r in self._recalls])
        uow.insert_rows(Finding, self._findings)
        uow.insert_rows(PersonalData, self._personal)
        uow.insert_rows(GtinLot, self._gtin_lots)
        uow.set_log_state(self._tree.size, self._tree.state())
        self._events, self._nodes, self._new_batches, self._moved = [], [], [], {}
        self._lineage, self._recalls, self._findings, self._personal = [], {}, [], []
        self._gtin_lots = []


def _as_draft(draft: Mapping[str, Any] | bytes | str) -> dict[str, Any]:
    obj = parse_json(draft) if isinstance(draft, (bytes, str)) else dict(draft)
    if not isinstance(obj, dict):
        raise InvalidEventError("an event must be a JSON object")
    for name in obj:
        if name not in ENVELOPE:
            raise InvalidEventError(f"unknown field {name!r}", field=name)
    refuse_reserved(obj.get("type"))
    return obj


def _same_content(stored: StoredEvent, draft: Mapping[str, Any]) -> bool:
    body = stored.body.as_obj()
    return all(body.get(k) == v for k, v in draft.items())


def append_custodial(tx: AppendTx, draft: Mapping[str, Any] | bytes | str, *, actor: Actor) -> StoredEvent:
    """Complete, sign and queue one event for `actor.org` in `tx` (the caller flushes and commits).

    The server fills `v`, `org`, `key` (the org's current key), `prev` (the chain head when
    absent), `id` (a new UUID when absent) and `at` (when absent: now, +08:00, read once the batch is
    locked and never before the chain head's `at`, so a server-filled time never breaks event_times' rules).
    Raises InvalidEventError, CustodyError, ChainConflictError, NotFoundError, KeyStateError.
    """
    obj = _as_draft(draft)
    if "org" in obj and obj["org"] != actor.org:
        raise CustodyError(f"org must be your own ({actor.org}); got {obj['org']!r}", field="org")
    if "key" in obj:
        raise InvalidEventError("key is chosen by the server for custodial signing; omit it", field="key")
    if "id" in obj and isinstance(obj["id"], str):
        stored = tx.stored_by_id(obj["id"])
        if stored is not None:
            if stored.body.org == actor.org and _same_content(stored, obj):
                return replace(stored, created=False)
            raise ChainConflictError(f"event id {obj['id']} is already used by a different event", field="id")
    key = tx.current_key(actor.org)
    if key is None:
        raise KeyStateError(f"org {actor.org} has no valid signing key", field="key")
    _protect_personal(tx, obj, actor)
    obj.setdefault("v", 1)
    obj["org"], obj["key"] = actor.org, key.id
    obj.setdefault("id", new_event_id())
    batch = _locked_batch(tx, obj, actor)
    if "at" not in obj:  # read the clock once the batch is locked, and never before its head
        obj["at"] = default_at(tx, batch, obj)
    if batch is not None and "prev" not in obj and batch.head is not None:
        obj["prev"] = batch.head
    body = EventBody.from_obj(obj)
    _check_chain(tx, body, batch)
    findings = _admit(tx, body, batch, actor)
    return _commit_event(tx, body, tx.signer.sign(key, body.hash), batch, actor, findings)


def append_presigned(tx: AppendTx, body_raw: Mapping[str, Any] | bytes | str, signature: str, *,
                     actor: Actor) -> StoredEvent:
    """Verify a body signed by the org's own system, then queue it (the caller flushes and commits).

    The signature must verify under a key of `actor.org` that is valid now; nothing is written
    otherwise.
    """
    body = EventBody.parse(body_raw) if isinstance(body_raw, (bytes, str)) else EventBody.from_obj(dict(body_raw))
    refuse_reserved(body.type)
    if body.org != actor.org:
        raise CustodyError(f"the body's org {body.org!r} is not your org {actor.org!r}", field="org")
    stored = tx.stored_by_id(body.id)
    if stored is not None:
        if stored.hash == body.hash:
            return replace(stored, created=False)
        raise ChainConflictError(f"event id {body.id} is already used by a different event", field="id")
    key = tx.uow.key(body.key)
    if key is None or key.org_id != actor.org or key.purpose != "org":
        raise SignatureError(f"key {body.key} is not a key of org {actor.org}", field="key")
    if key.ended_seq is not None:
        raise SignatureError(f"key {body.key} is no longer valid ({key.end_reason})", field="key")
    if not isinstance(signature, str) or not verify_event_signature(unb64(key.public_key), body.hash, signature):
        raise SignatureError("the signature does not verify for this body and key", field="signature")
    batch = _locked_batch(tx, body.as_obj(), actor)
    _check_chain(tx, body, batch)
    findings = _admit(tx, body, batch, actor)
    return _commit_event(tx, body, signature, batch, actor, findings)


def _protect_personal(tx: AppendTx, obj: dict[str, Any], actor: Actor) -> None:
    """Move clear personal data (data.personal: {"name": ..., "phone": ...}) out of the body.

    The body keeps {"ref": SHA-256(salt || canonical JSON)}; the data and its salt go to their own
    table, so erasing the person (PIPL) deletes that row and every signature and proof still holds.
    """
    data = obj.get("data")
    if not isinstance(data, dict) or "personal" not in data:
        return
    personal = data["personal"]
    if isinstance(personal, dict) and set(personal) == {"ref"}:
        return
    if not isinstance(personal, dict) or not personal or not all(
            isinstance(k, str) and isinstance(v, str) and len(v) <= 200 for k, v in personal.items()):
        raise InvalidEventError("data.personal must be an object of short texts (name, phone, id_number)",
                                field="data.personal")
    salt = secrets.token_hex(16)
    clear = canonicalize(personal)
    ref = hashlib.sha256(bytes.fromhex(salt) + clear).hexdigest()
    tx.keep_personal(ref, salt, clear.decode("utf-8"), actor.org)
    obj["data"] = {**data, "personal": {"ref": ref}}


def _admit(tx: AppendTx, body: EventBody, batch: BatchRow | None, actor: Actor) -> list[tuple[str, str, str]]:
    """Custody, event-time and family rules: raise to refuse, else return the findings to record."""
    check_custody(tx, body, batch, actor)
    check_event_time(tx, body, batch)
    return judge(tx, body, batch, actor)


def _commit_event(tx: AppendTx, body: EventBody, signature: str, batch: BatchRow | None, actor: Actor,
                  findings: list[tuple[str, str, str]]) -> StoredEvent:
    refuse_reserved(body.type)  # the last door before the log: only keys.py's log entries pass without it
    stored = tx.store(body, signature, batch)
    apply_custody(tx, body, tx.batch_row(body.batch), actor)
    tx.add_findings(body.hash, body.batch, findings)
    return stored


def _locked_batch(tx: AppendTx, obj: Mapping[str, Any], actor: Actor) -> BatchRow | None:
    kind = event_type(obj.get("type"))
    if kind is None:
        raise InvalidEventError(f"unknown event type {obj.get('type')!r}", field="type")
    if kind.batchless:
        return None
    batch_id = obj.get("batch")
    if not isinstance(batch_id, str):
        raise InvalidEventError("batch is required", field="batch")
    batch = tx.batch(batch_id)
    if kind.genesis:
        if batch is not None:
            raise ChainConflictError(f"batch {batch_id} already exists", field="batch")
        return None
    if batch is None:
        raise NotFoundError(f"no batch {batch_id}", field="batch")
    return batch


def _check_chain(tx: AppendTx, body: EventBody, batch: BatchRow | None) -> None:
    if body.kind.genesis:
        lot = str(body.data["lot"])
        if tx.lot_taken(body.org, str(body.data["product"]), lot):
            raise ChainConflictError(f"lot {lot} of this product already exists for {body.org}", field="data.lot")
        return
    if batch is None:
        return
    if body.prev != batch.head:
        raise ChainConflictError(f"prev {body.prev} is not the chain head of batch {batch.id} ({batch.head})",
                                 field="prev")
    if body.type == "correct" and tx.batch_of_event(str(body.data["amends"])) != batch.id:
        raise InvalidEventError("data.amends must name an earlier event of the same batch", field="data.amends")


def _from_row(row: Event, *, created: bool) -> StoredEvent:
    return StoredEvent(seq=row.seq, hash=row.hash, signature=row.signature, key=row.key_id,
                       body=EventBody.parse(row.canonical.encode("utf-8")), created=created)


DRIVER_INTEGRITY_ERRORS: tuple[type[Exception], ...] = (sqlite3.IntegrityError, psycopg.IntegrityError)
DB_REFUSALS: tuple[type[Exception], ...] = (IntegrityError, OperationalError, *DRIVER_INTEGRITY_ERRORS)


def translate_db_error(err: Exception) -> FarmtraceError:
    """Turn a database refusal during an append into a clear conflict.

    The append path's multi-row inserts go straight to the driver, so its IntegrityError
    (sqlite3's or psycopg's) arrives unwrapped as well as SQLAlchemy's.
    """
    if isinstance(err, (IntegrityError, *DRIVER_INTEGRITY_ERRORS)):
        return ChainConflictError("another append won the race for this batch or event id; read the new head and retry")
    if isinstance(err, OperationalError) and "locked" in str(err).lower():
        return ChainConflictError("the ledger is busy; retry")
    return FarmtraceError(str(err))


def is_signed_submission(item: Any) -> bool:
    """Whether an item is a pre-signed `{"body", "signature"}` rather than a draft for custodial signing."""
    return isinstance(item, Mapping) and ("signature" in item or "body" in item)


def append_many(tx: AppendTx, drafts: Sequence[Mapping[str, Any]], *, actor: Actor) -> list[StoredEvent]:
    """Append up to MAX_BATCH_APPEND events in one transaction: all or nothing.

    Each item is a draft (signed here with the actor's org key) or a pre-signed
    `{"body", "signature"}` (verified against the org's currently valid key), as a tablet that
    holds its own key sends them when it syncs.
    """
    if len(drafts) > MAX_BATCH_APPEND:
        raise InvalidEventError(f"at most {MAX_BATCH_APPEND} events per batch append, got {len(drafts)}",
                                field="items")
    stored = []
    for i, draft in enumerate(drafts):
        try:
            if is_signed_submission(draft):
                if set(draft) != {"body", "signature"}:
                    raise InvalidEventError("a pre-signed item has exactly two fields: body and signature",
                                            field="signature" if "signature" not in draft else "body")
                if not isinstance(draft["body"], Mapping) or not isinstance(draft["signature"], str):
                    raise InvalidEventError("body must be a JSON object and signature a base64 string",
                                            field="body" if not isinstance(draft["body"], Mapping) else "signature")
                stored.append(append_presigned(tx, draft["body"], draft["signature"], actor=actor))
            else:
                stored.append(append_custodial(tx, draft, actor=actor))
        except FarmtraceError as err:  # name the item, so the client knows which one to fix
            err.field = f"items[{i}]" + (f".{err.field}" if err.field else "")
            err.message = f"item {i}: {err.message}"
            raise
    return stored

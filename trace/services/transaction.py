"""One append transaction (`AppendTx`): what custody, rules and event-time checks may read of
the store while an event is admitted, and the rows it queues until `flush`; plus who appends
(`Actor`), what is stored (`StoredEvent`) and the org keys' signer. farmtrace.services.append
runs the commands over it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from farmtrace.ledger import merkle
from farmtrace.ledger.canonical import parse_json
from farmtrace.ledger.errors import ChainConflictError, KeyStateError, Said
from farmtrace.ledger.events import EventBody
from farmtrace.ledger.signing import KeySealer, sign_event_hash
from farmtrace.rules.families import OrgFacts
from farmtrace.rules.gs1 import ai_value, gtin14
from farmtrace.storage.models import (Batch, Event, Finding, GtinLot, Lineage, MerkleNode, PersonalData, Recall,
                                      SigningKey, utcnow)
from farmtrace.storage.uow import BatchRow, KeyRow, UnitOfWork

CHINA = timezone(timedelta(hours=8))


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
                raise KeyStateError(Said(f"key {key.id} is held by its org; submit pre-signed events",
                                         f"密钥 {key.id} 由机构自己保管：请提交已签名的记录"), field="key")
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
        self.documents: Any = None  # the ledger's DocumentStore (services/documents.py), when it has one
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
        self._facts: dict[str, OrgFacts | None] = {}
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
        return None if row is None else stored_from_row(row, created=False)

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

    def org_facts(self, org: str) -> OrgFacts | None:
        """An org's kind, county and licence numbers, as the family rules see them (None: no such org)."""
        if org not in self._facts:
            row = self.uow.org(org)
            self._facts[org] = None if row is None else OrgFacts(
                row.kind, row.county, self.uow.org_licences(org).get(org, {}))
        return self._facts[org]

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
                                   "severity": severity, "message": str.__str__(message),
                                   "message_zh": getattr(message, "zh", None)})

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
            raise ChainConflictError(Said(f"GTIN {gtin} with lot {lot} already names batch {owner}: "
                                          "a lot code must be unique for its GTIN",
                                          f"商品条码 {gtin} 的批号 {lot} 已用于批次 {owner}：同一商品条码下批号不能重复"),
                                     field="data.gtin")

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


def stored_from_row(row: Event, *, created: bool) -> StoredEvent:
    return StoredEvent(seq=row.seq, hash=row.hash, signature=row.signature, key=row.key_id,
                       body=EventBody.parse(row.canonical.encode("utf-8")), created=created)

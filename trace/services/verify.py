"""Verify the whole ledger, layer by layer, and report every failure by event, batch and reason.

1. event: the stored hash is SHA-256 of the stored canonical text; the stored columns agree
   with the signed body; the signature verifies with the key named, and that key was valid at
   the event's log position (keys are added, rotated and revoked by log entries). A key entry
   (events.LOG_ENTRY_TYPES) changes key validity only when the log key signed it and its
   signature verifies; any other is reported as an invalid entry and changes nothing, so an entry
   planted by an org can never harm another org's records;
2. chain: every batch starts once, each event's prev is its batch's head (no fork, no gap);
3. transformation: every output names consume events that exist, name it, and took what it says;
4. log: sequence numbers run 0..n-1 with no gap; stored Merkle leaves and nodes agree with the
   events; every stored checkpoint's root is the root recomputed at its size and its signature
   verifies with the log key (so consecutive checkpoints are consistent with each other);
5. rules: each family's hard rules re-run over every event against its batch as the log builds it
   (services/verify_rules.py); a rule that now refuses a stored event is a failure naming the rule.

`verify_log` never raises on a bad ledger: it returns a VerificationReport. Signature checks run
on both cores (a process pool) for large logs; the sequential layers stream in sequence order, so
memory stays flat.
"""

from __future__ import annotations

import functools
import hashlib
import json
import multiprocessing
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from farmtrace.storage.engine import make_engine
from farmtrace.storage.uow import (UnitOfWork, key_entries, read_event_range, read_merkle_nodes, seq_bounds,
                                   stream_batch_heads, stream_merkle_level)

from farmtrace.services import devices
from farmtrace.services.verify_rules import rerun_rules
from farmtrace.services.keys import ORG_PURPOSES
from farmtrace.ledger import merkle
from farmtrace.ledger.checkpoint import Checkpoint as SignedCheckpoint
from farmtrace.ledger.checkpoint import verifier_key
from farmtrace.ledger.errors import CheckpointError
from farmtrace.ledger.events import HEX64, LOG_ENTRY_TYPES, event_type
from farmtrace.ledger.signing import key_id, unb64, verify_event_signature

COLUMNS = ("id", "type", "batch", "org", "key", "prev", "at")
KEY_TYPES = LOG_ENTRY_TYPES
BODY_TYPES = KEY_TYPES + ("consume", "transform")  # the sequential layers read these bodies
PARALLEL_THRESHOLD = 20_000


@dataclass(frozen=True)
class Failure:
    layer: str            # event | chain | transformation | log | rules
    reason: str
    event_hash: str | None = None
    batch: str | None = None
    seq: int | None = None
    rule: str | None = None   # layer "rules": the rule's id, e.g. "pork.banned_additive"
    reason_zh: str | None = None  # layer "rules": the rule's message in Chinese


@dataclass
class VerificationReport:
    events: int = 0
    batches: int = 0
    checkpoints: int = 0
    size: int = 0
    root: str | None = None
    failures: list[Failure] = field(default_factory=list)
    flagged: list[Failure] = field(default_factory=list)  # valid but for review (suspected compromise)
    rules_checked: int = 0  # events a family's hard rules judged again (layer 5)

    @property
    def ok(self) -> bool:
        return not self.failures

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "events": self.events, "batches": self.batches, "checkpoints": self.checkpoints,
                "size": self.size, "root": self.root,
                "failures": [asdict(f) for f in self.failures], "flagged": [asdict(f) for f in self.flagged],
                "rules_checked": self.rules_checked}


# ---- layer 1, per event: runs in worker processes, each reading its own range -------------

Compact = tuple[int, str, str, str | None, str, str, str | None, str, bytes, str | None]
"""seq, hash, type, batch, org, key id, prev, at, leaf hash, canonical (transformations, and key
entries whose signature verified: a key entry without it is never applied)."""

_WORKER_ENGINES: dict[str, Engine] = {}


def check_range(source: Engine | str, start: int, end: int,
                public_keys: dict[str, bytes]) -> tuple[list[Failure], list[Compact]]:
    """Check hash, columns, signature and stored leaf of each event in [start, end).

    Returns the failures and, for the sequential layers, a compact row per event.
    """
    if isinstance(source, str):
        engine = _WORKER_ENGINES.get(source)
        if engine is None:
            engine = _WORKER_ENGINES[source] = make_engine(source)
    else:
        engine = source
    problems: list[Failure] = []
    compact: list[Compact] = []
    for seq, stored_hash, canonical, signature, *columns, leaf in read_event_range(engine, start, end):
        batch = columns[2]

        def fail(reason: str, layer: str = "event") -> None:
            problems.append(Failure(layer, reason, stored_hash, batch, seq))
        raw = canonical.encode("utf-8")
        digest = hashlib.sha256(raw).hexdigest()
        if digest != stored_hash:
            fail(f"stored hash does not match the stored canonical text (SHA-256 is {digest})")
        leaf_hash = merkle.leaf_hash(raw)
        if leaf is None or bytes(leaf) != leaf_hash:
            fail("stored Merkle leaf does not match the event", "log")
        try:
            body = json.loads(raw)
            if not isinstance(body, dict):
                raise ValueError("not an object")
        except ValueError:
            fail("stored canonical text is not a JSON object")
            body = {}
        for name, value in zip(COLUMNS, columns):
            if body and body.get(name) != value:
                fail(f"stored column {name}={value!r} disagrees with the signed body ({body.get(name)!r})")
        public = public_keys.get(columns[4])
        signed = public is not None and verify_event_signature(public, digest, signature)
        if public is not None and not signed:
            fail(f"signature does not verify with key {columns[4]}")
        etype = columns[1]
        keep = etype in BODY_TYPES and (signed or etype not in KEY_TYPES)
        compact.append((seq, stored_hash, etype, batch, columns[3], columns[4], columns[5], columns[6], leaf_hash,
                        canonical if keep else None))
    if start >= 0 and (end - start) & (end - start - 1) == 0 and start % (end - start) == 0:
        problems.extend(_check_chunk_nodes(engine, start, end, {row[0]: row[8] for row in compact}))
    return problems, compact


def _check_chunk_nodes(engine: Engine, start: int, end: int, leaves: dict[int, bytes]) -> list[Failure]:
    """Stored Merkle nodes inside one aligned chunk equal the hashes recomputed from its events."""
    problems: list[Failure] = []
    level_nodes = leaves
    for level in range(1, (end - start).bit_length()):
        expected = {i: merkle.node_hash(level_nodes[2 * i], level_nodes[2 * i + 1])
                    for i in range(start >> level, end >> level)
                    if 2 * i in level_nodes and 2 * i + 1 in level_nodes}
        stored = dict(read_merkle_nodes(engine, level, start >> level, end >> level))
        for idx in sorted(expected.keys() | stored.keys()):
            if idx not in stored:
                problems.append(Failure("log", f"Merkle node ({level}, {idx}) is missing"))
            elif idx not in expected:
                problems.append(Failure("log", f"Merkle node ({level}, {idx}) covers events that are not in the log"))
            elif stored[idx] != expected[idx]:
                problems.append(Failure("log", f"Merkle node ({level}, {idx}) does not match the events below it"))
        level_nodes = expected
    return problems


# ---- helpers for the sequential layers ---------------------------------------------------

@dataclass
class _KeyState:
    public: bytes
    org: str | None
    purpose: str
    valid_from: int          # first log position it may sign at
    valid_until: int | None  # first position it may no longer sign at
    end_reason: str | None = None
    suspected_since: datetime | None = None


def _parse_time(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


class _Replay:
    """The sequential state: key validity, chain heads, sequence, Merkle frontier."""

    def __init__(self, report: VerificationReport, log_keys: dict[str, bytes]) -> None:
        self.report = report
        self.keys: dict[str, _KeyState] = {kid: _KeyState(pub, None, "log", 0, None) for kid, pub in log_keys.items()}
        self.heads: dict[str, bytes] = {}  # batch -> raw hash of its chain head (32 bytes: memory per batch)
        self.consumes: dict[str, tuple[str, set[str], str, str, set[str]]] = {}
        self.expected_seq = 0
        self.tree = merkle.CompactRange()
        self.roots: dict[int, bytes] = {0: merkle.EMPTY_ROOT}

    def fail(self, layer: str, reason: str, *, seq: int | None = None, event_hash: str | None = None,
             batch: str | None = None) -> None:
        self.report.failures.append(Failure(layer, reason, event_hash, batch, seq))

    def signing_key(self, seq: int, ev_hash: str, batch: str | None, etype: str, org: str, kid: str,
                    at: str) -> bool:
        """Check the signer's key at this position; True when it is the right kind of key and valid."""
        state = self.keys.get(kid)
        if etype in KEY_TYPES and (state is None or state.purpose != "log"):
            self.fail("event", f"{etype} entry signed by {kid}, not by the log key: an invalid entry, ignored "
                               "(it changes no key's validity)", seq=seq, event_hash=ev_hash, batch=batch)
            return False
        if state is None:
            self.fail("event", f"signed by unknown key {kid}", seq=seq, event_hash=ev_hash, batch=batch)
            return False
        ok = True
        if etype not in KEY_TYPES and (state.purpose != "org" or state.org != org):
            self.fail("event", f"key {kid} is not a key of org {org}", seq=seq, event_hash=ev_hash, batch=batch)
            ok = False
        if seq < state.valid_from:
            self.fail("event", f"key {kid} was not yet valid at position {seq} (added at {state.valid_from - 1})",
                      seq=seq, event_hash=ev_hash, batch=batch)
            return False
        if state.valid_until is not None and seq >= state.valid_until:
            why = "revoked" if state.end_reason in ("compromise", "retired") else "rotated out"
            self.fail("event", f"signed by key {kid} after it was {why} at position {state.valid_until}",
                      seq=seq, event_hash=ev_hash, batch=batch)
            return False
        if state.suspected_since is not None:
            when = _parse_time(at)
            if when is not None and when >= state.suspected_since:
                self.report.flagged.append(Failure(
                    "event", f"signed by key {kid} after its suspected compromise "
                             f"({state.suspected_since.isoformat()}); review", ev_hash, batch, seq))
        return ok

    def key_entry(self, seq: int, canonical: str, org: str) -> None:
        """Apply a key entry that the log key signed (the caller has checked that) to key validity."""
        try:
            body = json.loads(canonical)
            data = body["data"]
            if body["type"] == "key_added":
                public = unb64(data["public_key"], length=32)
                if key_id(public) != data["key_id"]:
                    self.fail("event", f"key_added names key id {data['key_id']} for a public key whose id is "
                                       f"{key_id(public)}; ignored", seq=seq)
                    return
                if data["key_id"] in self.keys:
                    self.fail("event", f"key {data['key_id']} is added a second time; ignored", seq=seq)
                    return
                self.keys[data["key_id"]] = _KeyState(public, org, "org", seq + 1, None)
                old = self.keys.get(data.get("replaces", ""))
                if old is not None and old.purpose == "org" and old.org == org and old.valid_until is None:
                    old.valid_until, old.end_reason = seq, "rotated"
            elif body["type"] == "key_revoked":
                state = self.keys.get(data["key_id"])
                if state is None or state.purpose != "org":
                    self.fail("event", f"key_revoked names unknown key {data['key_id']}", seq=seq)
                    return
                if state.valid_until is None or state.valid_until > seq:
                    state.valid_until = seq
                state.end_reason = data["reason"]
                if data.get("suspected_since"):
                    state.suspected_since = _parse_time(data["suspected_since"])
        except (KeyError, TypeError, ValueError) as err:
            self.fail("event", f"malformed key entry: {err}", seq=seq)

    def transformation(self, seq: int, ev_hash: str, etype: str, canonical: str) -> None:
        """Layer 3: every output names consume events that exist, name it, and took what it says.

        A consume event is remembered only until each output it names has been seen.
        """
        try:
            body = json.loads(canonical)
            data, batch = body["data"], body["batch"]
            if etype == "consume":
                self.consumes[ev_hash] = (batch, set(data["into"]), data["quantity"], data["unit"], set(data["into"]))
                return
            for i, item in enumerate(data["inputs"]):
                consumed = self.consumes.get(item["event"])
                if consumed is None:
                    reason = f"input {i} names {item['event']}, which is no earlier consume event"
                elif consumed[0] != item["batch"] or batch not in consumed[1]:
                    reason = f"input {i}: the consume event is of {consumed[0]} into {sorted(consumed[1])}"
                elif (consumed[2], consumed[3]) != (item["quantity"], item["unit"]):
                    reason = f"input {i}: {item['quantity']} {item['unit']} differs from the {consumed[2]} " \
                             f"{consumed[3]} consumed"
                else:
                    consumed[4].discard(batch)
                    if not consumed[4]:
                        del self.consumes[item["event"]]
                    continue
                self.fail("transformation", reason, seq=seq, event_hash=ev_hash, batch=batch)
        except (KeyError, TypeError, ValueError) as err:
            self.fail("transformation", f"malformed {etype} body: {err}", seq=seq, event_hash=ev_hash)

    def chain(self, seq: int, ev_hash: str, etype: str, batch: str | None, prev: str | None) -> None:
        kind = event_type(etype)
        if kind is None:
            self.fail("event", f"unknown event type {etype!r}", seq=seq, event_hash=ev_hash, batch=batch)
            return
        if kind.batchless:
            return
        if batch is None:
            self.fail("chain", "a batch event names no batch", seq=seq, event_hash=ev_hash)
            return
        stored = self.heads.get(batch)
        head = stored.hex() if stored is not None else None
        if kind.genesis or prev is None:
            if head is not None:
                self.fail("chain", "second start of a batch that already has a chain (fork)", seq=seq,
                          event_hash=ev_hash, batch=batch)
        elif head is None:
            self.fail("chain", f"prev {prev} names no earlier event of this batch", seq=seq, event_hash=ev_hash,
                      batch=batch)
        elif prev != head:
            self.fail("chain", f"prev {prev} is not the chain head {head}: an event is missing, reordered or forked",
                      seq=seq, event_hash=ev_hash, batch=batch)
        self.heads[batch] = bytes.fromhex(ev_hash) if HEX64.match(ev_hash) else ev_hash.encode()


def _log_keys(uow: UnitOfWork) -> dict[str, bytes]:
    return {k.id: unb64(k.public_key) for k in uow.keys() if k.purpose == "log"}


def _public_keys(engine: Engine, log_keys: dict[str, bytes]) -> dict[str, bytes]:
    """Every public key the log's genuine key_added entries name (the workers verify with these;
    validity is checked in order). An entry counts only when a log key signed it and the key id is
    the public key's: a planted entry can't slip another public key under a real org's key id."""
    keys = dict(log_keys)
    for _seq, canonical, signer, signature in key_entries(engine):
        try:
            log_public = log_keys.get(signer)
            if log_public is None or not verify_event_signature(
                    log_public, hashlib.sha256(canonical.encode("utf-8")).hexdigest(), signature):
                continue  # named by the sequential pass, applied nowhere
            data = json.loads(canonical)["data"]
            public = unb64(data["public_key"], length=32)
            if key_id(public) == data["key_id"]:
                keys.setdefault(data["key_id"], public)
        except (KeyError, TypeError, ValueError):
            continue  # a malformed entry is named by the sequential pass
    return keys


def verify_log(engine: Engine, *, log_origin: str, workers: int | None = None,
               progress: Callable[[int, int], None] | None = None, chunk: int = 4096, rules: bool = True,
               rules_progress: Callable[[int, int], None] | None = None) -> VerificationReport:
    """Verify every layer of the ledger behind `engine`; never raises on bad data.

    Workers (processes) each read and check a range of events; this process replays the
    sequential layers (key validity, chains, sequence, Merkle root) from their compact rows, then
    (with `rules`) re-runs the families' hard rules over the log, reporting to `rules_progress`.
    """
    report = VerificationReport()
    with UnitOfWork(engine) as uow:
        log_keys = _log_keys(uow)
        log_state = uow.lock_log()
        checkpoints = uow.checkpoints()
        key_rows = uow.keys()
    stored_size = log_state.size
    replay = _Replay(report, log_keys)
    public_keys = _public_keys(engine, log_keys)
    low, high = seq_bounds(engine)
    # Chunks of a power-of-two size aligned at 0 hold whole subtrees, so the workers check the
    # Merkle nodes up to that level; the levels above are checked here afterwards.
    aligned = chunk & (chunk - 1) == 0
    ranges = [(low, 0)] if low < 0 else []
    ranges += [(start, start + chunk) for start in range(0, high + 1, chunk)]
    if workers is None:
        workers = 2 if stored_size >= PARALLEL_THRESHOLD else 0
    sizes = frozenset(cp.size for cp in checkpoints)

    def consume(result: tuple[list[Failure], list[Compact]]) -> None:
        failures, rows = result
        report.failures.extend(failures)
        for seq, ev_hash, etype, batch, org, kid, prev, at, leaf_hash, canonical in rows:
            if seq != replay.expected_seq:
                replay.fail("log", f"sequence gap: positions {replay.expected_seq}..{seq - 1} are missing",
                            seq=seq, event_hash=ev_hash, batch=batch)
            replay.expected_seq = seq + 1
            signer_ok = replay.signing_key(seq, ev_hash, batch, etype, org, kid, at)
            if etype in KEY_TYPES:
                if signer_ok and canonical is not None:
                    replay.key_entry(seq, canonical, org)
            elif canonical is not None:
                replay.transformation(seq, ev_hash, etype, canonical)
            replay.chain(seq, ev_hash, etype, batch, prev)
            replay.tree.append(leaf_hash)
            report.events += 1
            if seq + 1 in sizes:
                replay.roots[seq + 1] = replay.tree.root()
        if progress:
            progress(report.events, stored_size)

    if not workers:
        for start, end in ranges:
            consume(check_range(engine, start, end, public_keys))
    else:
        url = engine.url.render_as_string(hide_password=False)
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            pending: list[Future[tuple[list[Failure], list[Compact]]]] = []
            for start, end in ranges:
                pending.append(pool.submit(check_range, url, start, end, public_keys))
                while len(pending) > 2 * workers:
                    consume(pending.pop(0).result())
            for fut in pending:
                consume(fut.result())
    report.size = replay.expected_seq
    report.root = merkle.b64(replay.tree.root())
    report.batches = len(replay.heads)
    _check_totals(replay, stored_size, stream_batch_heads(engine), key_rows)
    if bytes(log_state.frontier) != replay.tree.state():
        replay.fail("log", "the stored Merkle frontier (the tree's right edge) disagrees with the events")
    _check_merkle_nodes(engine, replay, from_level=chunk.bit_length() - 1 if aligned else 0)
    _check_checkpoints(replay, checkpoints, log_keys, log_origin)
    if rules:
        breaches, report.rules_checked = rerun_rules(engine, progress=rules_progress, chunk=chunk)
        for b in breaches:
            replay.report.failures.append(Failure(
                "rules", f"rule {b.rule} refuses this event now: {b.message}", b.event_hash, b.batch,
                b.seq, b.rule, f"规则 {b.rule} 现在拒绝这条记录：{b.message_zh}"))
    report.failures.sort(key=lambda f: (-1 if f.seq is None else f.seq))
    return report


def _check_totals(replay: _Replay, stored_size: int, stored_heads: Iterator[tuple[str, str | None]],
                  key_rows: list[Any]) -> None:
    if stored_size != replay.expected_seq:
        replay.fail("log", f"the log records size {stored_size} but holds entries up to {replay.expected_seq}")
    for batch, head in stored_heads:
        replayed = replay.heads.get(batch)
        if (replayed.hex() if replayed else None) != head:
            replay.fail("chain", f"stored chain head {head} disagrees with the events "
                                 f"({replayed.hex() if replayed else None})", batch=batch)
    for row in key_rows:
        state = replay.keys.get(row.id)
        if row.purpose in ORG_PURPOSES and (state is None or state.valid_from != (row.added_seq or 0) + 1):
            replay.fail("log", f"key {row.id} of {row.org_id} has no matching key_added entry in the log")


def _check_merkle_nodes(engine: Engine, replay: _Replay, from_level: int = 0) -> None:
    """Every stored node above `from_level` is the hash of its two stored children."""
    level = from_level
    while True:
        children = stream_merkle_level(engine, level)
        parents = stream_merkle_level(engine, level + 1)
        found = False
        pending_left: tuple[int, bytes] | None = None
        for idx, digest in children:
            found = True
            if idx % 2 == 0:
                pending_left = (idx, digest)
                continue
            if pending_left is None or pending_left[0] != idx - 1:
                replay.fail("log", f"Merkle node ({level}, {idx - 1}) is missing")
                continue
            expect = merkle.node_hash(pending_left[1], digest)
            got = next(parents, None)
            if got is None or got[0] != idx // 2 or got[1] != expect:
                replay.fail("log", f"Merkle node ({level + 1}, {idx // 2}) does not match its children")
            pending_left = None
        if not found:
            return
        level += 1


def _check_checkpoints(replay: _Replay, checkpoints: list[Any], log_keys: dict[str, bytes], origin: str) -> None:
    vkeys = [verifier_key(origin, pub) for pub in log_keys.values()]
    replay.report.checkpoints = len(checkpoints)
    for cp in checkpoints:
        try:
            parsed = SignedCheckpoint.from_note(cp.note.encode("utf-8"), vkeys)
        except CheckpointError as err:
            replay.fail("log", f"checkpoint at size {cp.size} does not verify: {err.message}")
            continue
        if parsed.size != cp.size or merkle.b64(parsed.root) != cp.root:
            replay.fail("log", f"checkpoint at size {cp.size}: stored size/root disagree with the signed note")
        if parsed.origin != origin:
            replay.fail("log", f"checkpoint at size {cp.size} names origin {parsed.origin!r}, not {origin!r}")
        want = replay.roots.get(parsed.size)
        if parsed.size > replay.expected_seq:
            replay.fail("log", f"checkpoint at size {parsed.size} is beyond the log's {replay.expected_seq} entries: "
                               "the log was truncated")
        elif want is not None and want != parsed.root:
            replay.fail("log", f"checkpoint at size {parsed.size} signs root {merkle.b64(parsed.root)} but the events "
                               f"give {merkle.b64(want)}: the log was rewritten (fork)")


def iter_failures(report: VerificationReport) -> Iterator[str]:
    for f in report.failures:
        where = f"seq {f.seq}" if f.seq is not None else "-"
        yield f"FAIL [{f.layer}] {where} event {f.event_hash or '-'} batch {f.batch or '-'}: {f.reason}"


@dataclass(frozen=True)
class EventCheck:
    seq: int
    hash: str
    type: str
    at: str
    org: str
    data: dict[str, Any]
    ok: bool
    reason: str | None
    key: str = ""          # the signing key's id
    device: str = ""       # the device's label, when a device key of the org signed it


@functools.lru_cache(maxsize=65536)
def _signature_ok(public_key: bytes, digest: str, signature: str) -> bool:
    """Ed25519 verification is a pure function of its inputs, so pages that show the same ancestors
    check each signature once per process (the digest is always recomputed from the stored text)."""
    return verify_event_signature(public_key, digest, signature)


def verify_batch(uow: UnitOfWork, batch_id: str, keys: Mapping[str, Any] | None = None,
                 rows: Sequence[Any] | None = None) -> list[EventCheck]:
    """Check one batch's chain for display: hash, signature, key validity (by position) and links.

    When checking several batches in one unit of work, `keys` (id -> key row) and the batch's
    event `rows` in chain order may be passed in, read once for all of them.
    """
    keys = keys if keys is not None else {k.id: k for k in uow.keys()}
    out: list[EventCheck] = []
    head: str | None = None
    for row in (rows if rows is not None else uow.events_of_batch(batch_id)):
        reason = None
        digest = hashlib.sha256(row.canonical.encode("utf-8")).hexdigest()
        body: dict[str, Any] = {}
        try:
            body = json.loads(row.canonical)
        except ValueError:
            reason = "stored text is not JSON"
        key = keys.get(row.key_id)
        if reason:
            pass
        elif digest != row.hash:
            reason = "hash does not match the stored text"
        elif key is None or key.org_id != row.org_id:
            reason = f"unknown key {row.key_id}"
        elif not _signature_ok(unb64(key.public_key), digest, row.signature):
            reason = "signature does not verify"
        elif key.added_seq is not None and row.seq <= key.added_seq or (
                key.ended_seq is not None and row.seq >= key.ended_seq):
            reason = f"key {row.key_id} was not valid at position {row.seq}"
        elif body.get("prev") != head:
            reason = "does not link to the previous event"
        head = row.hash
        out.append(EventCheck(row.seq, row.hash, row.type, row.at, row.org_id,
                              body.get("data", {}) if isinstance(body.get("data"), dict) else {}, reason is None,
                              reason, row.key_id))
    labels = devices.labels(uow, {c.key for c in out})
    return [replace(c, device=labels[c.key]) if c.key in labels else c for c in out]


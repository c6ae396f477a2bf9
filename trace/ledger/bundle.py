"""Offline-verifiable bundles (`farmtrace-bundle/v1`): a batch's lineage and everything needed to check it.

A bundle is one JSON object (docs/bundle.md describes it field by field):

    {"format": "farmtrace-bundle/v1",
     "subject": "<the batch it was exported for>",
     "log": {"key": "<log verifier key name+hash+base64>", "checkpoint": "<signed note text>"},
     "keys": [<entry>, ...],                       key_added / key_revoked log entries
     "batches": [{"id", "head", "events": [<entry>, ...]}, ...]}
    <entry> = {"seq", "hash", "canonical", "signature", "proof": ["<hex>", ...]}

Each proof is the inclusion proof of leaf `seq` in the tree of the checkpoint's size. Today a
lineage is the subject's own chain; transformations will add their input batches as more items of
`batches`, so the format does not change.

`verify_bundle` never raises on bad input; it names every failure (a machine `code`, the event
hash, batch and log index, and a message in zh_CN and en). It checks, in layers:
1. structure: the document parses strictly (no duplicate keys, no floats) and has exactly these fields;
2. log: the checkpoint note verifies with the log key (a key the user trusts wins over the
   bundle's own) and names the key's origin;
3. key entries: hash, canonical body, signed by the log key; they say which org key was valid
   between which log positions (valid after its key_added, until a key_revoked or a key_added
   that replaces it);
4. events: hash = SHA-256 of the canonical text, the body parses (EventBody.parse, every product
   family's event types loaded), the signature verifies with its key, and the key was the org's
   and valid at the event's index;
5. chains: each batch's events link by prev from its first event to its head: no gap, no fork;
6. proofs: every entry's inclusion proof leads to the checkpoint's root.
What a bundle cannot show: that no later key_revoked or later event exists outside it. Only the
whole log (`farmtrace verify`, `/api/v1/log/entries`) shows that.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from farmtrace.ledger import merkle
from farmtrace.ledger.canonical import sha256_hex
from farmtrace.ledger.checkpoint import Checkpoint, parse_verifier_key
from farmtrace.ledger.errors import CheckpointError, FarmtraceError, ProofError
from farmtrace.ledger.events import EVENT_TYPES, EventBody
from farmtrace.ledger.signing import key_id, verify_event_signature

__all__ = ["FORMAT", "KEY_ENTRY_TYPES", "MESSAGES", "BundleFailure", "BundleReport", "Counts", "bundle_entry",
           "new_bundle", "render", "verify_bundle"]

FORMAT = "farmtrace-bundle/v1"
KEY_ENTRY_TYPES = ("key_added", "key_revoked")
MAX_BUNDLE_BYTES = 256 * 1024 * 1024
MAX_PROOF_HASHES = 64
LANGS = ("zh_CN", "en")

_TOP = ("format", "subject", "log", "keys", "batches")
_LOG = ("key", "checkpoint")
_BATCH = ("id", "head", "events")
_ENTRY = ("seq", "hash", "canonical", "signature", "proof")
_HEX64 = re.compile(r"[0-9a-f]{64}")

MESSAGES: dict[str, tuple[str, str, str]] = {
    # code: (layer, zh_CN, en); layers: bundle | log | key | event | chain | proof
    "not_json": ("bundle", "数据包不是有效的 JSON：{detail}", "the bundle is not valid JSON: {detail}"),
    "bad_format": ("bundle", "不是 {want} 数据包（format 为 {got}）", "not a {want} bundle (format is {got})"),
    "bad_field": ("bundle", "字段 {where} 无效：{detail}", "field {where} is invalid: {detail}"),
    "subject_missing": ("bundle", "数据包的主批次 {subject} 不在 batches 中",
                        "the bundle's subject batch {subject} is not among its batches"),
    "duplicate_entry": ("bundle", "日志位置 {seq} 或哈希重复出现", "log index {seq} or its hash appears twice"),
    "log_key_invalid": ("log", "日志公钥无效：{detail}", "the log verifier key is invalid: {detail}"),
    "log_key_mismatch": ("log", "数据包中的日志公钥 {bundled} 与您信任的公钥 {trusted} 不同",
                         "the bundle's log key {bundled} is not the key you trust, {trusted}"),
    "checkpoint_invalid": ("log", "检查点未通过核验：{detail}", "the checkpoint does not verify: {detail}"),
    "checkpoint_origin": ("log", "检查点的来源 {got} 不是日志公钥的名称 {want}",
                          "the checkpoint's origin {got} is not the log key's name {want}"),
    "hash_mismatch": ("event", "哈希与规范文本不符（文本的 SHA-256 为 {digest}）",
                      "the hash does not match the canonical text (its SHA-256 is {digest})"),
    "invalid_body": ("event", "事件正文无效：{detail}", "the event body is invalid: {detail}"),
    "not_canonical": ("event", "文本不是 RFC 8785 规范形式", "the text is not in RFC 8785 canonical form"),
    "bad_signature": ("event", "签名无效（密钥 {key}）", "the signature does not verify with key {key}"),
    "key_entry_type": ("key", "keys 中的记录类型 {type} 不是密钥记录", "an entry of type {type} is not a key entry"),
    "key_entry_signer": ("key", "密钥记录应由日志密钥 {want} 签名，而不是 {got}",
                         "a key entry must be signed by the log key {want}, not {got}"),
    "key_id_mismatch": ("key", "密钥编号 {key} 与其公钥不符", "key id {key} does not match its public key"),
    "key_added_twice": ("key", "密钥 {key} 被添加了两次", "key {key} is added twice"),
    "unknown_key": ("key", "签名密钥 {key} 没有对应的 key_added 记录",
                    "signing key {key} has no key_added entry in the bundle"),
    "key_not_of_org": ("key", "密钥 {key} 不是机构 {org} 的密钥", "key {key} is not a key of org {org}"),
    "key_not_yet_valid": ("key", "签名时密钥 {key} 尚未生效（在位置 {added} 添加）",
                          "key {key} was not yet valid (it was added at index {added})"),
    "key_revoked": ("key", "密钥 {key} 已在位置 {ended} 吊销，之后仍被用于签名",
                    "signed by key {key} after it was revoked at index {ended}"),
    "key_rotated_out": ("key", "密钥 {key} 已在位置 {ended} 轮换停用，之后仍被用于签名",
                        "signed by key {key} after it was rotated out at index {ended}"),
    "wrong_batch": ("chain", "事件属于批次 {named}，却列在批次 {batch} 下",
                    "the event names batch {named} but is listed under batch {batch}"),
    "empty_chain": ("chain", "批次 {batch} 没有事件", "batch {batch} has no events"),
    "chain_start": ("chain", "批次链的第一个事件不是批次的起点（它有 prev {prev}）：前面的事件缺失",
                    "the chain's first event does not start the batch (it has prev {prev}): earlier events are "
                    "missing"),
    "chain_fork": ("chain", "批次第二次开始（分叉）", "a second start of the batch (fork)"),
    "chain_link": ("chain", "prev {prev} 不是前一个事件的哈希 {want}：事件缺失、顺序被改或分叉",
                   "prev {prev} is not the previous event's hash {want}: an event is missing, reordered or forked"),
    "chain_order": ("chain", "日志位置 {seq} 不大于前一个事件的位置 {before}",
                    "log index {seq} is not after the previous event's index {before}"),
    "head_mismatch": ("chain", "链头 {head} 不是最后一个事件的哈希 {last}",
                      "the head {head} is not the last event's hash {last}"),
    "input_missing": ("chain", "加工输入 {i}（批次 {input}）的消耗事件 {event} 不在本包中，或与之不符",
                      "transformation input {i} (batch {input}): its consume event {event} is not in the bundle "
                      "or does not match"),
    "proof_invalid": ("proof", "包含证明未通过：{detail}", "the inclusion proof does not verify: {detail}"),
    "suspected_compromise": ("key", "密钥 {key} 自 {since} 起疑似泄露，此事件在那之后签名，需复核",
                             "signed by key {key} after its suspected compromise ({since}); review"),
}


@dataclass(frozen=True)
class BundleFailure:
    """One thing that does not hold, named by code, place (JSON path, event, batch, log index) and reason."""

    code: str
    layer: str
    zh_CN: str
    en: str
    where: str | None = None
    event_hash: str | None = None
    batch: str | None = None
    index: int | None = None

    def message(self, lang: str) -> str:
        return self.zh_CN if lang == "zh_CN" else self.en


@dataclass
class Counts:
    batches: int = 0
    chains_ok: int = 0
    events: int = 0
    events_ok: int = 0
    key_entries: int = 0
    key_entries_ok: int = 0
    proofs: int = 0
    proofs_ok: int = 0


@dataclass
class BundleReport:
    """What holds and what does not; `ok` only when nothing failed."""

    subject: str | None = None
    log_key: str | None = None
    log_key_trusted: bool = False   # True: the user's key; False: the bundle's own (trusted blindly)
    origin: str | None = None
    checkpoint_ok: bool = False
    checkpoint_size: int | None = None
    checkpoint_root: str | None = None
    counts: Counts = field(default_factory=Counts)
    failures: list[BundleFailure] = field(default_factory=list)
    flagged: list[BundleFailure] = field(default_factory=list)  # valid, but for review

    @property
    def ok(self) -> bool:
        return not self.failures

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["ok"] = self.ok
        return out


# ---- building -------------------------------------------------------------------------------


def bundle_entry(seq: int, hash_hex: str, canonical: str, signature: str, proof: Sequence[bytes]) -> dict[str, Any]:
    """One log entry as a bundle carries it (the proof against the bundle's checkpoint)."""
    return {"seq": seq, "hash": hash_hex, "canonical": canonical, "signature": signature,
            "proof": [digest.hex() for digest in proof]}


def new_bundle(*, subject: str, log_key: str, checkpoint: str, keys: Sequence[Mapping[str, Any]],
               batches: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The bundle document; `batches` items are {"id", "head", "events"}, the subject's first."""
    return {"format": FORMAT, "subject": subject, "log": {"key": log_key, "checkpoint": checkpoint},
            "keys": list(keys), "batches": list(batches)}


# ---- reading untrusted JSON -----------------------------------------------------------------


class _BadJSONError(ValueError):
    pass


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in pairs:
        if name in out:
            raise _BadJSONError(f"duplicate key {name!r}")
        out[name] = value
    return out


def _no_constant(name: str) -> Any:
    raise _BadJSONError(f"{name} is not JSON")


def _load(raw: bytes) -> Any:
    """Parse the document strictly; raise _BadJSONError with a reason."""
    if len(raw) > MAX_BUNDLE_BYTES:
        raise _BadJSONError(f"{len(raw)} bytes is over the limit of {MAX_BUNDLE_BYTES}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise _BadJSONError(f"not valid UTF-8 (byte {err.start})") from err
    try:
        return json.loads(text, parse_float=Decimal, parse_constant=_no_constant, object_pairs_hook=_unique)
    except json.JSONDecodeError as err:
        raise _BadJSONError(f"{err.msg} at line {err.lineno} column {err.colno}") from err
    except RecursionError as err:
        raise _BadJSONError("nested too deeply") from err
    except ValueError as err:  # duplicate keys, constants, integers too long to convert
        raise _BadJSONError(str(err)) from err


def _is_index(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _canonical_b64(text: str, length: int) -> bytes | None:
    """Canonical standard base64 of exactly `length` bytes, or None (no stray bits: no malleability)."""
    try:
        data = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        return None
    if len(data) != length or base64.b64encode(data).decode("ascii") != text:
        return None
    return data


def _safe(text: str | None, limit: int = 300) -> str | None:
    """A string from the bundle made fit to show: no control characters or lone surrogates, not too long."""
    if text is None:
        return None
    shown = "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text[:limit])
    return shown + ("…" if len(text) > limit else "")


def _text_bytes(text: str) -> bytes | None:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate from a \\ud800 escape
        return None


@dataclass
class _Entry:
    where: str
    seq: int
    hash: str
    canonical: str
    signature: str
    proof: list[bytes]
    listed_under: str | None          # the batch it is listed under (None: a key entry)
    raw: bytes = b""
    body: EventBody | None = None     # set when the text parses as an event body
    sound: bool = True                # hash, body and signature hold


@dataclass
class _Key:
    public: bytes
    org: str
    added: int
    ends: list[tuple[int, str]] = field(default_factory=list)  # (index, "rotated" | "compromise" | "retired")
    suspected_since: datetime | None = None


# ---- verification ---------------------------------------------------------------------------


class _Verifier:
    def __init__(self, report: BundleReport) -> None:
        self.report = report
        self.bad_events: set[str] = set()
        self.bad_keys: set[str] = set()
        self.bad_chains: set[str] = set()

    def fail(self, code: str, *, where: str | None = None, entry: _Entry | None = None, batch: str | None = None,
             flag: bool = False, **params: Any) -> None:
        layer, zh, en = MESSAGES[code]
        where = entry.where if entry else where
        batch = _safe(batch if batch is not None else entry.listed_under if entry else None)
        values = {k: "-" if v is None else _safe(v) if isinstance(v, str) else v
                  for k, v in {"where": where, "batch": batch, **params}.items()}
        failure = BundleFailure(code, layer, zh.format(**values), en.format(**values), where=where,
                                event_hash=_safe(entry.hash) if entry else None, batch=batch,
                                index=entry.seq if entry else None)
        if flag:
            self.report.flagged.append(failure)
            return
        self.report.failures.append(failure)
        if entry is not None and layer in ("bundle", "event", "key"):
            entry.sound = False
            (self.bad_keys if entry.listed_under is None else self.bad_events).add(entry.where)
        if layer == "chain" and failure.batch is not None:
            self.bad_chains.add(failure.batch)

    def fields(self, value: Any, names: Sequence[str], where: str) -> dict[str, Any] | None:
        """`value` as an object with exactly `names`, or None after naming what is wrong."""
        if not isinstance(value, dict):
            self.fail("bad_field", where=where, detail="must be an object")
            return None
        missing = [n for n in names if n not in value]
        unknown = [n for n in value if n not in names]
        if missing or unknown:
            detail = "; ".join(([f"missing {', '.join(missing)}"] if missing else [])
                               + ([f"unknown {', '.join(map(str, unknown))}"] if unknown else []))
            self.fail("bad_field", where=where, detail=detail)
            return None
        return value

    def text(self, obj: Mapping[str, Any], name: str, where: str) -> str | None:
        value = obj[name]
        if not isinstance(value, str):
            self.fail("bad_field", where=f"{where}.{name}", detail="must be a string")
            return None
        return value

    def entries(self, value: Any, where: str, batch: str | None) -> list[_Entry]:
        if not isinstance(value, list):
            self.fail("bad_field", where=where, detail="must be a list")
            return []
        counts = self.report.counts
        if batch is None:
            counts.key_entries += len(value)
        else:
            counts.events += len(value)
        out = []
        for i, item in enumerate(value):
            entry = self.entry(item, f"{where}[{i}]", batch)
            if entry is not None:
                out.append(entry)
        return out

    def entry(self, value: Any, where: str, batch: str | None) -> _Entry | None:
        bad = self.bad_keys if batch is None else self.bad_events
        obj = self.fields(value, _ENTRY, where)
        texts = [self.text(obj, n, where) for n in ("hash", "canonical", "signature")] if obj else []
        if obj is None or None in texts:
            bad.add(where)
            return None
        if not _is_index(obj["seq"]):
            self.fail("bad_field", where=f"{where}.seq", detail="must be a log index (an integer from 0)")
            bad.add(where)
            return None
        proof = obj["proof"]
        if (not isinstance(proof, list) or len(proof) > MAX_PROOF_HASHES
                or not all(isinstance(h, str) and _HEX64.fullmatch(h) for h in proof)):
            self.fail("bad_field", where=f"{where}.proof",
                      detail=f"must be a list of at most {MAX_PROOF_HASHES} hashes in lowercase hex")
            bad.add(where)
            return None
        return _Entry(where, obj["seq"], texts[0] or "", texts[1] or "", texts[2] or "",
                      [bytes.fromhex(h) for h in proof], batch)

    def content(self, entry: _Entry) -> None:
        """Layer 4a: the hash, the canonical text and the body (not yet the signature)."""
        raw = _text_bytes(entry.canonical)
        if raw is None:
            self.fail("invalid_body", entry=entry, detail="the text is not valid Unicode")
            return
        entry.raw = raw
        digest = sha256_hex(raw)
        if digest != entry.hash:
            self.fail("hash_mismatch", entry=entry, digest=digest)
        try:
            body = EventBody.parse(raw)
        except FarmtraceError as err:
            self.fail("invalid_body", entry=entry, detail=err.message)
            return
        if body.canonical != raw:
            self.fail("not_canonical", entry=entry)
        entry.body = body

    def signature(self, entry: _Entry, public: bytes, kid: str) -> bool:
        if entry.raw and (_canonical_b64(entry.signature, 64) is None
                          or not verify_event_signature(public, sha256_hex(entry.raw), entry.signature)):
            self.fail("bad_signature", entry=entry, key=kid)
            return False
        return bool(entry.raw)


def _check_log(v: _Verifier, log: Mapping[str, Any], trusted: str | None) -> tuple[Checkpoint | None, bytes | None]:
    """Layer 2: pick the log key, verify the checkpoint note with it."""
    report = v.report
    bundled = v.text(log, "key", "log")
    note = v.text(log, "checkpoint", "log")
    vkey = trusted if trusted is not None else bundled
    report.log_key, report.log_key_trusted = _safe(vkey), trusted is not None
    if trusted is not None and bundled is not None and bundled != trusted:
        v.fail("log_key_mismatch", where="log.key", bundled=bundled, trusted=trusted)
    if vkey is None:
        return None, None
    try:
        name, _, public = parse_verifier_key(vkey)
    except (CheckpointError, ValueError) as err:  # ValueError: a name that is not valid Unicode
        v.fail("log_key_invalid", where="log.key",
               detail=err.message if isinstance(err, CheckpointError) else "the name is not valid Unicode")
        return None, None
    report.origin = _safe(name)
    if note is None:
        return None, public
    encoded = _text_bytes(note)
    try:
        if encoded is None:
            raise CheckpointError("the note is not valid Unicode")
        checkpoint = Checkpoint.from_note(encoded, [vkey])
    except (CheckpointError, ValueError) as err:
        v.fail("checkpoint_invalid", where="log.checkpoint",
               detail=err.message if isinstance(err, CheckpointError) else str(err))
        return None, public
    report.checkpoint_size, report.checkpoint_root = checkpoint.size, merkle.b64(checkpoint.root)
    if checkpoint.origin != name:
        v.fail("checkpoint_origin", where="log.checkpoint", got=checkpoint.origin, want=name)
        return None, public
    report.checkpoint_ok = True
    return checkpoint, public


def _check_key_entries(v: _Verifier, entries: list[_Entry], log_public: bytes | None) -> dict[str, _Key]:
    """Layer 3: each key entry is sound and signed by the log key; replay them into key validity."""
    keys: dict[str, _Key] = {}
    log_kid = key_id(log_public) if log_public is not None else None
    for entry in sorted(entries, key=lambda e: e.seq):
        v.content(entry)
        body = entry.body
        if body is None:
            continue
        if body.type not in KEY_ENTRY_TYPES:
            v.fail("key_entry_type", entry=entry, type=body.type)
            continue
        if log_public is None or body.key != log_kid:
            v.fail("key_entry_signer", entry=entry, want=log_kid, got=body.key)
            continue
        if not v.signature(entry, log_public, body.key) or not entry.sound:
            continue  # an entry we cannot trust says nothing about keys
        data, kid = body.data, str(body.data["key_id"])
        if body.type == "key_added":
            public = _canonical_b64(str(data["public_key"]), 32)
            if public is None or key_id(public) != kid:
                v.fail("key_id_mismatch", entry=entry, key=kid)
                continue
            if kid in keys:
                v.fail("key_added_twice", entry=entry, key=kid)
                continue
            keys[kid] = _Key(public, body.org, entry.seq)
            replaced = keys.get(str(data.get("replaces", "")))
            if replaced is not None:
                replaced.ends.append((entry.seq, "rotated"))
        else:
            revoked = keys.get(kid)
            if revoked is not None:  # a revocation of a key the bundle does not use needs no record
                revoked.ends.append((entry.seq, str(data["reason"])))
                if "suspected_since" in data:
                    revoked.suspected_since = _time(data["suspected_since"])
    return keys


def _time(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def _check_signer(v: _Verifier, entry: _Entry, keys: Mapping[str, _Key], log_public: bytes | None) -> None:
    """Layer 4b: the event's key is its org's, was valid at its index, and signed it."""
    body = entry.body
    assert body is not None
    key = keys.get(body.key)
    if log_public is not None and body.key == key_id(log_public):
        v.fail("key_not_of_org", entry=entry, key=body.key, org=body.org)
        return
    if key is None:
        v.fail("unknown_key", entry=entry, key=body.key)
        return
    if key.org != body.org:
        v.fail("key_not_of_org", entry=entry, key=body.key, org=body.org)
    if not v.signature(entry, key.public, body.key):
        return
    ended = [(seq, reason) for seq, reason in key.ends if seq <= entry.seq]
    if entry.seq <= key.added:
        v.fail("key_not_yet_valid", entry=entry, key=body.key, added=key.added)
    elif any(reason != "rotated" for _, reason in ended):
        v.fail("key_revoked", entry=entry, key=body.key,
               ended=min(seq for seq, reason in ended if reason != "rotated"))
    elif ended:
        v.fail("key_rotated_out", entry=entry, key=body.key, ended=min(seq for seq, _ in ended))
    elif key.suspected_since is not None:
        at = _time(body.at)
        if at is not None and at >= key.suspected_since:
            v.fail("suspected_compromise", entry=entry, flag=True, key=body.key, since=key.suspected_since.isoformat())


def _check_chain(v: _Verifier, batch: str, head: str | None, entries: list[_Entry]) -> None:
    """Layer 5: the batch's events run from its start to its head, each linking to the one before."""
    if not entries:
        v.fail("empty_chain", batch=batch)
        return
    before: _Entry | None = None
    for entry in entries:
        body = entry.body
        if body is not None:
            if body.batch != batch:
                v.fail("wrong_batch", entry=entry, named=body.batch)
            if before is None and not body.kind.genesis:
                v.fail("chain_start", entry=entry, prev=body.prev)
            elif before is not None and body.kind.genesis:
                v.fail("chain_fork", entry=entry)
            elif before is not None:
                want = sha256_hex(before.raw) if before.raw else before.hash
                if body.prev != want:
                    v.fail("chain_link", entry=entry, prev=body.prev, want=want)
        if before is not None and entry.seq <= before.seq:
            v.fail("chain_order", entry=entry, seq=entry.seq, before=before.seq)
        before = entry
    last = entries[-1]
    last_hash = sha256_hex(last.raw) if last.raw else last.hash
    if head is not None and head != last_hash:
        v.fail("head_mismatch", where=last.where.rsplit(".events", 1)[0] + ".head", batch=batch, head=head,
               last=last_hash)


def _check_inputs(v: _Verifier, entries: list[_Entry]) -> None:
    """Lineage: each transformation's inputs are consume events in the bundle that name its output."""
    consumes = {entry.hash: entry.body for entry in entries
                if entry.body is not None and entry.body.type == "consume"}
    for entry in entries:
        body = entry.body
        if body is None or body.type != "transform":
            continue
        for i, item in enumerate(body.data.get("inputs", [])):
            consumed = consumes.get(str(item.get("event")))
            if consumed is None or consumed.batch != item.get("batch") or body.batch not in consumed.data.get(
                    "into", []) or consumed.data.get("quantity") != item.get("quantity"):
                v.fail("input_missing", entry=entry, i=i, input=_safe(str(item.get("batch"))),
                       event=_safe(str(item.get("event"))))


def _check_proofs(v: _Verifier, checkpoint: Checkpoint | None, entries: list[_Entry]) -> None:
    """Layer 6: every entry's inclusion proof leads from its leaf at `seq` to the checkpoint's root."""
    counts = v.report.counts
    counts.proofs = len(entries)
    if checkpoint is None:
        return
    for entry in entries:
        leaf = merkle.leaf_hash(entry.raw or entry.canonical.encode("utf-8", "surrogatepass"))
        try:
            merkle.verify_inclusion(leaf, entry.seq, checkpoint.size, entry.proof, checkpoint.root)
        except ProofError as err:
            v.fail("proof_invalid", entry=entry, detail=err.message)
            continue
        counts.proofs_ok += 1


def _check_unique(v: _Verifier, entries: list[_Entry]) -> None:
    seen_seq: set[int] = set()
    seen_hash: set[str] = set()
    for entry in entries:
        if entry.seq in seen_seq or entry.hash in seen_hash:
            v.fail("duplicate_entry", entry=entry, seq=entry.seq)
        seen_seq.add(entry.seq)
        seen_hash.add(entry.hash)


def verify_bundle(doc: Mapping[str, Any] | bytes | str, *, trusted_log_key: str | None = None) -> BundleReport:
    """Check every event, key entry, chain, inclusion proof and the checkpoint of a bundle; never raises.

    Args:
        doc: the bundle, parsed or as its JSON bytes/text.
        trusted_log_key: the log's verifier key as the user got it from the operator (`farmtrace
            log key`, `GET /log/key`); when None the bundle's own key is used, and the report says so.
    """
    if "create" not in EVENT_TYPES:  # the food types are declared in farmtrace.rules, which the caller imports
        raise RuntimeError("import farmtrace.rules before verifying a bundle: it declares the event types")
    report = BundleReport()
    v = _Verifier(report)
    if isinstance(doc, (bytes, str)):
        try:
            raw = _text_bytes(doc) if isinstance(doc, str) else doc
            if raw is None:
                raise _BadJSONError("not valid Unicode")
            doc = _load(raw)
        except _BadJSONError as err:
            v.fail("not_json", detail=str(err))
            return report
    top = v.fields(doc, _TOP, "$")
    if top is None:
        return report
    if top["format"] != FORMAT:
        v.fail("bad_format", where="format", want=FORMAT, got=json.dumps(top["format"], ensure_ascii=False,
                                                                          default=str)[:80])
        return report
    subject = v.text(top, "subject", "$")
    report.subject = _safe(subject)
    log = v.fields(top["log"], _LOG, "log")
    checkpoint, log_public = _check_log(v, log, trusted_log_key) if log is not None else (None, None)

    key_entries = v.entries(top["keys"], "keys", None)
    keys = _check_key_entries(v, key_entries, log_public)
    batches: list[tuple[str, str | None, list[_Entry]]] = []
    if not isinstance(top["batches"], list) or not top["batches"]:
        v.fail("bad_field", where="batches", detail="must be a non-empty list")
    else:
        for i, item in enumerate(top["batches"]):
            where = f"batches[{i}]"
            obj = v.fields(item, _BATCH, where)
            batch = v.text(obj, "id", where) if obj is not None else None
            if obj is None or batch is None:
                v.bad_chains.add(where)  # counted as a broken chain; its events are not checked
                continue
            if any(batch == seen for seen, _, _ in batches):
                v.fail("bad_field", where=f"{where}.id", batch=batch, detail=f"batch {batch} is listed twice")
            batches.append((batch, v.text(obj, "head", where), v.entries(obj["events"], f"{where}.events", batch)))
    for _, _, entries in batches:
        for entry in entries:
            v.content(entry)
            if entry.body is not None:
                _check_signer(v, entry, keys, log_public)
    for batch, head, entries in batches:
        _check_chain(v, batch, head, entries)
    _check_inputs(v, [entry for _, _, entries in batches for entry in entries])
    if subject is not None and batches and subject not in {b for b, _, _ in batches}:
        v.fail("subject_missing", where="subject", subject=subject)

    every = key_entries + [e for _, _, entries in batches for e in entries]
    _check_unique(v, every)
    _check_proofs(v, checkpoint, every)
    counts = report.counts
    counts.key_entries_ok = counts.key_entries - len(v.bad_keys)
    counts.events_ok = counts.events - len(v.bad_events)
    counts.batches = len(top["batches"]) if isinstance(top["batches"], list) else 0
    counts.chains_ok = max(0, counts.batches - len(v.bad_chains))
    return report


# ---- rendering ------------------------------------------------------------------------------

_LINES: dict[str, tuple[str, str]] = {
    "title": ("离线核验数据包（主批次 {subject}）", "Offline verification of bundle for batch {subject}"),
    "checkpoint_ok": ("✔ 检查点签名有效：{origin}，树大小 {size}，根 {root}",
                      "✔ the checkpoint is signed by the log key: {origin}, tree size {size}, root {root}"),
    "checkpoint_bad": ("✘ 检查点未通过核验", "✘ the checkpoint does not verify"),
    "key_trusted": ("  日志公钥 {key}（由您提供）", "  log key {key} (the one you gave)"),
    "key_bundled": ("  注意：日志公钥 {key} 取自数据包本身；请与运营方公布的公钥（GET /log/key）核对，"
                    "或用 --log-key 指定",
                    "  note: the log key {key} was taken from the bundle itself; compare it with the key the "
                    "operator publishes (GET /log/key), or pass --log-key"),
    "keys_ok": ("✔ {n} 条密钥记录全部由日志密钥签名", "✔ all {n} key entries are signed by the log key"),
    "keys_bad": ("✘ {n} 条密钥记录中 {bad} 条未通过核验", "✘ {bad} of {n} key entries do not verify"),
    "events_ok": ("✔ {n} 个事件全部签名有效，签名时密钥均有效",
                  "✔ all {n} events are signed, each by its org's key valid at its log index"),
    "events_bad": ("✘ {n} 个事件中 {bad} 个未通过核验", "✘ {bad} of {n} events do not verify"),
    "events_none": ("✘ 数据包中没有可核验的事件", "✘ the bundle holds no events to verify"),
    "chains_ok": ("✔ {n} 条批次链完整：从第一个事件连到链头，无缺失、无分叉",
                  "✔ all {n} batch chains are whole: linked from the first event to the head, no gap, no fork"),
    "chains_bad": ("✘ {n} 条批次链中 {bad} 条不完整", "✘ {bad} of {n} batch chains are broken"),
    "proofs_ok": ("✔ {n} 个包含证明全部与检查点一致", "✔ all {n} inclusion proofs lead to the checkpoint's root"),
    "proofs_bad": ("✘ {n} 个包含证明中 {bad} 个未通过", "✘ {bad} of {n} inclusion proofs do not verify"),
    "proofs_unchecked": ("✘ 包含证明未核验：没有有效的检查点", "✘ inclusion proofs not checked: no valid checkpoint"),
    "flag": ("⚑ ", "⚑ "),
    "problems": ("问题：", "Problems:"),
    "verdict_ok": ("结论：全部核验通过", "Verdict: everything verifies"),
    "verdict_bad": ("结论：核验未通过（{n} 个问题）", "Verdict: verification FAILED ({n} problems)"),
}


_ONE_EN = {  # English for a count of one, where "all 1 ..." would read badly
    "keys_ok": "✔ the key entry is signed by the log key",
    "events_ok": "✔ the event is signed by its org's key, valid at its log index",
    "chains_ok": "✔ the batch chain is whole: linked from the first event to the head, no gap, no fork",
    "proofs_ok": "✔ the inclusion proof leads to the checkpoint's root",
}


def _line(name: str, lang: str, **values: Any) -> str:
    zh, en = _LINES[name]
    if lang != "zh_CN" and values.get("n") == 1:
        en = _ONE_EN.get(name, en)
    return (zh if lang == "zh_CN" else en).format(**values)


def _place(f: BundleFailure, lang: str) -> str:
    zh = lang == "zh_CN"
    parts = []
    if f.batch is not None:
        parts.append(f"{'批次' if zh else 'batch'} {f.batch}")
    if f.index is not None:
        parts.append(f"{'位置' if zh else 'index'} {f.index}")
    if f.event_hash:
        parts.append(f"{'事件' if zh else 'event'} {f.event_hash[:12]}…")
    if f.where and not parts:
        parts.append(f.where)
    return ("，" if zh else ", ").join(parts)


def render(report: BundleReport, lang: str = "zh_CN") -> str:
    """The report as text for people, in zh_CN (default) or en."""
    lang = lang if lang in LANGS else "zh_CN"
    c = report.counts
    out = [_line("title", lang, subject=report.subject or "-")]
    if report.checkpoint_ok:
        out.append(_line("checkpoint_ok", lang, origin=report.origin, size=report.checkpoint_size,
                         root=report.checkpoint_root))
    else:
        out.append(_line("checkpoint_bad", lang))
    if report.log_key:
        out.append(_line("key_trusted" if report.log_key_trusted else "key_bundled", lang, key=report.log_key))
    for what, n, good in (("keys", c.key_entries, c.key_entries_ok), ("events", c.events, c.events_ok),
                          ("chains", c.batches, c.chains_ok)):
        if what == "events" and not n:
            out.append(_line("events_none", lang))
        elif n or what != "keys":
            out.append(_line(f"{what}_ok" if good == n and n else f"{what}_bad", lang, n=n, bad=n - good))
    if not report.checkpoint_ok:
        out.append(_line("proofs_unchecked", lang))
    else:
        out.append(_line("proofs_ok" if c.proofs_ok == c.proofs else "proofs_bad", lang, n=c.proofs,
                         bad=c.proofs - c.proofs_ok))
    for f in report.flagged:
        out.append(_line("flag", lang) + f"{_place(f, lang)}: {f.message(lang)}")
    if report.failures:
        out.append(_line("problems", lang))
        for f in report.failures:
            place = _place(f, lang)
            out.append(f"  ✘ [{f.code}] {place + ': ' if place else ''}{f.message(lang)}")
    out.append(_line("verdict_ok", lang) if report.ok else _line("verdict_bad", lang, n=len(report.failures)))
    return "\n".join(out) + "\n"


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
from dataclasses import replace
from typing import Any

import psycopg
from sqlalchemy.exc import IntegrityError, OperationalError

from farmtrace.storage.uow import BatchRow

from farmtrace.ledger.canonical import canonicalize, parse_json
from farmtrace.services.custody import apply_custody, check_custody, judge
from farmtrace.services.keys import ORG_PURPOSES
from farmtrace.services.transaction import Actor, AppendTx, StoredEvent
from farmtrace.services.event_times import check_event_time, default_at
from farmtrace.services.documents import require_stored
from farmtrace.ledger.errors import (ChainConflictError, CustodyError, FarmtraceError, InvalidEventError, KeyStateError,
                     NotFoundError, Said, SignatureError)
from farmtrace.ledger.events import ENVELOPE, EventBody, event_type, new_event_id, refuse_reserved
from farmtrace.ledger.signing import unb64, verify_event_signature

MAX_BATCH_APPEND = 500


def _as_draft(draft: Mapping[str, Any] | bytes | str) -> dict[str, Any]:
    obj = parse_json(draft) if isinstance(draft, (bytes, str)) else dict(draft)
    if not isinstance(obj, dict):
        raise InvalidEventError(Said("an event must be a JSON object", "一条记录必须是一个 JSON 对象"))
    for name in obj:
        if name not in ENVELOPE:
            raise InvalidEventError(Said(f"unknown field {name!r}", f"未知字段 {name!r}"), field=name)
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
        raise CustodyError(Said(f"org must be your own ({actor.org}); got {obj['org']!r}",
                                f"机构只能是本机构（{actor.org}），收到的是 {obj['org']!r}"), field="org")
    if "key" in obj:
        raise InvalidEventError(Said("key is chosen by the server for custodial signing; omit it",
                                     "由服务器代签时，签名密钥由服务器选择，请不要填写"), field="key")
    if "id" in obj and isinstance(obj["id"], str):
        stored = tx.stored_by_id(obj["id"])
        if stored is not None:
            if stored.body.org == actor.org and _same_content(stored, obj):
                return replace(stored, created=False)
            raise ChainConflictError(Said(f"event id {obj['id']} is already used by a different event",
                                          f"记录编号 {obj['id']} 已被另一条不同的记录使用"), field="id")
    key = tx.current_key(actor.org)
    if key is None:
        raise KeyStateError(Said(f"org {actor.org} has no valid signing key", f"机构 {actor.org} 没有有效的签名密钥"),
                            field="key")
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

    The signature must verify under a key of `actor.org` that is valid now: the org's own key or one
    of its device keys (services/devices.py), registered by a `key_added` log entry and neither
    rotated out nor revoked since. Nothing is written otherwise.
    """
    body = EventBody.parse(body_raw) if isinstance(body_raw, (bytes, str)) else EventBody.from_obj(dict(body_raw))
    refuse_reserved(body.type)
    if body.org != actor.org:
        raise CustodyError(Said(f"the body's org {body.org!r} is not your org {actor.org!r}",
                                f"记录中的机构 {body.org!r} 不是本机构 {actor.org!r}"), field="org")
    stored = tx.stored_by_id(body.id)
    if stored is not None:
        if stored.hash == body.hash:
            return replace(stored, created=False)
        raise ChainConflictError(Said(f"event id {body.id} is already used by a different event",
                                      f"记录编号 {body.id} 已被另一条不同的记录使用"), field="id")
    key = tx.uow.key(body.key)
    if key is None or key.org_id != actor.org or key.purpose not in ORG_PURPOSES or key.added_seq is None:
        raise SignatureError(Said(f"key {body.key} is not a key of org {actor.org}",
                                  f"密钥 {body.key} 不是机构 {actor.org} 的密钥"), field="key")
    if key.ended_seq is not None:
        raise SignatureError(Said(f"key {body.key} is no longer valid ({key.end_reason})",
                                  f"密钥 {body.key} 已失效（{key.end_reason}）"), field="key")
    if not isinstance(signature, str) or not verify_event_signature(unb64(key.public_key), body.hash, signature):
        raise SignatureError(Said("the signature does not verify for this body and key",
                                  "签名验证未通过：签名与这条记录和密钥不符"), field="signature")
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
        raise InvalidEventError(Said("data.personal must be an object of short texts (name, phone, id_number)",
                                     "个人信息须是几项简短的文字（姓名、电话、身份证号）"), field="data.personal")
    salt = secrets.token_hex(16)
    clear = canonicalize(personal)
    ref = hashlib.sha256(bytes.fromhex(salt) + clear).hexdigest()
    tx.keep_personal(ref, salt, clear.decode("utf-8"), actor.org)
    obj["data"] = {**data, "personal": {"ref": ref}}


def _admit(tx: AppendTx, body: EventBody, batch: BatchRow | None, actor: Actor) -> list[tuple[str, str, str]]:
    """Custody, event-time and family rules: raise to refuse, else return the findings to record."""
    check_custody(tx, body, batch, actor)
    check_event_time(tx, body, batch)
    require_stored(tx.documents, body.type, body.data)  # a certificate's PDF is on this server
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
        raise InvalidEventError(Said(f"unknown event type {obj.get('type')!r}", f"未知的记录类型 {obj.get('type')!r}"),
                                field="type")
    if kind.batchless:
        return None
    batch_id = obj.get("batch")
    if not isinstance(batch_id, str):
        raise InvalidEventError(Said("batch is required", "必须填写批次"), field="batch")
    batch = tx.batch(batch_id)
    if kind.genesis:
        if batch is not None:
            raise ChainConflictError(Said(f"batch {batch_id} already exists", f"批次 {batch_id} 已存在"), field="batch")
        return None
    if batch is None:
        raise NotFoundError(Said(f"no batch {batch_id}", f"批次 {batch_id} 不存在"), field="batch")
    return batch


def _check_chain(tx: AppendTx, body: EventBody, batch: BatchRow | None) -> None:
    if body.kind.genesis:
        lot = str(body.data["lot"])
        if tx.lot_taken(body.org, str(body.data["product"]), lot):
            raise ChainConflictError(Said(f"lot {lot} of this product already exists for {body.org}",
                                          f"{body.org} 的这个产品已有批号 {lot}"), field="data.lot")
        return
    if batch is None:
        return
    if body.prev != batch.head:
        raise ChainConflictError(Said(f"prev {body.prev} is not the chain head of batch {batch.id} ({batch.head})",
                                      f"所接续的记录 {body.prev} 不是批次 {batch.id} 的最新一条记录（{batch.head}）"),
                                 field="prev")
    if body.type == "correct" and tx.batch_of_event(str(body.data["amends"])) != batch.id:
        raise InvalidEventError(Said("data.amends must name an earlier event of the same batch",
                                     "更正须指明同一批次中较早的一条记录"), field="data.amends")


DRIVER_INTEGRITY_ERRORS: tuple[type[Exception], ...] = (sqlite3.IntegrityError, psycopg.IntegrityError)
DB_REFUSALS: tuple[type[Exception], ...] = (IntegrityError, OperationalError, *DRIVER_INTEGRITY_ERRORS)


def translate_db_error(err: Exception) -> FarmtraceError:
    """Turn a database refusal during an append into a clear conflict.

    The append path's multi-row inserts go straight to the driver, so its IntegrityError
    (sqlite3's or psycopg's) arrives unwrapped as well as SQLAlchemy's.
    """
    if isinstance(err, (IntegrityError, *DRIVER_INTEGRITY_ERRORS)):
        return ChainConflictError(Said("another append won the race for this batch or event id; read the new head and "
                                       "retry", "另一条记录先写入了这个批次或记录编号：请读取最新记录后重试"))
    if isinstance(err, OperationalError) and "locked" in str(err).lower():
        return ChainConflictError(Said("the ledger is busy; retry", "账本正忙，请重试"))
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
        raise InvalidEventError(Said(f"at most {MAX_BATCH_APPEND} events per batch append, got {len(drafts)}",
                                     f"一次批量提交最多 {MAX_BATCH_APPEND} 条记录，收到 {len(drafts)} 条"), field="items")
    stored = []
    for i, draft in enumerate(drafts):
        try:
            if is_signed_submission(draft):
                if set(draft) != {"body", "signature"}:
                    raise InvalidEventError(Said("a pre-signed item has exactly two fields: body and signature",
                                                 "已签名的条目只能有两项：记录正文 (body) 和签名 (signature)"),
                                            field="signature" if "signature" not in draft else "body")
                if not isinstance(draft["body"], Mapping) or not isinstance(draft["signature"], str):
                    raise InvalidEventError(Said("body must be a JSON object and signature a base64 string",
                                                 "记录正文 (body) 须是 JSON 对象，签名 (signature) 须是 base64 字符串"),
                                            field="body" if not isinstance(draft["body"], Mapping) else "signature")
                stored.append(append_presigned(tx, draft["body"], draft["signature"], actor=actor))
            else:
                stored.append(append_custodial(tx, draft, actor=actor))
        except FarmtraceError as err:  # name the item, so the client knows which one to fix
            err.field = f"items[{i}]" + (f".{err.field}" if err.field else "")
            err.message = f"item {i}: {err.message}"
            if err.message_zh:
                err.message_zh = f"第 {i} 条：{err.message_zh}"
            raise
    return stored

"""The regulator's desk: search any batch, audit one chain event by event, list what a recall reaches,
and run mock recalls (issue "The regulator's desk"; docs/desk.md).

1. search: every filter is parsed at the edge (`SearchQuery.parse`), each problem named by its field
   in both languages; the query is one SELECT with a COUNT beside it, sorted and paged in the database.
2. audit: each event gets its own verdicts, not one reason: the hash of the stored text, the signature,
   the key's validity at the event's log position, the chain link, and its inclusion in the latest
   signed checkpoint (an RFC 6962 proof from the stored nodes, checked against the checkpoint's root
   after the checkpoint's own signature is checked with the log's keys).
3. recall scope: the batch and every descendant (one recursive query), with each lot's holder and,
   for a lot in transit, its receiver: who must act.
4. drills: the recall scope timed and kept (`recall_drills`), flagging nothing.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, exists, func, or_
from sqlalchemy import select as sa_select
from sqlalchemy.orm import aliased
from sqlmodel import col, select

from farmtrace.storage.models import Batch, CapCode, Event, Finding, GtinLot, Org, Recall, RecallDrill
from farmtrace.storage.uow import UnitOfWork

from farmtrace.ledger import merkle
from farmtrace.ledger.checkpoint import Checkpoint as SignedCheckpoint
from farmtrace.ledger.checkpoint import verifier_key
from farmtrace.ledger.errors import FarmtraceError, NotFoundError, Said
from farmtrace.ledger.signing import unb64, verify_event_signature
from farmtrace.rules.declare import COUNTIES
from farmtrace.rules.steps import FAMILIES
from farmtrace.services import devices
from farmtrace.services.ledger import Ledger
from farmtrace.services.transaction import Actor

PAGE_SIZE = 25
MAX_PAGE = 100_000
STATUSES = ("in_stock", "in_transit", "recalled", "warnings", "closed")
SORTS = ("date", "lot", "product", "holder", "status", "family")
WARNING_SEVERITIES = ("warning", "fail")
_GTIN = re.compile(r"^[0-9]{8,14}$")
_SERIAL = re.compile(r"^[A-Za-z0-9._-]{1,20}$")
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_TEXT_MAX = 64


# ---- 1. search --------------------------------------------------------------------------------

@dataclass(frozen=True)
class SearchQuery:
    """A parsed search: every field already checked (None: not filtered)."""

    text: str | None = None        # lot code, batch id or product, contained
    gtin: str | None = None        # 14 digits
    serial: str | None = None
    org: str | None = None         # holder or origin org
    product: str | None = None
    family: str | None = None
    county: str | None = None      # of the holder or the origin org
    since: date | None = None      # the lot's first event, on or after
    until: date | None = None      # ... on or before
    status: str | None = None
    sort: str = "date"
    descending: bool = True
    page: int = 1

    FIELDS = ("q", "gtin", "serial", "org", "product", "family", "county", "from", "to", "status", "sort",
              "dir", "page")

    @classmethod
    def parse(cls, args: Mapping[str, str], *, orgs: Mapping[str, Any]) -> tuple[SearchQuery, dict[str, Said]]:
        """The query the parameters ask for, and a message per bad parameter (field -> message)."""
        problems: dict[str, Said] = {}

        def text(name: str) -> str | None:
            value = (args.get(name) or "").strip()
            if len(value) > _TEXT_MAX:
                problems[name] = Said(f"at most {_TEXT_MAX} characters, got {len(value)}",
                                      f"最多 {_TEXT_MAX} 个字符，现有 {len(value)} 个")
                return None
            return value or None

        def choice(name: str, allowed: Mapping[str, Any] | tuple[str, ...], en: str, zh: str) -> str | None:
            value = text(name)
            if value is not None and value not in allowed:
                problems[name] = Said(f"{en} {value!r} is not one of the choices",
                                      f"{zh}“{value}”不在可选范围内")
                return None
            return value

        def day(name: str) -> date | None:
            value = text(name)
            if value is None:
                return None
            try:
                if not _DATE.match(value):
                    raise ValueError(value)
                return date.fromisoformat(value)
            except ValueError:
                problems[name] = Said(f"a date is written YYYY-MM-DD, got {value!r}",
                                      f"日期格式应为 年-月-日（如 2026-03-01），现为“{value}”")
                return None

        gtin = text("gtin")
        if gtin is not None and not _GTIN.match(gtin):
            problems["gtin"] = Said(f"a GTIN is 8 to 14 digits, got {gtin!r}", f"商品条码 (GTIN) 为 8 到 14 位数字，现为“{gtin}”")
            gtin = None
        serial = text("serial")
        if serial is not None and not _SERIAL.match(serial):
            problems["serial"] = Said(f"a serial is letters and digits, got {serial!r}",
                                      f"序列号只含字母和数字，现为“{serial}”")
            serial = None
        since, until = day("from"), day("to")
        if since and until and since > until:
            problems["to"] = Said(f"the end date {until} is before the start date {since}",
                                  f"结束日期 {until} 早于开始日期 {since}")
        page_text = text("page") or "1"
        page = int(page_text) if page_text.isdigit() and 1 <= int(page_text) <= MAX_PAGE else 0
        if not page:
            problems["page"] = Said(f"a page is a number from 1 to {MAX_PAGE}, got {page_text!r}",
                                    f"页码应为 1 到 {MAX_PAGE} 的数字，现为“{page_text}”")
        direction = choice("dir", ("asc", "desc"), "direction", "排序方向") or "desc"
        query = cls(text=text("q"), gtin=gtin.zfill(14) if gtin else None, serial=serial,
                    org=choice("org", orgs, "org", "机构"), product=text("product"),
                    family=choice("family", FAMILIES, "family", "品类"), county=choice("county", COUNTIES, "county", "区县"),
                    since=since, until=until, status=choice("status", STATUSES, "status", "状态"),
                    sort=choice("sort", SORTS, "sort", "排序") or "date", descending=direction == "desc",
                    page=page or 1)
        return query, problems

    def args(self, **change: Any) -> dict[str, str]:
        """The query as URL parameters (for pager and sort links), with `change` applied."""
        values = {"q": self.text, "gtin": self.gtin, "serial": self.serial, "org": self.org, "product": self.product,
                  "family": self.family, "county": self.county, "from": self.since and self.since.isoformat(),
                  "to": self.until and self.until.isoformat(), "status": self.status,
                  "sort": None if self.sort == "date" else self.sort, "dir": None if self.descending else "asc",
                  "page": None if self.page == 1 else str(self.page)}
        values.update(change)
        return {k: str(v) for k, v in values.items() if v not in (None, "")}


@dataclass(frozen=True)
class FoundBatch:
    id: str
    product: str
    lot: str
    family: str
    holder: str
    holder_name: str
    origin_name: str
    status: str            # held | in_transit | consumed | sold
    transit_to_name: str | None
    quantity: str | None
    unit: str | None
    started: str           # the `at` of its first event
    recalled: bool
    warnings: int


@dataclass(frozen=True)
class SearchPage:
    query: SearchQuery
    rows: list[FoundBatch]
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PAGE_SIZE))


def search(ledger: Ledger, query: SearchQuery) -> SearchPage:
    """The batches that match every filter of `query`, one page of them, sorted as asked."""
    holder, origin, receiver = aliased(Org), aliased(Org), aliased(Org)
    first = aliased(Event)
    recalled = exists().where(col(Recall.batch_id) == col(Batch.id))
    warned = (select(func.count()).select_from(Finding)
              .where(col(Finding.batch_id) == col(Batch.id), col(Finding.severity).in_(WARNING_SEVERITIES))
              .correlate(Batch).scalar_subquery())
    conditions: list[Any] = []
    if query.text:
        needle = _like(query.text)
        conditions.append(or_(col(Batch.lot).like(needle, escape="\\"), col(Batch.id).like(needle, escape="\\"),
                              col(Batch.product).like(needle, escape="\\")))
    if query.product:
        conditions.append(col(Batch.product).like(_like(query.product), escape="\\"))
    if query.gtin:
        conditions.append(exists().where(col(GtinLot.batch_id) == col(Batch.id), col(GtinLot.gtin) == query.gtin))
    if query.serial:
        conditions.append(exists().where(col(CapCode.batch_id) == col(Batch.id), col(CapCode.serial) == query.serial))
    if query.org:
        conditions.append(or_(col(Batch.org_id) == query.org, col(Batch.origin_org) == query.org))
    if query.family:
        conditions.append(col(Batch.family) == query.family)
    if query.county:
        conditions.append(or_(col(holder.county) == query.county, col(origin.county) == query.county))
    if query.since:
        conditions.append(func.substr(col(first.at), 1, 10) >= query.since.isoformat())
    if query.until:
        conditions.append(func.substr(col(first.at), 1, 10) <= query.until.isoformat())
    if query.status == "in_stock":
        conditions.append(col(Batch.status) == "held")
    elif query.status == "in_transit":
        conditions.append(col(Batch.status) == "in_transit")
    elif query.status == "closed":
        conditions.append(col(Batch.status).in_(("consumed", "sold")))
    elif query.status == "recalled":
        conditions.append(recalled)
    elif query.status == "warnings":
        conditions.append(exists().where(col(Finding.batch_id) == col(Batch.id),
                                         col(Finding.severity).in_(WARNING_SEVERITIES)))
    order = {"date": col(Batch.created_seq), "lot": col(Batch.lot), "product": col(Batch.product),
             "holder": col(holder.name), "status": col(Batch.status), "family": col(Batch.family)}[query.sort]
    columns: list[Any] = [Batch, holder.name, origin.name, receiver.name, first.at, recalled, warned]
    joined: Any = (sa_select(*columns)
              .join(holder, col(holder.id) == col(Batch.org_id))
              .outerjoin(origin, col(origin.id) == col(Batch.origin_org))
              .outerjoin(receiver, col(receiver.id) == col(Batch.transit_to))
              .outerjoin(first, col(first.seq) == col(Batch.created_seq))
              .where(and_(True, *conditions)))
    counted: Any = (sa_select(func.count()).select_from(Batch)
               .join(holder, col(holder.id) == col(Batch.org_id))
               .outerjoin(origin, col(origin.id) == col(Batch.origin_org))
               .outerjoin(first, col(first.seq) == col(Batch.created_seq))
               .where(and_(True, *conditions)))
    ordered = joined.order_by(order.desc() if query.descending else order.asc(),
                              col(Batch.created_seq).desc() if query.descending else col(Batch.created_seq).asc())
    with ledger.uow() as uow:
        total = int(uow.session.execute(counted).scalar_one())
        rows: Any = uow.session.execute(ordered.offset((query.page - 1) * PAGE_SIZE).limit(PAGE_SIZE)).all()
    found = [FoundBatch(b.id, b.product, b.lot, b.family, b.org_id, holder_name or b.org_id,
                        origin_name or (b.origin_org or ""), b.status, receiver_name, b.quantity, b.unit,
                        str(at or ""), bool(is_recalled), int(warnings or 0))
             for b, holder_name, origin_name, receiver_name, at, is_recalled, warnings in rows]
    return SearchPage(query, found, total)


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


# ---- 2. audit --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Verdict:
    ok: bool | None            # None: not checked (e.g. not yet in a checkpoint)
    reason: str | None = None  # a Said when not ok


@dataclass(frozen=True)
class AuditRow:
    """One event of the chain with each of its own verdicts."""

    seq: int
    hash: str
    type: str
    at: str
    org: str
    data: dict[str, Any]
    key: str
    device: str                # a tablet's label when its device key signed, else ""
    hash_ok: Verdict
    signature: Verdict
    key_valid: Verdict
    link: Verdict
    included: Verdict
    findings: list[Finding]
    amends: str | None = None             # the hash this correction amends
    amends_type: str | None = None
    corrected_by: list[str] = field(default_factory=list)  # hashes of corrections of this event

    @property
    def ok(self) -> bool:
        return all(v.ok is not False for v in (self.hash_ok, self.signature, self.key_valid, self.link, self.included))


@dataclass(frozen=True)
class AuditView:
    batch: Batch
    orgs: dict[str, Org]
    rows: list[AuditRow]
    checkpoint_size: int | None
    checkpoint_at: datetime | None
    checkpoint_ok: Verdict
    recall: str | None
    recall_reason: str | None
    drills: list[RecallDrill]

    @property
    def failed(self) -> list[AuditRow]:
        return [r for r in self.rows if not r.ok]


def audit(ledger: Ledger, batch_id: str) -> AuditView:
    """Every event of `batch_id` with its own verdicts, findings and corrections, and the batch's drills."""
    with ledger.uow() as uow:
        batch = uow.batch(batch_id)
        if batch is None:
            raise NotFoundError(Said(f"no batch {batch_id}", f"批次 {batch_id} 不存在"), field="batch")
        keys = {k.id: k for k in uow.keys()}
        events = uow.events_of_batch(batch_id)
        findings: dict[str, list[Finding]] = {}
        for finding in uow.findings_of_batch(batch_id):
            findings.setdefault(finding.event_hash, []).append(finding)
        checkpoint = uow.latest_checkpoint()
        root, checkpoint_ok = _checked_root(uow, checkpoint, keys, ledger.log_origin)
        labels = devices.labels(uow, {e.key_id for e in events})
        rows = []
        head: str | None = None
        for event in events:
            raw = event.canonical.encode("utf-8")
            body = _body(event.canonical)
            digest = hashlib.sha256(raw).hexdigest()
            key = keys.get(event.key_id)
            hash_ok = Verdict(True) if digest == event.hash else Verdict(False, Said(
                f"the stored text hashes to {digest[:16]}…, not to the stored hash",
                f"存储的事件内容哈希为 {digest[:16]}…，与存储的哈希不符"))
            if key is None or key.org_id != event.org_id:
                signature = Verdict(False, Said(f"unknown key {event.key_id}", f"未知的密钥 {event.key_id}"))
            elif verify_event_signature(unb64(key.public_key), digest, event.signature):
                signature = Verdict(True)
            else:
                signature = Verdict(False, Said(f"the signature does not verify with key {event.key_id}",
                                                f"签名无法用密钥 {event.key_id} 验证"))
            if key is None:
                key_valid = Verdict(False, Said(f"unknown key {event.key_id}", f"未知的密钥 {event.key_id}"))
            elif (key.added_seq is not None and event.seq <= key.added_seq) or (
                    key.ended_seq is not None and event.seq >= key.ended_seq):
                key_valid = Verdict(False, Said(f"key {event.key_id} was not valid at log position {event.seq}",
                                                f"密钥 {event.key_id} 在日志位置 {event.seq} 时无效"))
            else:
                key_valid = Verdict(True)
            link = Verdict(True) if body.get("prev") == head else Verdict(False, Said(
                "does not link to the previous event of this batch", "未链接到本批次的上一条记录"))
            head = event.hash
            included = _included(uow, checkpoint.size if checkpoint else None, root, event.seq, raw)
            raw_data = body.get("data")
            data: dict[str, Any] = raw_data if isinstance(raw_data, dict) else {}
            amends = str(data.get("amends")) if event.type == "correct" and data.get("amends") else None
            rows.append(AuditRow(event.seq, event.hash, event.type, event.at, event.org_id, dict(data or {}),
                                 event.key_id, labels.get(event.key_id, ""), hash_ok, signature, key_valid, link,
                                 included, findings.get(event.hash, []), amends))
        recall = uow.recall_of(batch_id)
        reason = None
        if recall is not None:
            notice = uow.event_by_hash(recall)
            notice_data = _body(notice.canonical).get("data") if notice else None
            reason = str(notice_data.get("reason", "")) if isinstance(notice_data, dict) else None
        orgs = {o.id: o for o in uow.orgs()}
        drills = drills_of(uow, batch_id)
    by_hash = {r.hash: r for r in rows}
    for row in rows:
        if row.amends is not None:
            amended = by_hash.get(row.amends)
            if amended is not None:
                amended.corrected_by.append(row.hash)
    rows = [r if r.amends is None or r.amends not in by_hash else
            AuditRow(**{**r.__dict__, "amends_type": by_hash[r.amends].type}) for r in rows]
    return AuditView(batch, orgs, rows, checkpoint.size if checkpoint else None,
                     checkpoint.created_at if checkpoint else None, checkpoint_ok, recall, reason, drills)


def _body(canonical: str) -> dict[str, Any]:
    try:
        body = json.loads(canonical)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _checked_root(uow: UnitOfWork, checkpoint: Any, keys: Mapping[str, Any], origin: str) -> tuple[bytes | None, Verdict]:
    """The latest checkpoint's root, once its note's signature verifies with one of the log's keys."""
    if checkpoint is None:
        return None, Verdict(None, Said("the log has no signed checkpoint yet", "日志还没有签名检查点"))
    verifiers = [verifier_key(origin, unb64(k.public_key)) for k in keys.values() if k.purpose == "log"]
    try:
        signed = SignedCheckpoint.from_note(checkpoint.note.encode("utf-8"), verifiers)
    except FarmtraceError as err:
        return None, Verdict(False, Said(f"the latest checkpoint does not verify: {err.message}",
                                         f"最新检查点的签名无法验证：{err.message}"))
    if signed.size != checkpoint.size:
        return None, Verdict(False, Said("the checkpoint's signed size differs from its stored size",
                                         "检查点签名中的大小与存储的大小不符"))
    return signed.root, Verdict(True)


def _included(uow: UnitOfWork, size: int | None, root: bytes | None, seq: int, raw: bytes) -> Verdict:
    if size is None or seq >= size:
        return Verdict(None, Said("not yet in a signed checkpoint", "尚未纳入签名检查点"))
    if root is None:
        return Verdict(False, Said("the checkpoint does not verify", "检查点无法验证"))
    try:
        proof = merkle.inclusion_proof(seq, size, uow.merkle_nodes)
        merkle.verify_inclusion(merkle.leaf_hash(raw), seq, size, proof, root)
    except FarmtraceError as err:
        return Verdict(False, Said(f"no inclusion proof at position {seq} of {size}: {err.message}",
                                   f"位置 {seq} 在大小为 {size} 的检查点中无法证明纳入：{err.message}"))
    return Verdict(True)


# ---- 3. recall scope ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Holder:
    org: str
    name: str
    phone: str | None
    lots: list[str]        # batch ids it holds or is receiving


@dataclass(frozen=True)
class RecallScope:
    """What recalling `root` reaches: the lot and every descendant, and every org that holds one."""

    root: str
    lots: list[dict[str, Any]]   # batch summaries (uow.batch_summaries) + holder_name, transit_to
    holders: list[Holder]
    recalled_already: list[str]  # lots already under a recall


def recall_scope(ledger: Ledger, batch_id: str) -> RecallScope:
    """The batch, every descendant and every holder (or receiver, in transit): one recursive query and two reads."""
    with ledger.uow() as uow:
        return _scope(uow, batch_id)


def _scope(uow: UnitOfWork, batch_id: str) -> RecallScope:
    if uow.batch(batch_id) is None:
        raise NotFoundError(Said(f"no batch {batch_id}", f"批次 {batch_id} 不存在"), field="batch")
    ids = sorted(uow.descendants([batch_id]) | {batch_id})
    lots = uow.batch_summaries(ids)
    transit = dict(uow.session.execute(select(Batch.id, Batch.transit_to).where(col(Batch.id).in_(ids))).all())
    names = {o.id: o for o in uow.orgs()}
    holders: dict[str, list[str]] = {}
    for lot in lots:
        lot["transit_to"] = transit.get(lot["id"])
        lot["holder_name"] = names[lot["holder"]].name if lot["holder"] in names else lot["holder"]
        for org in filter(None, (lot["holder"], lot["transit_to"])):
            holders.setdefault(org, []).append(lot["id"])
    shown = [Holder(org, names[org].name if org in names else org, names[org].contact_phone if org in names else None,
                    batch_ids) for org, batch_ids in sorted(holders.items())]
    return RecallScope(batch_id, lots, shown, [lot["id"] for lot in lots if lot["recall"]])


# ---- 4. mock recall drills -----------------------------------------------------------------------

IBM_FOOD_TRUST_SECONDS = 2.2  # Walmart's mango lot traced on IBM Food Trust (2018): the figure a drill is set beside


def mock_recall(ledger: Ledger, batch_id: str, *, actor: Actor) -> tuple[RecallDrill, RecallScope]:
    """Run the whole recall query for `batch_id` without flagging anything; keep the drill (who, when, how long)."""
    started = time.perf_counter()
    scope = recall_scope(ledger, batch_id)
    micros = max(1, round((time.perf_counter() - started) * 1_000_000))
    drill = RecallDrill(batch_id=batch_id, run_by=actor.user or actor.org, org_id=actor.org, lots=len(scope.lots),
                        holders=len(scope.holders), micros=micros)

    def command(uow: UnitOfWork) -> RecallDrill:
        uow.add(drill)
        uow.flush()
        return drill
    return ledger.write(command), scope


def drills_of(uow: UnitOfWork, batch_id: str, limit: int = 20) -> list[RecallDrill]:
    """The batch's latest mock recalls, newest first."""
    return list(uow.session.scalars(select(RecallDrill).where(col(RecallDrill.batch_id) == batch_id)
                                    .order_by(col(RecallDrill.id).desc()).limit(limit)))


def org_choices(ledger: Ledger) -> list[Org]:
    """Every org, by name: the search form's choices."""
    with ledger.uow() as uow:
        return sorted(uow.orgs(), key=lambda o: o.name)

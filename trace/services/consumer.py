"""What a consumer's scan shows: the lot, where it came from, each step, lab results, certificates, recall.

Rules:
1. A lot is found by GS1 Digital Link (`/01/{gtin}/10/{lot}`, from the lot's `packed` event) or
   by its unguessable public token (`/p/{token}`, made when a label is first printed).
2. The journey is every event of the lot and of every batch it was made from, back to the
   farms, in time order; each step is checked here (hash, signature, key validity, link) and
   the page says so, whether or not the phone checks it again.
3. Lab results come from `test` events with the verdict the family rules computed at append
   (the finding names the limit and the standard); nothing is typed in as "pass".
4. Certificates are events whose data carries a certificate number (合格证, quarantine) or a
   `certified` step (organic, green food, geographic indication, 富硒 report) with issuer and
   validity; one past `valid_until` is shown as expired.
5. A recall of the lot or of anything it was made from is shown first, with its reason.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time
import weakref
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import bindparam, select, text
from sqlmodel import col

from farmtrace.storage.models import Batch, Org, PublicToken
from farmtrace.storage.uow import UnitOfWork

from farmtrace.rules.certified import GREEN_SCHEMES, LOW_CARBON_SCHEMES, Standing, is_certificate, judge, scheme_of
from farmtrace.rules.certified import covers as scope_covers
from farmtrace.rules.declare import Words
from farmtrace.rules.families.produce import COUNTY_NAMES
from farmtrace.rules.gs1 import ai_value, gtin14
from farmtrace.services.footprint import Footprint, footprint
from farmtrace.services.ledger import Ledger
from farmtrace.rules.gs1 import SERIAL, serial_ranges
from farmtrace.services.verify import verify_batch

CERTIFICATE_FIELDS = ("certificate_no", "quarantine_certificate", "quality_certificate")


@dataclass(frozen=True)
class Step:
    at: str
    batch: str
    product: str
    type: str
    name: str  # the step as people name it: data.step for observations, else the type
    org: str
    org_name: str
    county: str
    data: dict[str, Any]
    hash: str
    ok: bool
    reason: str | None
    findings: list[dict[str, str | None]] = field(default_factory=list)


@dataclass(frozen=True)
class LabResult:
    at: str
    batch: str
    product: str
    analyte: str
    value: str
    unit: str
    report_no: str
    lab: str
    verdict: str  # pass | fail | none (no rule for this analyte)
    message: str  # the rule's words: limit and standard
    message_zh: str | None = None  # the same in Chinese (None for findings older than migration 0009)


@dataclass(frozen=True)
class Certificate:
    kind: str
    number: str
    issuer: str
    valid_until: str | None
    expired: bool
    batch: str
    valid_from: str | None = None
    standing: Standing | None = None  # a `certified` record's judgement: expired, not yet valid, out of scope
    covers_lot: bool = False          # its scope covers the lot this page is about (what a claim needs)
    document: str | None = None       # SHA-256 of its PDF (/documents/<sha256>.pdf)
    scope: str = ""


@dataclass(frozen=True)
class Claim:
    """A claim the page may make, and the certificate (or footprint) behind it."""

    kind: str        # "green" | "low_carbon" | "footprint"
    words: Words     # (zh, en)
    basis: str       # the certificate number behind it, or "footprint"


GREEN: Words = ("绿色", "green")
LOW_CARBON: Words = ("低碳", "low-carbon")
FOOTPRINT: Words = ("碳足迹已核算", "carbon footprint on record")


def claims(certificates: list[Certificate], *, has_footprint: bool = False, lot: str | None = None) -> list[Claim]:
    """The green and carbon claims a lot's page may show: 绿色 only when a green food or organic certificate
    valid today covers the lot; 低碳 only when a valid low-carbon product certificate (绿色低碳产品认证) does.
    With `lot`, only a certificate recorded on that lot itself counts: these schemes certify the operator's
    own product, so a farm's certificate on its paddy does not make the mill's rice green food, and no
    upstream org can put a claim on a downstream org's page.
    A computed footprint (has_footprint) is a measured figure, not a judgement that the product is low in
    carbon (GB/T 24067-2024 quantifies, it does not certify): it is claimed as "碳足迹已核算" beside its
    number, never as 低碳. Nothing else makes a claim (docs/certificates.md, docs/carbon.md)."""
    def backing(schemes: frozenset[str]) -> Certificate | None:
        return next((c for c in certificates if c.standing is not None and c.standing.is_good and c.covers_lot
                     and c.kind in schemes and (lot is None or c.batch == lot)), None)
    out = []
    if (green := backing(GREEN_SCHEMES)) is not None:
        out.append(Claim("green", GREEN, green.number))
    if (low := backing(LOW_CARBON_SCHEMES)) is not None:
        out.append(Claim("low_carbon", LOW_CARBON, low.number))
    if has_footprint:
        out.append(Claim("footprint", FOOTPRINT, "footprint"))
    return out


@dataclass(frozen=True)
class Recall:
    batch: str
    reason: str
    at: str
    by: str


@dataclass
class ProductView:
    batch: Batch
    holder: str
    producer: str
    origins: list[tuple[str, str]]  # (org name, county) of the farms the lot came from
    steps: list[Step]
    lab: list[LabResult]
    certificates: list[Certificate]
    recall: Recall | None
    verified: bool
    lineage: list[str]
    gtin: str | None
    etag: str
    shipped_to: list[tuple[str, str, str]] = field(default_factory=list)  # (org, county, date) of the lot's ships
    claims: list[Claim] = field(default_factory=list)  # 绿色 / 低碳, only with a certificate behind them
    footprint: Footprint | None = None  # its carbon footprint, when activity data was recorded (docs/carbon.md)


def resolve_digital_link(ledger: Ledger, gtin: str, lot: str) -> str | None:
    """The batch `/01/{gtin}/10/{lot}` names, or None (also for a malformed GTIN or lot)."""
    g, l = gtin14(gtin), ai_value(lot)
    if g is None or l is None:
        return None
    with ledger.uow() as uow:
        return uow.gtin_lot(g, l)


_SERIAL_LOTS = text("SELECT e.batch_id, e.canonical FROM gtin_lots g JOIN events e ON e.batch_id = g.batch_id "
                    "AND e.type = 'commissioned' WHERE g.gtin = :g ORDER BY e.seq")


def resolve_serial(ledger: Ledger, gtin: str, serial: str) -> str | None:
    """The lot `/01/{gtin}/21/{serial}` names (the form EPCIS exports name bottles with): among the lots
    packed with that GTIN, the first whose `commissioned` ranges hold the serial; None if none does.

    A GTIN + serial is unique (GS1 General Specifications); should two lots overlap, the earlier
    commissioning wins, as it did on the bottles first printed."""
    g, s = gtin14(gtin), ai_value(serial)
    if g is None or s is None:
        return None
    match = SERIAL.match(s)
    if match is None:
        return None
    prefix, digits = match.group(1), match.group(2)
    with ledger.uow() as uow:
        rows = uow.connection.execute(_SERIAL_LOTS, {"g": g}).all()
    for batch_id, canonical in rows:
        for p, first, last, width in serial_ranges([str(canonical)]):
            if p == prefix and width == len(digits) and first <= int(digits) <= last:
                return str(batch_id)
    return None


def resolve_token(ledger: Ledger, token: str) -> str | None:
    """The batch behind a public token, or None."""
    if not (8 <= len(token) <= 32) or not token.replace("-", "").replace("_", "").isalnum():
        return None
    with ledger.uow() as uow:
        row = uow.connection.execute(text("SELECT batch_id FROM public_tokens WHERE token = :t"),
                                     {"t": token}).scalar()
        return None if row is None else str(row)


def public_token(ledger: Ledger, batch_id: str) -> str:
    """The batch's public token, made (and stored) the first time it is asked for."""
    with ledger.uow() as uow:
        row = uow.session.get(PublicToken, batch_id)
        if row is not None:
            return row.token

    def command(uow: Any) -> str:
        existing = uow.session.get(PublicToken, batch_id)
        if existing is not None:
            return str(existing.token)
        token = secrets.token_urlsafe(12)  # 96 bits: unguessable
        uow.add(PublicToken(batch_id=batch_id, token=token))
        return token
    return ledger.write(command)


def gtin_of(ledger: Ledger, batch_id: str) -> tuple[str, str] | None:
    """(gtin, lot) of the lot's Digital Link, if it was packed with a GTIN."""
    with ledger.uow() as uow:
        row = uow.connection.execute(text("SELECT gtin, lot FROM gtin_lots WHERE batch_id = :b LIMIT 1"),
                                     {"b": batch_id}).fetchone()
    return None if row is None else (str(row[0]), str(row[1]))


def page_state(ledger: Ledger, batch_id: str, *, today: date | None = None) -> str | None:
    """A short key that changes whenever the lot's page would: any new event in its lineage (the
    chain heads), a recall, the day (certificates expire). None if there is no such batch. Three
    indexed reads, no signature checks: what a cached page is looked up by, and its ETag."""
    with ledger.uow() as uow:
        return _page_state(uow, batch_id, today)


def lot_state(ledger: Ledger, gtin: str, lot: str, *, today: date | None = None) -> tuple[str, str] | None:
    """(batch, page state) of the lot a Digital Link names, in one unit of work; None if unknown."""
    g, l = gtin14(gtin), ai_value(lot)
    if g is None or l is None:
        return None
    with ledger.uow() as uow:
        batch_id = uow.gtin_lot(g, l)
        state = None if batch_id is None else _page_state(uow, batch_id, today)
    return None if batch_id is None or state is None else (batch_id, state)


def _page_state(uow: UnitOfWork, batch_id: str, today: date | None) -> str | None:
    heads, recall_hash = uow.lineage_heads(batch_id)
    if batch_id not in heads:
        return None
    lineage = [batch_id, *sorted(b for b in heads if b != batch_id)]
    return _state_key([heads.get(b) or "" for b in lineage], recall_hash, today or date.today())


def _state_key(heads: list[str], recall_hash: str | None, today: date) -> str:
    return hashlib.sha256(json.dumps([heads, recall_hash, str(today)]).encode()).hexdigest()[:32]


_CHAINS = text("SELECT seq, hash, type, at, org_id, key_id, canonical, signature, batch_id FROM events "
               "WHERE batch_id IN :ids ORDER BY seq").bindparams(bindparam("ids", expanding=True))
_FINDINGS = text("SELECT event_hash, rule, severity, message, message_zh FROM findings WHERE batch_id IN :ids "
                 "ORDER BY id").bindparams(bindparam("ids", expanding=True))


class _Registry:
    """Orgs and keys, read at most every `ttl` seconds, and at once when a page names one not yet seen.

    Safe for the server's verdict: a key's validity for an event already in the log never changes
    (a rotation or revocation ends it at a later position), and a new key is a miss, so re-read.
    """

    def __init__(self, ttl: float = 10.0) -> None:
        self.ttl = ttl
        self._read_at = -ttl
        self._orgs: dict[str, Org] = {}
        self._keys: dict[str, Any] = {}
        self._lock = threading.Lock()

    def read(self, uow: UnitOfWork, wanted: set[str]) -> tuple[dict[str, Org], dict[str, Any]]:
        with self._lock:
            fresh = time.monotonic() - self._read_at < self.ttl
            if not fresh or not wanted <= (self._orgs.keys() | self._keys.keys()):
                self._orgs = {o.id: o for o in uow.orgs()}
                self._keys = {k.id: k for k in uow.keys()}
                self._read_at = time.monotonic()
            return self._orgs, self._keys


_REGISTRIES: weakref.WeakKeyDictionary[Ledger, _Registry] = weakref.WeakKeyDictionary()
_REGISTRIES_LOCK = threading.Lock()


def _registry(ledger: Ledger) -> _Registry:
    with _REGISTRIES_LOCK:
        registry = _REGISTRIES.get(ledger)
        if registry is None:
            registry = _REGISTRIES[ledger] = _Registry()
        return registry


def product_view(ledger: Ledger, batch_id: str, *, today: date | None = None) -> ProductView | None:
    """Everything the consumer page shows about `batch_id`, or None if there is no such batch."""
    today = today or date.today()
    with ledger.uow() as uow:
        batch = uow.batch(batch_id)
        if batch is None:
            return None
        ancestors = sorted(uow.ancestors([batch_id]))
        lineage = [batch_id, *ancestors]
        found = {b.id: b for b in uow.session.scalars(select(Batch).where(col(Batch.id).in_(lineage)))}
        batches = {b: found.get(b) for b in lineage}
        chains: dict[str, list[Any]] = {}
        for event in uow.connection.execute(_CHAINS, {"ids": lineage}):
            chains.setdefault(str(event.batch_id), []).append(event)
        used = {e.key_id for chain in chains.values() for e in chain} | {e.org_id for c in chains.values() for e in c}
        orgs, keys = _registry(ledger).read(uow, used)
        findings: dict[str, list[dict[str, str | None]]] = {}
        for f in uow.connection.execute(_FINDINGS, {"ids": lineage}):
            findings.setdefault(str(f.event_hash), []).append({"rule": f.rule, "severity": f.severity,
                                                               "message": f.message, "message_zh": f.message_zh})
        steps: list[Step] = []
        recall_hash = uow.recall_of(batch_id)
        heads = []
        for b in lineage:
            row = batches[b]
            for c in verify_batch(uow, b, keys, chains.get(b, [])):
                org = orgs.get(c.org)
                name = str(c.data.get("step", c.type)) if c.type == "observe" else c.type
                steps.append(Step(c.at, b, row.product if row else b, c.type, name, c.org,
                                  org.name if org else c.org, COUNTY_NAMES.get(org.county or "", "") if org else "",
                                  c.data, c.hash, c.ok, c.reason, findings.get(c.hash, [])))
            heads.append((row.head or "") if row else "")
        recall = None
        if recall_hash is not None:
            notice = uow.event_by_hash(recall_hash)
            data = json.loads(notice.canonical).get("data", {}) if notice is not None else {}
            recall = Recall(str(notice.batch_id) if notice else "", str(data.get("reason", "")),
                            notice.at if notice else "", orgs[notice.org_id].name if notice and notice.org_id in orgs
                            else "")
    steps.sort(key=lambda s: (s.at, s.batch))
    origin_ids = [b for b in lineage if batches[b] is not None and not _made_from_inputs(steps, b)]
    origins = []
    for b in origin_ids:
        org = orgs.get(batches[b].origin_org or batches[b].org_id)  # type: ignore[union-attr]
        if org is not None and (org.name, COUNTY_NAMES.get(org.county or "", "")) not in origins:
            origins.append((org.name, COUNTY_NAMES.get(org.county or "", "")))
    producer_org = orgs.get(batch.origin_org or batch.org_id)
    link = gtin_of(ledger, batch_id)
    etag = _state_key(heads, recall_hash, today)
    certificates = _certificates(steps, today, {b: r.family for b, r in batches.items() if r is not None}, batch)
    carbon: Footprint | None = footprint(ledger, batch_id)
    if carbon is not None and not carbon.stages:
        carbon = None  # no activity data anywhere in its lineage: nothing to show, nothing to claim
    return ProductView(
        batch=batch, holder=orgs[batch.org_id].name if batch.org_id in orgs else batch.org_id,
        producer=producer_org.name if producer_org else batch.org_id, origins=origins, steps=steps,
        lab=_lab_results(steps, orgs), certificates=certificates,
        claims=claims(certificates, has_footprint=carbon is not None, lot=batch_id), footprint=carbon, recall=recall,
        verified=all(s.ok for s in steps), lineage=lineage, gtin=link[0] if link else None, etag=etag,
        shipped_to=[(orgs[str(s.data["to"])].name, COUNTY_NAMES.get(orgs[str(s.data["to"])].county or "", ""), s.at[:10])
                    for s in steps if s.batch == batch_id and s.type == "ship" and str(s.data.get("to")) in orgs])


def _made_from_inputs(steps: list[Step], batch_id: str) -> bool:
    return any(s.batch == batch_id and s.type == "transform" for s in steps)


def _lab_results(steps: list[Step], orgs: dict[str, Org]) -> list[LabResult]:
    out = []
    for s in steps:
        if s.type != "test":
            continue
        verdicts = [f for f in s.findings if f["rule"] == "verdict" or f["severity"] in ("pass", "fail")]
        verdict: dict[str, str | None] = verdicts[0] if verdicts else {"severity": "none", "message": "",
                                                                        "message_zh": None}
        out.append(LabResult(s.at, s.batch, s.product, str(s.data.get("analyte", "")),
                             "" if s.data.get("value") is None else str(s.data["value"]),
                             str(s.data.get("unit", "")), str(s.data.get("report_no", "")), s.org_name,
                             str(verdict["severity"]), str(verdict["message"] or ""), verdict.get("message_zh")))
    return out


def _categories(steps: list[Step], batch_id: str) -> set[str]:
    return {str(s.data["category"]) for s in steps if s.batch == batch_id and isinstance(s.data.get("category"), str)}


def _certificates(steps: list[Step], today: date, families: dict[str, str] | None = None,
                  lot: Batch | None = None) -> list[Certificate]:
    """Certificate numbers the lineage's events carry; a `certified` record is judged (rules/certified.py):
    on the batch it was recorded on (expired, not yet valid, out of scope) and whether it covers `lot`."""
    out: list[Certificate] = []
    seen: set[str] = set()
    families = families or {}
    for s in steps:
        for name in CERTIFICATE_FIELDS:
            number = s.data.get(name)
            if isinstance(number, str) and number and number not in seen:
                seen.add(number)
                until = s.data.get("valid_until")
                if s.type == "observe" and is_certificate(s.data):
                    standing = judge(s.data, today, family=families.get(s.batch, ""), product=s.product,
                                     categories=_categories(steps, s.batch))
                    covers_lot = lot is not None and scope_covers(
                        s.data, family=lot.family, product=lot.product, categories=_categories(steps, lot.id))
                    document = s.data.get("document")
                    out.append(Certificate(scheme_of(s.data), number, str(s.data.get("issuer") or s.org_name),
                                           until if isinstance(until, str) else None, standing.expired, s.batch,
                                           str(s.data.get("valid_from") or "") or None, standing, covers_lot,
                                           document if isinstance(document, str) else None,
                                           str(s.data.get("scope") or "")))
                    continue
                kind = str(s.data.get("scheme") or name)
                out.append(Certificate(kind, number, str(s.data.get("issuer") or s.org_name),
                                       until if isinstance(until, str) else None,
                                       isinstance(until, str) and until[:10] < today.isoformat(), s.batch))
    return out

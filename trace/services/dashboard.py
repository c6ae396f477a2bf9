"""The regulator's dashboard (`/desk/dashboard`): what needs a regulator's attention, read in one go.

What it counts (docs/desk-dashboard.md):
1. open soft-rule warnings: findings of severity "warning" on batches still in the chain (held or in
   transit); a lot that was sold or used up keeps its warnings in its audit view, not here. Counted by
   family and by the org that recorded the event, newest first;
2. cold-chain excursions: warnings on temperature readings (`temperature_logged`, `stored`) and from
   the families' temperature rules (RULE words "chilled", "frozen", "cold", "cutting_room");
3. certificates: `observe` events of step `certified` whose `valid_until` has passed, or falls
   within SOON days, or that are not yet valid or out of scope for their batch (rules/certified.py
   `judge`; the only place certificate expiry is recorded; an org's licences carry no expiry yet);
4. counterfeit-pattern serials: services/scans.py `alerts`;
5. recalls in progress: each recall event, the lots it flags, and how many of them are still held or
   in transit (not yet sold or used up);
6. log health: the log's size, the latest checkpoint and its age, events not yet in a checkpoint, and
   the last whole-log verification (services/verify_jobs.py).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import bindparam, text

from farmtrace.storage.uow import utc_aware

from farmtrace.rules.certified import Standing, is_certificate, judge, scheme_of
from farmtrace.rules.steps import FAMILIES
from farmtrace.services import scans, verify_jobs
from farmtrace.services.ledger import Ledger

SOON = 90  # days: a certificate expiring within this is "soon"
TEMPERATURE_TYPES = ("temperature_logged", "stored")
TEMPERATURE_WORDS = ("chilled", "frozen", "cold", "cutting_room", "temperature")
OPEN_STATUSES = ("held", "in_transit")
LIST_LIMIT = 50
CHINA = timezone(timedelta(hours=8))


@dataclass(frozen=True)
class OpenWarning:
    event_hash: str
    batch: str
    product: str
    family: str
    org: str
    org_name: str
    rule: str
    message: str
    message_zh: str | None
    at: str
    type: str


@dataclass(frozen=True)
class Certificate:
    batch: str
    product: str
    org_name: str
    scheme: str
    number: str
    issuer: str
    valid_until: date
    days_left: int          # negative: expired that many days ago
    standing: Standing | None = None  # expired, not yet valid, out of scope (rules/certified.py)

    @property
    def is_expired(self) -> bool:
        return self.days_left < 0


@dataclass(frozen=True)
class RecallView:
    recall: str             # the recall event's hash
    batch: str
    product: str
    reason: str
    at: str
    lots: int               # lots it flags (the batch, its descendants, the selected lots)
    open_lots: int          # of them, still held or in transit


@dataclass(frozen=True)
class LogHealth:
    size: int
    checkpoint_size: int | None
    checkpoint_at: datetime | None
    checkpoint_age: timedelta | None
    unsigned: int           # events after the latest checkpoint
    last_job: verify_jobs.JobView | None     # the last finished whole-log verification
    running_job: verify_jobs.JobView | None  # one running (or interrupted) now


@dataclass(frozen=True)
class Dashboard:
    warnings: list[OpenWarning]
    by_family: list[tuple[str, str, str, int]]   # family, Chinese, English, count
    by_org: list[tuple[str, str, int]]           # org, its name, count
    excursions: list[OpenWarning]
    certificates: list[Certificate]
    alerts: list[scans.Alert]
    recalls: list[RecallView]
    health: LogHealth
    org_names: dict[str, str] = field(default_factory=dict)
    today: date = field(default_factory=date.today)


def _is_temperature(w: OpenWarning) -> bool:
    return w.type in TEMPERATURE_TYPES or any(word in w.rule for word in TEMPERATURE_WORDS)


def _warnings(uow: Any, names: dict[str, str]) -> list[OpenWarning]:
    rows = uow.connection.execute(text(
        "SELECT f.event_hash, f.batch_id, b.product, b.family, e.org_id, f.rule, f.message, f.message_zh, e.at, e.type "
        "FROM findings f JOIN events e ON e.hash = f.event_hash JOIN batches b ON b.id = f.batch_id "
        "WHERE f.severity = 'warning' AND b.status IN ('held', 'in_transit') ORDER BY e.seq DESC"))
    return [OpenWarning(str(r[0]), str(r[1]), str(r[2]), str(r[3]), str(r[4]), names.get(str(r[4]), str(r[4])),
                     str(r[5]), str(r[6]), None if r[7] is None else str(r[7]), str(r[8]), str(r[9])) for r in rows]


def _categories(uow: Any, batches: set[str]) -> dict[str, set[str]]:
    """The categories (data.category) each batch's events name: what a certificate's scope codes may match."""
    out: dict[str, set[str]] = {b: set() for b in batches}
    if not batches:
        return out
    rows = uow.connection.execute(text(
        "SELECT batch_id, canonical FROM events WHERE batch_id IN :ids AND canonical LIKE '%\"category\"%'"
    ).bindparams(bindparam("ids", expanding=True)), {"ids": sorted(batches)})
    for batch, canonical in rows:
        category = json.loads(canonical).get("data", {}).get("category")
        if isinstance(category, str):
            out[str(batch)].add(category)
    return out


def _certificates(uow: Any, names: dict[str, str], today: date) -> list[Certificate]:
    rows = uow.connection.execute(text(
        "SELECT e.batch_id, b.product, b.org_id, e.canonical, b.family FROM events e "
        "JOIN batches b ON b.id = e.batch_id "
        "WHERE e.type = 'observe' AND e.canonical LIKE '%valid_until%' ORDER BY e.seq")).all()
    categories = _categories(uow, {str(r[0]) for r in rows})
    latest: dict[tuple[str, str], Certificate] = {}
    for batch, product, holder, canonical, family in rows:
        data = json.loads(canonical).get("data", {})
        if not isinstance(data, dict) or not is_certificate(data):
            continue
        try:
            until = date.fromisoformat(str(data.get("valid_until")))
        except ValueError:
            continue
        standing = judge(data, today, family=str(family), product=str(product), categories=categories[str(batch)])
        cert = Certificate(str(batch), str(product), names.get(str(holder), str(holder)), scheme_of(data),
                           str(data.get("certificate_no", "")), str(data.get("issuer", "")), until,
                           (until - today).days, standing)
        latest[(cert.batch, cert.scheme)] = cert  # a renewed certificate replaces the older one
    return sorted((c for c in latest.values() if c.days_left <= SOON or (c.standing and not c.standing.is_good)),
                  key=lambda c: c.valid_until)


def _recalls(uow: Any) -> list[RecallView]:
    rows = uow.connection.execute(text(
        "SELECT r.recall, COUNT(*), SUM(CASE WHEN b.status IN ('held', 'in_transit') THEN 1 ELSE 0 END), "
        "e.batch_id, e.canonical, e.at, p.product FROM recalls r JOIN batches b ON b.id = r.batch_id "
        "JOIN events e ON e.hash = r.recall LEFT JOIN batches p ON p.id = e.batch_id "
        "GROUP BY r.recall, e.batch_id, e.canonical, e.at, e.seq, p.product ORDER BY e.seq DESC"))
    out = []
    for recall, lots, open_lots, batch, canonical, at, product in rows:
        data = json.loads(canonical).get("data", {})
        out.append(RecallView(str(recall), str(batch), str(product or batch), str(data.get("reason", "")), str(at),
                              int(lots), int(open_lots or 0)))
    return out


def _health(ledger: Ledger, uow: Any, now: datetime) -> LogHealth:
    size = uow.log_size()
    cp = uow.latest_checkpoint()
    made = utc_aware(cp.created_at) if cp is not None else None
    running = verify_jobs.latest(ledger)
    return LogHealth(size, cp.size if cp else None, made, (now - made) if made else None,
                     size - (cp.size if cp else 0), verify_jobs.last_finished(ledger),
                     running if running is not None and running.state in ("running", "interrupted") else None)


def dashboard(ledger: Ledger, *, now: datetime | None = None) -> Dashboard:
    """Everything the dashboard shows, read once."""
    moment = now or datetime.now(timezone.utc)
    today = moment.astimezone(CHINA).date()
    with ledger.uow() as uow:
        names = {org.id: org.name for org in uow.orgs()}
        warnings = _warnings(uow, names)
        certificates = _certificates(uow, names, today)
        recalls = _recalls(uow)
        health = _health(ledger, uow, moment)
    families = Counter(w.family for w in warnings)
    orgs = Counter(w.org for w in warnings)
    by_family = [(f, *FAMILIES.get(f, (f, f)), n) for f, n in families.most_common()]
    by_org = [(o, names.get(o, o), n) for o, n in orgs.most_common()]
    excursions = [w for w in warnings if _is_temperature(w)]
    return Dashboard(warnings[:LIST_LIMIT], by_family, by_org, excursions[:LIST_LIMIT], certificates,
                     scans.alerts(ledger, limit=LIST_LIMIT), recalls, health, names, today)

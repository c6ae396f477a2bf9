"""What the standard exports share: the time window, which events an export covers, and the facts
about their batches (GTIN, genesis, orgs) read once for the whole export, a chunked query at a time.

Selections (docs/exports.md):
- a batch's lineage: its events and those of every ancestor and descendant, in log order;
- a time window: events whose `at` lies in [start, end), optionally only batches whose product
  name contains `product` (case-insensitive) or whose GTIN equals it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import select

from farmtrace.storage.models import Batch, Event, Finding, Org
from farmtrace.storage.uow import UnitOfWork

from farmtrace.ledger.errors import InvalidRequestError, NotFoundError
from farmtrace.rules.families.produce import COUNTY_NAMES
from farmtrace.rules.gs1 import gtin14

CHINA = timezone(timedelta(hours=8))  # a bare date is a day in China Standard Time (the ledger's local time)
CHUNK = 500
DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$")
# Bazhong's counties (domain.md §1.1, codes unverified there); other codes are shown as the code alone.
COUNTIES = COUNTY_NAMES


def parse_time(value: str, name: str, *, end: bool = False) -> datetime:
    """A window bound: an RFC 3339 time with offset, or a date (a day in +08:00; as `end`, the day is included).

    Any real date from 0001-01-01 to 9999-12-31 is a bound: the end of 9999-12-31 in +08:00 is written as
    the same instant in UTC (9999-12-31T16:00Z), since the next day does not exist in Python.

    Raises:
        InvalidRequestError: neither form, or not a real date (field = `name`).
    """
    text = (value or "").strip()
    try:
        if DAY.match(text):
            day = date.fromisoformat(text)
            moment = datetime(day.year, day.month, day.day, tzinfo=CHINA)
            if not end:
                return moment
            if day == date.max:
                return datetime(day.year, day.month, day.day, 16, tzinfo=timezone.utc)
            return moment + timedelta(days=1)
        if TIME.match(text):
            return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        pass
    raise InvalidRequestError(f"{name} must be a date (2026-03-01) or an RFC 3339 time with offset "
                              f"(2026-03-01T08:00:00+08:00), got {text[:40]!r}", field=name)


def parse_window(start: str | None, end: str | None) -> tuple[datetime, datetime]:
    """[start, end) from the `from` and `to` texts of the CLI and the API; both are required."""
    if not start:
        raise InvalidRequestError("from is required (a date or an RFC 3339 time)", field="from")
    if not end:
        raise InvalidRequestError("to is required (a date or an RFC 3339 time)", field="to")
    low, high = parse_time(start, "from"), parse_time(end, "to", end=True)
    if high <= low:
        raise InvalidRequestError(f"to ({end}) must be after from ({start})", field="to")
    return low, high


def event_time(at: str) -> datetime:
    return datetime.fromisoformat(at.replace("Z", "+00:00"))


def body(event: Event) -> dict[str, Any]:
    return json.loads(event.canonical)  # type: ignore[no-any-return]


def chunks(items: Sequence[str]) -> Iterator[list[str]]:
    items = sorted(set(items))
    for i in range(0, len(items), CHUNK):
        yield items[i:i + CHUNK]


def lineage_events(uow: UnitOfWork, batch_id: str) -> list[Event]:
    """Every event of the batch, its ancestors and its descendants, in log order.

    Raises:
        NotFoundError: there is no such batch.
    """
    if uow.batch(batch_id) is None:
        raise NotFoundError(f"no batch {batch_id}", field="batch")
    ids = {batch_id} | uow.ancestors([batch_id]) | uow.descendants([batch_id])
    found: list[Event] = []
    for part in chunks(list(ids)):
        found += uow.session.scalars(select(Event).where(Event.batch_id.in_(part)))  # type: ignore[union-attr]
    return sorted(found, key=lambda e: e.seq)


def window_events(uow: UnitOfWork, start: datetime, end: datetime, types: Iterable[str] | None = None) -> list[Event]:
    """Batch events whose `at` lies in [start, end), in log order.

    `at` keeps the submitter's offset, so the database narrows by date text (a day's margin either
    side covers every offset; none past the first or last day Python knows) and the exact bound is
    checked on the parsed time.
    """
    stmt = select(Event).where(Event.batch_id.is_not(None))  # type: ignore[union-attr]
    low, high = _day_text(start, -1), _day_text(end, 2)
    if low is not None:
        stmt = stmt.where(Event.at >= low)  # type: ignore[arg-type]
    if high is not None:
        stmt = stmt.where(Event.at < high)  # type: ignore[arg-type]
    if types is not None:
        stmt = stmt.where(Event.type.in_(list(types)))  # type: ignore[attr-defined]
    rows = uow.session.scalars(stmt.order_by(Event.seq))  # type: ignore[arg-type]
    return [e for e in rows if start <= event_time(e.at) < end]


def _day_text(moment: datetime, days: int) -> str | None:
    """The date `days` after `moment`'s own as text, or None past 0001-01-01 or 9999-12-31 (no bound)."""
    try:
        return (moment.date() + timedelta(days=days)).isoformat()
    except OverflowError:
        return None


@dataclass
class Facts:
    """What the exports know about the batches and orgs they mention, read in a few queries."""

    uow: UnitOfWork
    batches: dict[str, Batch] = field(default_factory=dict)
    orgs: dict[str, Org] = field(default_factory=dict)
    gtins: dict[str, str] = field(default_factory=dict)       # batch -> GTIN from its packed event
    genesis: dict[str, dict[str, Any]] = field(default_factory=dict)  # batch -> body of its first event
    _loaded: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.orgs = {o.id: o for o in self.uow.orgs()}

    def load(self, batch_ids: Iterable[str]) -> None:
        """Read the rows, GTINs and first events of the batches not read yet."""
        wanted = [b for b in set(batch_ids) if b and b not in self._loaded]
        if not wanted:
            return
        self._loaded.update(wanted)
        for part in chunks(wanted):
            for row in self.uow.session.scalars(select(Batch).where(Batch.id.in_(part))):  # type: ignore[attr-defined]
                self.batches[row.id] = row
            stmt = select(Event).where(Event.batch_id.in_(part),  # type: ignore[union-attr]
                                       (Event.type == "packed") | Event.prev.is_(None))  # type: ignore[union-attr]
            for event in self.uow.session.scalars(stmt.order_by(Event.seq)):  # type: ignore[arg-type]
                parsed = body(event)
                if event.prev is None:
                    self.genesis[str(event.batch_id)] = parsed
                gtin = gtin14(parsed.get("data", {}).get("gtin")) if event.type == "packed" else None
                if gtin and str(event.batch_id) not in self.gtins:
                    self.gtins[str(event.batch_id)] = gtin

    def batch(self, batch_id: str) -> Batch | None:
        self.load([batch_id])
        return self.batches.get(batch_id)

    def product_matches(self, batch_id: str, product: str | None) -> bool:
        if not product:
            return True
        row = self.batch(batch_id)
        if row is None:
            return False
        wanted = product.strip().casefold()
        return wanted in row.product.casefold() or wanted == self.gtins.get(batch_id, "")

    def events_by_hash(self, hashes: Iterable[str]) -> dict[str, Event]:
        found: dict[str, Event] = {}
        for part in chunks([h for h in hashes if h]):
            for event in self.uow.session.scalars(select(Event).where(Event.hash.in_(part))):  # type: ignore[attr-defined]
                found[event.hash] = event
        return found

    def verdicts(self, hashes: Iterable[str]) -> dict[str, str]:
        """event hash -> the computed verdict of a lab result (pass | fail | info)."""
        found: dict[str, str] = {}
        for part in chunks(list(hashes)):
            wanted = (Finding.rule == "verdict", Finding.event_hash.in_(part))  # type: ignore[attr-defined]
            stmt = select(Finding).where(*wanted)  # type: ignore[arg-type]
            for row in self.uow.session.scalars(stmt.order_by(Finding.id)):  # type: ignore[arg-type]
                if found.get(row.event_hash) != "fail":  # one failed analyte fails the result
                    found[row.event_hash] = row.severity
        return found

    def recalled_batches(self, recall_hash: str) -> list[str]:
        rows = self.uow.execute("SELECT batch_id FROM recalls WHERE recall = :r ORDER BY batch_id", r=recall_hash)
        return [str(r[0]) for r in rows]

    def location(self, org_id: str | None) -> str:
        """An org's location description (21 CFR 1.1310: business name, phone, physical address with
        country), e.g. "恩阳区粮油加工厂 (恩阳区 511903), 四川省巴中市恩阳区…, China (CN), tel. 0827-3361002"."""
        if not org_id:
            return ""
        org = self.orgs.get(org_id)
        if org is None:
            return org_id
        county = COUNTIES.get(org.county or "", "")
        address = org.address or (f"四川省巴中市{county}" if county else "")
        parts = [self.org_text(org_id), address, "China (CN)"]  # every org of the ledger is in China
        if org.contact_phone:
            parts.append(f"tel. {org.contact_phone}")
        return ", ".join(p for p in parts if p)

    def org_text(self, org_id: str | None) -> str:
        """An org for people: name and county, e.g. "恩阳区粮油加工厂 (恩阳区 511903)"."""
        if not org_id:
            return ""
        org = self.orgs.get(org_id)
        if org is None:
            return org_id
        if not org.county:
            return org.name
        return f"{org.name} ({COUNTIES.get(org.county, '')} {org.county})".replace("( ", "(")

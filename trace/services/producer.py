"""What the producer app reads: an org's lots by state, what is on its way to it, its stock for a
transformation, and which steps it may record on a lot (issue "The producer app")."""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sqlmodel import col, or_, select

from farmtrace.ledger.errors import NotFoundError, Said
from farmtrace.rules.declare import DECLARATIONS, Declaration
from farmtrace.rules.families import FAMILY_MODULES
from farmtrace.rules.families.certificate import issues_certificate
from farmtrace.services import devices
from farmtrace.services.ledger import Ledger
from farmtrace.storage.models import Batch, Event, Org

SPECIAL_FLOWS = ("receive", "cancel", "consume", "transform", "test", "recall")
"""Types with a flow of their own (receiving lists what is in transit to us; a transformation picks
inputs from stock; a lab records a test of its sample; a regulator recalls): no plain form."""
SHARED_STEPS = ("observe", "stored", "temperature_logged", "inspected", "packed", "sample", "ship", "sell", "correct")
NOT_ID = re.compile(r"[^A-Za-z0-9._:-]+")


@dataclass(frozen=True)
class Lot:
    """One lot as the producer's home lists it."""

    id: str
    product: str
    lot: str
    family: str
    quantity: str | None
    unit: str | None
    status: str          # held | in_transit | consumed
    holder: str          # org name
    transit_to: str | None  # org name, while in transit
    recalled: bool
    steps: int
    head: str | None = None  # the chain head: what a step signed on a tablet links to


@dataclass
class Home:
    """An org's lots, recall notices first."""

    org: str
    org_name: str
    family: str | None
    recalled: list[Lot] = field(default_factory=list)
    incoming: list[Lot] = field(default_factory=list)    # in transit to us
    in_stock: list[Lot] = field(default_factory=list)    # held by us
    shipped: list[Lot] = field(default_factory=list)     # in transit from us
    closed: list[Lot] = field(default_factory=list)      # used up or sold, most recent first


def _lot(row: Batch, names: dict[str, str], recalled: bool) -> Lot:
    return Lot(row.id, row.product, row.lot, row.family, row.quantity, row.unit, row.status,
               names.get(row.org_id, row.org_id), names.get(row.transit_to or "", row.transit_to), recalled,
               row.event_count, row.head)


def org_home(ledger: Ledger, org: str, *, q: str | None = None, limit: int = 200) -> Home:
    """The org's lots: held, on their way to it, shipped by it, closed; any under recall first."""
    with ledger.uow() as uow:
        me = uow.org(org)
        if me is None:
            raise NotFoundError(Said(f"no org {org}", f"机构 {org} 不存在"), field="org")
        names = {o.id: o.name for o in uow.orgs()}
        stmt = select(Batch).where(or_(col(Batch.org_id) == org, col(Batch.transit_to) == org,
                                       col(Batch.origin_org) == org))
        if q:
            needle = f"%{q.strip()[:40]}%"
            stmt = stmt.where(or_(col(Batch.lot).like(needle), col(Batch.product).like(needle),
                                  col(Batch.id).like(needle)))
        rows = list(uow.session.scalars(stmt.order_by(col(Batch.created_seq).desc()).limit(limit)))
        recalls = {row.id: uow.recall_of(row.id) is not None for row in rows}
    home = Home(org, me.name, me.family)
    for row in rows:
        lot = _lot(row, names, recalls[row.id])
        mine = row.org_id == org
        if lot.recalled and (mine or row.transit_to == org):
            home.recalled.append(lot)
        elif row.status == "in_transit" and row.transit_to == org:
            home.incoming.append(lot)
        elif row.status == "in_transit" and mine:
            home.shipped.append(lot)
        elif mine and row.status == "held":
            home.in_stock.append(lot)
        elif mine:
            home.closed.append(lot)
    return home


def new_batch_id(lot: str) -> str:
    """An id for a new lot: its lot code made safe for a URL, and a few random letters."""
    stem = NOT_ID.sub("-", lot).strip("-.:")[:40] or "lot"
    return f"{stem}-{secrets.token_hex(3)}"


def families_of(ledger: Ledger, org: str) -> list[str]:
    """The families an org records: its own, or every family for one without (a shop, a lab)."""
    with ledger.uow() as uow:
        me = uow.org(org)
    if me is None:
        raise NotFoundError(Said(f"no org {org}", f"机构 {org} 不存在"), field="org")
    return [me.family] if me.family else list(FAMILY_MODULES)


def genesis_types(family: str) -> list[Declaration]:
    """The steps that start a lot in `family`: its own first steps, then a plain `create`."""
    own = [d for d in DECLARATIONS.values() if d.genesis and d.family == family]
    return [*own, DECLARATIONS["create"]]


def step_types(family: str) -> list[Declaration]:
    """The steps a holder records on a lot of `family` with a plain form: the family's own, the 承诺达标合格证
    where the family carries one (edible farm produce, live animals and meat), then the shared steps."""
    own = [d for d in DECLARATIONS.values() if d.family == family and not d.genesis]
    certificate = [DECLARATIONS["certificate_issued"]] if issues_certificate(family) else []
    return [*own, *certificate, *(DECLARATIONS[name] for name in SHARED_STEPS)]


def lot_of(ledger: Ledger, batch_id: str) -> Batch | None:
    with ledger.uow() as uow:
        return uow.batch(batch_id)


def orgs_to(ledger: Ledger, org: str) -> list[tuple[str, str]]:
    """(id, name) of every other org: whom a lot may be shipped to."""
    with ledger.uow() as uow:
        return [(o.id, o.name) for o in uow.orgs() if o.id != org]


def labs(ledger: Ledger) -> list[tuple[str, str]]:
    """(id, name) of the accredited labs a sample may be sent to."""
    with ledger.uow() as uow:
        return [(o.id, o.name) for o in uow.orgs() if o.kind == "lab" and o.cma_number]


@dataclass(frozen=True)
class Shipment:
    """A lot on its way to us: what its ship event says."""

    batch: Lot
    ship: str       # the ship event's hash
    quantity: str
    unit: str
    sender: str     # org name
    at: str


def incoming_shipment(ledger: Ledger, org: str, batch_id: str) -> Shipment:
    """The shipment of `batch_id` to `org`, for its receive form; NotFoundError if none is on its way."""
    with ledger.uow() as uow:
        row = uow.batch(batch_id)
        if row is None or row.status != "in_transit" or row.transit_to != org or row.head is None:
            raise NotFoundError(Said(f"batch {batch_id} is not on its way to {org}",
                                     f"批次 {batch_id} 不是发往本机构的在途批次"), field="batch")
        ship = uow.event_by_hash(row.head)
        names = {o.id: o.name for o in uow.orgs()}
        recalled = uow.recall_of(row.id) is not None
    data: dict[str, Any] = json.loads(ship.canonical).get("data", {}) if ship else {}
    return Shipment(_lot(row, names, recalled), row.head, str(data.get("quantity", row.quantity or "")),
                    str(data.get("unit", row.unit or "")), names.get(ship.org_id, ship.org_id) if ship else "",
                    ship.at if ship else "")


def stock(ledger: Ledger, org: str, family: str | None = None) -> list[Lot]:
    """Lots the org holds with something left: the inputs a transformation may take."""
    return [lot for lot in org_home(ledger, org).in_stock if family is None or lot.family == family]


class Step(NamedTuple):
    """One event of a lot as its pages list it."""

    hash: str
    type: str
    at: str
    key: str       # the signing key's id
    device: str    # the device's label when a device key signed it, else ""


def chain(ledger: Ledger, batch_id: str) -> list[Step]:
    """A lot's events, oldest first, with who signed each: what a correction may amend."""
    with ledger.uow() as uow:
        rows = list(uow.session.scalars(select(Event).where(col(Event.batch_id) == batch_id)
                                        .order_by(col(Event.seq))))
    labels = devices.signed_on_device(ledger, {e.key_id for e in rows})
    return [Step(e.hash, e.type, e.at, e.key_id, labels.get(e.key_id, "")) for e in rows]


def org_names(ledger: Ledger) -> dict[str, str]:
    with ledger.uow() as uow:
        return {o.id: o.name for o in uow.orgs()}


def org_of(ledger: Ledger, org: str) -> Org | None:
    with ledger.uow() as uow:
        return uow.org(org)

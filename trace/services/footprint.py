"""A batch's carbon footprint over its lineage DAG, and an org's emissions per unit of product by month.

Method (docs/carbon.md, GB/T 24067-2024 / ISO 14067:2018): a batch's footprint is its own events'
emissions (rules/carbon.py) plus, for each input consumed, the input's intensity (its footprint over
the quantity it was made as) times the quantity consumed. When one consume feeds several outputs (a
split), its share goes to each output by output mass (default), or by economic value when every
output of that consume declares `allocation: economic` with its `value`. Losses stay with the output:
the whole consumed share goes to what was made, however much less it weighs.

Reads, never a query per node: three queries, each starting with the trace's recursive walk over the
lineage edges (uow.py `_WALK`, the shape of `lineage_walk`): the root and its ancestors with their names,
the consume edges into them (with a split's siblings), and the events that can carry carbon data (each
batch's first event and every event with `activity`); then a topological pass in Python, in Decimal.
"""

from __future__ import annotations

import heapq
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from typing import Any

from farmtrace.ledger.errors import NotFoundError, Said
from farmtrace.rules.carbon import METHOD, METHOD_ECONOMIC, decimal_or_none, event_emissions
from farmtrace.services.ledger import Ledger

MASS_TO_KG = {"KGM": Decimal(1), "kg": Decimal(1), "TNE": Decimal(1000), "t": Decimal(1000),
              "GRM": Decimal("0.001"), "g": Decimal("0.001")}
ZERO = Decimal(0)


@dataclass(frozen=True)
class Stage:
    """One batch's contribution to the footprint of the root batch."""

    batch: str
    product: str
    org: str
    org_name: str
    kg_co2e: Decimal  # that batch's OWN events' emissions, times the share that reaches the root


@dataclass(frozen=True)
class Footprint:
    batch: str
    total_kg: Decimal                 # kg CO2e of the whole batch as produced
    quantity: Decimal | None          # the batch's quantity as produced (its create/transform/genesis quantity)
    unit: str | None                  # UN/ECE code as stored (KGM, LTR, H87 ...)
    per_unit_kg: Decimal | None       # total_kg / quantity
    stages: tuple[Stage, ...]         # upstream first (farm first), root last; zero stages omitted
    by_kind: dict[str, Decimal]       # electricity, fuel, transport, ... (allocated), for the chart
    table_versions: tuple[str, ...]   # factor table versions used
    method: str                       # e.g. "farmtrace carbon method 1 (GB/T 24067-2024, mass allocation)"
    estimate: bool                    # any unverified factor or fallback year used
    factor_rows: tuple[str, ...] = field(default=())  # every factor row used, for an audit

    def to_json(self) -> dict[str, Any]:
        """Decimals as strings."""
        def text(value: Decimal | None) -> str | None:
            return None if value is None else str(value)
        return {"batch": self.batch, "total_kg": str(self.total_kg), "quantity": text(self.quantity),
                "unit": self.unit, "per_unit_kg": text(self.per_unit_kg),
                "stages": [{"batch": s.batch, "product": s.product, "org": s.org, "org_name": s.org_name,
                            "kg_co2e": str(s.kg_co2e)} for s in self.stages],
                "by_kind": {k: str(v) for k, v in self.by_kind.items()},
                "table_versions": list(self.table_versions), "method": self.method, "estimate": self.estimate,
                "factor_rows": list(self.factor_rows)}


@dataclass(frozen=True)
class MonthRow:
    month: str                        # "2026-07"
    kg_co2e: Decimal                  # the org's own events' emissions that month, on batches of this unit
    quantity: Decimal | None          # what the org produced that month in this unit (None: nothing)
    unit: str | None
    per_unit_kg: Decimal | None       # kg_co2e / quantity


@dataclass
class _Own:
    """A batch's own emissions and its first event's facts."""

    kg: Decimal = ZERO
    by_kind: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    versions: set[str] = field(default_factory=set)
    rows: set[str] = field(default_factory=set)
    estimate: bool = False
    quantity: Decimal | None = None
    unit: str | None = None
    allocation: str = "mass"
    value: Decimal | None = None


def _province(county: Any) -> str | None:
    return county[:2] if isinstance(county, str) and len(county) == 6 else None


def _read_events(rows: Iterable[tuple[Any, ...]], keep_emissions: set[str] | None) -> dict[str, _Own]:
    """Each batch's own emissions (for batches in `keep_emissions`, or all) and its first event's quantity."""
    own: dict[str, _Own] = defaultdict(_Own)
    for batch, _org, type_, at, canonical, first, county, *_ in rows:
        body = json.loads(canonical)
        data = body.get("data", {})
        mine = own[batch]
        if first:
            mine.quantity, mine.unit = decimal_or_none(data.get("quantity")), data.get("unit")
            mine.allocation = data.get("allocation", "mass")
            mine.value = decimal_or_none(data.get("value"))
        if "activity" not in data or (keep_emissions is not None and batch not in keep_emissions):
            continue
        emissions = event_emissions(type_, data.get("family"), data, at, province=_province(county))
        mine.kg += emissions.kg_co2e
        mine.estimate |= emissions.estimate
        for line in emissions.lines:
            mine.by_kind[line.kind] += line.kg_co2e
            mine.versions.add(line.table_version)
            mine.rows.add(line.factor_row_id)
    return own


def _ratio(consumed: Decimal, unit: str, made: _Own) -> tuple[Decimal, bool]:
    """The part of a batch's footprint a consume takes: quantity consumed over quantity made (estimate flag)."""
    if made.quantity is None or made.quantity <= 0:
        return Decimal(1), True
    if unit == made.unit:
        return consumed / made.quantity, False
    if unit in MASS_TO_KG and made.unit in MASS_TO_KG:
        return consumed * MASS_TO_KG[unit] / (made.quantity * MASS_TO_KG[str(made.unit)]), False
    return Decimal(1), True


def _shares(outputs: list[str], own: Mapping[str, _Own]) -> tuple[dict[str, Decimal], bool, bool]:
    """How one consume's footprint is shared among its outputs: (shares, economic used, estimate)."""
    if len(outputs) == 1:
        return {outputs[0]: Decimal(1)}, False, False
    facts = [own.get(o, _Own()) for o in outputs]
    if all(f.allocation == "economic" and f.value is not None and f.value > 0 for f in facts):
        total = sum((f.value for f in facts if f.value is not None), ZERO)
        return {o: (f.value or ZERO) / total for o, f in zip(outputs, facts)}, True, False
    mixed = any(f.allocation == "economic" for f in facts)
    masses = [f.quantity * MASS_TO_KG[f.unit] if f.quantity is not None and f.unit in MASS_TO_KG else None
              for f in facts]
    if all(m is not None for m in masses) and sum(m for m in masses if m is not None) > 0:
        total = sum((m for m in masses if m is not None), ZERO)
        return {o: (m or ZERO) / total for o, m in zip(outputs, masses)}, False, mixed
    units = {f.unit for f in facts}
    if len(units) == 1 and all(f.quantity is not None for f in facts):
        total = sum((f.quantity for f in facts if f.quantity is not None), ZERO)
        if total > 0:
            return {o: (f.quantity or ZERO) / total for o, f in zip(outputs, facts)}, False, mixed
    return {o: Decimal(1) / len(outputs) for o in outputs}, False, True


def footprint(ledger: Ledger, batch_id: str) -> Footprint:
    """The carbon footprint of `batch_id` as produced, with each upstream batch's contribution.

    Raises:
        NotFoundError: no such batch.
    """
    with ledger.uow() as uow:
        if uow.batch(batch_id) is None:
            raise NotFoundError(Said(f"no batch {batch_id}", f"批次 {batch_id} 不存在"), field="batch")
        named = {r[0]: r for r in uow.carbon_batches(batch_id)}    # 1: the root and its ancestors, named
        edges = uow.carbon_edges(batch_id)                         # 2: consumes into them, with siblings
        rows = uow.carbon_events(batch_id)                         # 3: first events and activity data
    members = sorted(named)
    with localcontext() as ctx:
        ctx.prec = 40
        return _compute(batch_id, members, edges, rows, named)


def _compute(root: str, members: list[str], edges: list[tuple[str, str, str, str, str]],
             rows: list[tuple[Any, ...]], named: Mapping[str, tuple[str, str, str, str, int]]) -> Footprint:
    inside = set(members)
    own = _read_events(rows, inside)
    groups: dict[str, list[str]] = defaultdict(list)       # via (consume hash) -> its outputs
    feeds: dict[str, list[tuple[str, str, Decimal, str]]] = defaultdict(list)  # child -> (parent, via, q, unit)
    for child, parent, via, amount, unit in edges:
        groups[via].append(child)
        if child in inside and parent in inside:
            feeds[child].append((parent, via, Decimal(amount), unit))
    shares: dict[str, dict[str, Decimal]] = {}
    economic = estimate = False
    for via, outputs in groups.items():
        shares[via], used_economic, rough = _shares(sorted(set(outputs)), own)
        if any(o in inside for o in outputs):
            economic |= used_economic
            estimate |= rough

    # topological order, parents first (Kahn's, earliest-made first among the ready): the root comes last
    created = {b: named[b][4] if b in named else 0 for b in members}
    waiting = {b: len({p for p, *_ in feeds.get(b, ())}) for b in members}
    children: dict[str, set[str]] = defaultdict(set)
    for child, parents in feeds.items():
        for parent, *_ in parents:
            children[parent].add(child)
    ready = [(created[b], b) for b in members if not waiting[b]]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        _, batch = heapq.heappop(ready)
        order.append(batch)
        for child in children.get(batch, ()):
            waiting[child] -= 1
            if not waiting[child]:
                heapq.heappush(ready, (created[child], child))

    # the share of each batch's footprint that reaches the root, children before parents
    reach: dict[str, Decimal] = defaultdict(Decimal)
    reach[root] = Decimal(1)
    for child in reversed(order):
        for parent, via, quantity, unit in feeds.get(child, ()):
            ratio, rough = _ratio(quantity, unit, own.get(parent, _Own()))
            estimate |= rough
            reach[parent] += reach[child] * ratio * shares[via].get(child, ZERO)

    stages: list[Stage] = []
    by_kind: dict[str, Decimal] = defaultdict(Decimal)
    versions: set[str] = set()
    factor_rows: set[str] = set()
    total = ZERO
    for batch in order:
        mine = own.get(batch)
        if mine is None or (not mine.kg and not mine.by_kind) or not reach[batch]:
            continue
        part = mine.kg * reach[batch]
        total += part
        for kind, kg in mine.by_kind.items():
            by_kind[kind] += kg * reach[batch]
        versions |= mine.versions
        factor_rows |= mine.rows
        estimate |= mine.estimate
        if part:
            product, org, org_name = (named[batch][1], named[batch][2], named[batch][3]) if batch in named else (
                batch, "", "")
            stages.append(Stage(batch, product, org, org_name, part))
    made = own.get(root, _Own())
    per_unit = total / made.quantity if made.quantity else None
    return Footprint(root, total, made.quantity, made.unit, per_unit, tuple(stages), dict(by_kind),
                     tuple(sorted(versions)), METHOD_ECONOMIC if economic else METHOD, estimate,
                     tuple(sorted(factor_rows)))


def org_monthly(ledger: Ledger, org_id: str) -> list[MonthRow]:
    """The org's own events' emissions per month and product unit, over what it produced that month in that
    unit (企业能效碳排放绩效 style): one row per (month, unit), oldest month first.

    Emissions of an event count under the unit of the batch it is recorded on; the quantity produced is the
    sum of the batches the org started that month (creation, harvest, transformation) in that unit.

    Raises:
        NotFoundError: no such org.
    """
    with ledger.uow() as uow:
        if uow.org(org_id) is None:
            raise NotFoundError(Said(f"no org {org_id}", f"机构 {org_id} 不存在"), field="org")
        rows = uow.carbon_events(org=org_id)
    emitted: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    made: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    with localcontext() as ctx:
        ctx.prec = 40
        for _batch, _org, type_, at, canonical, first, county, batch_unit, *_ in rows:
            data = json.loads(canonical).get("data", {})
            month = str(at)[:7]
            if first:
                quantity = decimal_or_none(data.get("quantity"))
                if quantity is not None and isinstance(data.get("unit"), str):
                    made[(month, data["unit"])] += quantity
            if "activity" in data:
                unit = str(batch_unit or data.get("unit") or "")
                emitted[(month, unit)] += event_emissions(type_, data.get("family"), data, str(at),
                                                          province=_province(county)).kg_co2e
        out = []
        for month, unit in sorted(set(emitted) | set(made)):
            kg = emitted.get((month, unit), ZERO)
            quantity = made.get((month, unit))
            out.append(MonthRow(month, kg, quantity, unit or None,
                                kg / quantity if quantity else None))
    return out

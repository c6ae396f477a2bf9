"""Every emission behind a batch's footprint, line by line, for a regulator to recompute by hand.

A line is one activity item of one event of the batch or an ancestor: amount × factor = kg CO₂e,
with the factor row, its table version, status and source, and the share of that batch's own
emissions that reaches the root (its stage total over its own emissions, from
`services.footprint.footprint`, so the lines add up to the footprint itself).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal

from farmtrace.rules.carbon import Line, event_emissions, factor_table
from farmtrace.services.footprint import Footprint, footprint
from farmtrace.services.ledger import Ledger


@dataclass(frozen=True)
class AuditLine:
    batch: str
    product: str
    seq: int
    type: str
    at: str
    kind: str
    key: str
    amount: Decimal
    unit: str
    factor: Decimal
    row: str
    table_version: str
    status: str
    source: str
    kg_co2e: Decimal        # the line's emissions, amount × factor
    share: Decimal          # the part of its batch's own emissions that reaches the root, 0-1
    reaching: Decimal       # kg_co2e × share: what this line adds to the root's footprint


@dataclass(frozen=True)
class FootprintAudit:
    footprint: Footprint
    product: str
    lot: str
    origin_org: str
    lines: tuple[AuditLine, ...]


def footprint_audit(ledger: Ledger, batch_id: str) -> FootprintAudit:
    """The footprint of `batch_id` with each emission line behind it, upstream first.

    Raises:
        NotFoundError: no such batch.
    """
    fp = footprint(ledger, batch_id)
    stages = {s.batch: s for s in fp.stages}
    with ledger.uow() as uow:
        batch = uow.batch(batch_id)
        assert batch is not None  # footprint() raised NotFoundError otherwise
        rows = uow.carbon_events(batch_id) if stages else []
    sources = {f.row_id: f.source for f in factor_table().rows}
    emitted: list[tuple[str, int, str, str, tuple[Line, ...]]] = []
    own: dict[str, Decimal] = {}
    for batch_of, _org, type_, at, canonical, _first, county, _unit, seq in rows:
        if batch_of not in stages:
            continue
        data = json.loads(canonical).get("data", {})
        if "activity" not in data:
            continue
        province = county[:2] if isinstance(county, str) and len(county) == 6 else None
        emissions = event_emissions(type_, data.get("family"), data, str(at), province=province)
        own[batch_of] = own.get(batch_of, Decimal(0)) + emissions.kg_co2e
        emitted.append((batch_of, int(seq), type_, str(at), emissions.lines))
    lines = []
    for batch_of, seq, type_, at, event_lines in emitted:
        share = stages[batch_of].kg_co2e / own[batch_of] if own.get(batch_of) else Decimal(0)
        for ln in event_lines:
            lines.append(AuditLine(batch_of, stages[batch_of].product, seq, type_, at, ln.kind, ln.key, ln.amount,
                                   ln.unit, ln.factor, ln.factor_row_id, ln.table_version, ln.status,
                                   sources.get(ln.factor_row_id, ""), ln.kg_co2e, share, ln.kg_co2e * share))
    return FootprintAudit(fp, batch.product, batch.lot, batch.origin_org or batch.org_id, tuple(lines))

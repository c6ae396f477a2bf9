"""Lineage: the DAG of transformations, walked backward to origins and forward to retail lots.

Each walk is one recursive CTE over the `lineage` edges (SQLite and PostgreSQL alike), never a
query per node; the graph's edges are then read in one more query.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from farmtrace.storage.uow import UnitOfWork

from farmtrace.ledger.errors import InvalidEventError, NotFoundError, Said
from farmtrace.rules.declare import unit_name
from farmtrace.services.ledger import Ledger
from farmtrace.services.append import append_custodial, append_many
from farmtrace.services.transaction import Actor, StoredEvent


@dataclass(frozen=True)
class LineageGraph:
    root: str
    direction: str                         # backward | forward
    batches: list[dict[str, Any]]          # every batch reached, with holder, product, lot, status, recalled
    edges: list[dict[str, str]]            # {child, parent, via, quantity, unit}

    def to_json(self) -> dict[str, Any]:
        return {"root": self.root, "direction": self.direction, "batches": self.batches, "edges": self.edges}


def trace(ledger: Ledger, batch_id: str, direction: str = "backward") -> LineageGraph:
    """Every ancestor (backward) or descendant (forward) of `batch_id`, with the edges between them."""
    if direction not in ("backward", "forward"):
        raise InvalidEventError(Said("direction must be backward or forward",
                                     "追溯方向只能是 backward（向上游）或 forward（向下游）"), field="direction")
    with ledger.uow() as uow:
        if uow.batch(batch_id) is None:
            raise NotFoundError(Said(f"no batch {batch_id}", f"批次 {batch_id} 不存在"), field="batch")
        reached = uow.descendants([batch_id]) if direction == "forward" else uow.ancestors([batch_id])
        ids = sorted(reached | {batch_id})
        return LineageGraph(batch_id, direction, uow.batch_summaries(ids), uow.lineage_edges(ids))


def transform(ledger: Ledger, inputs: list[dict[str, Any]], outputs: list[dict[str, Any]], *, actor: Actor,
              process: str) -> list[StoredEvent]:
    """One transformation in one transaction: a `consume` on each input, a `transform` starting each output.

    `inputs`: [{"batch", "quantity"}]; `outputs`: [{"batch", "product", "lot", "quantity", "unit",
    "family", ...more data}]. Outputs may not exceed inputs when every unit is the same (family
    rules check the rest, e.g. pure alcohol in blending).
    """
    if not inputs or not outputs:
        raise InvalidEventError(Said("a transformation needs inputs and outputs", "加工须有原料批次和产出批次"),
                                field="inputs" if not inputs else "outputs")
    output_ids = [str(o.get("batch")) for o in outputs]

    def command(tx: Any) -> list[StoredEvent]:
        consumed = []
        for item in inputs:
            batch = tx.batch(str(item.get("batch")))
            if batch is None:
                raise NotFoundError(Said(f"no batch {item.get('batch')}", f"原料批次 {item.get('batch')} 不存在"),
                                    field="inputs")
            consumed.append(append_custodial(tx, {"type": "consume", "batch": batch.id, "data": {
                "quantity": item.get("quantity"), "unit": batch.unit, "into": output_ids}}, actor=actor))
        links = [{"batch": c.body.batch, "event": c.hash, "quantity": c.body.data["quantity"],
                  "unit": c.body.data["unit"]} for c in consumed]
        made = [append_custodial(tx, {"type": "transform", "batch": o.get("batch"),
                                      "data": {**{k: v for k, v in o.items() if k != "batch"}, "process": process,
                                               "inputs": links}}, actor=actor) for o in outputs]
        _check_balance(links, [m.body.data for m in made])
        return consumed + made
    return ledger.appending(command)


def transform_signed(ledger: Ledger, items: Sequence[Mapping[str, Any]], *, actor: Actor) -> list[StoredEvent]:
    """A transformation signed on a tablet: its `consume` events, then the `transform` events they feed,
    each pre-signed `{"body", "signature"}` (or drafts, signed here), in one transaction, with the same
    balance check as `transform`."""
    def command(tx: Any) -> list[StoredEvent]:
        made = append_many(tx, items, actor=actor)
        outputs = [m.body.data for m in made if m.body.type == "transform"]
        if not outputs or any(m.body.type not in ("consume", "transform") for m in made):
            raise InvalidEventError(Said("a transformation is consume events followed by transform events",
                                         "加工记录须为原料消耗记录加产出批次记录"), field="items")
        links = [link for o in outputs for link in o.get("inputs", [])]
        _check_balance(list({link["event"]: link for link in links}.values()), outputs)
        return made
    return ledger.appending(command)


def _check_balance(links: list[dict[str, Any]], outputs: list[Any]) -> None:
    units = {link["unit"] for link in links} | {o["unit"] for o in outputs}
    if len(units) != 1:
        return  # mixed units (head -> kg, L -> bottle): the family's rules judge the balance
    taken = sum(Decimal(link["quantity"]) for link in links)
    made = sum(Decimal(o["quantity"]) for o in outputs)
    if made > taken:
        unit = units.pop()
        raise InvalidEventError(Said(f"outputs ({made} {unit}) exceed the inputs consumed ({taken})",
                                     f"产出数量（{made} {unit_name(unit, 'zh')}）超过投入的原料数量（{taken}）"),
                                field="outputs")


def recall(ledger: Ledger, batch_id: str, *, actor: Actor, reason: str, also: list[str] | None = None) -> StoredEvent:
    """A regulator's signed recall of a batch: it, its descendants and the selected sibling lots are flagged."""
    return ledger.append({"type": "recall", "batch": batch_id, "data": {"reason": reason, "also": also or []}},
                         actor=actor)


def recalled(uow: UnitOfWork, batch_id: str) -> str | None:
    """The recall covering the batch, if any."""
    return uow.recall_of(batch_id)

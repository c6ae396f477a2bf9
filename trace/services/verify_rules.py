"""Verification layer 5, compliance: each family's hard rules re-run over every event, in log order.

DESIGN.md: compliance rules run at append time and again during verification. At append time a hard
rule refuses the event (services/custody.py `judge`); here the same pure rules judge each stored event
against the batch as it stood just before it, replayed from the log alone:

- the batch's state (holder, quantity, unit, status) follows its events as `apply_custody` moves it:
  the first event sets family, product, lot, quantity and unit; ship puts it in transit; receive hands
  it over with the quantity received; cancel ends the transit; consume and sell take from it;
- a rule sees the bodies of the batch's earlier events, and for a transformation each input batch's
  events up to that position (for a harvest, its plot's), as `custody._proposal` gives them;
- the acting org's kind is today's (orgs are not log entries).

A hard rule that now refuses an event the log holds is a breach: the event was edited in the
database and re-signed, was written past the rules, or a rule has since become stricter. Soft rules
and lab verdicts are not re-judged here: they never refuse, their findings are already stored.
Never raises on bad data: an unreadable body is left to the event layer, which names it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Engine

from farmtrace.storage.uow import UnitOfWork, read_event_range, seq_bounds

from farmtrace.ledger.events import event_type
from farmtrace.rules.declare import Said
from farmtrace.rules.families import (BatchState, Family, OrgFacts, Proposal, family_or_none, genesis_inputs,
                                      quarantine_numbers)


@dataclass(frozen=True)
class RuleBreach:
    """A hard rule that refuses an event the log holds."""

    seq: int
    event_hash: str
    batch: str | None
    rule: str
    message: str        # English, citing its standard
    message_zh: str


@dataclass
class _Batch:
    family: str
    product: str
    lot: str
    holder: str
    quantity: Decimal | None
    unit: str | None
    status: str = "held"

    def state(self, batch_id: str) -> BatchState:
        return BatchState(batch_id, self.family, self.product, self.lot, self.holder, self.quantity, self.unit,
                          self.status)


def _qty(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _words(message: Any) -> tuple[str, str]:
    if isinstance(message, Said):
        return str.__str__(message), message.zh
    return str(message), str(message)


class RuleReplay:
    """The batches' states and histories as the log builds them, one event at a time."""

    def __init__(self, org_kinds: Mapping[str, str], org_facts: Mapping[str, OrgFacts] | None = None) -> None:
        self.org_kinds = org_kinds
        self.org_facts = org_facts or {}
        self.batches: dict[str, _Batch] = {}
        self.history: dict[str, list[dict[str, Any]]] = {}
        self.judged = 0

    def judge(self, seq: int, event_hash: str, body: Mapping[str, Any]) -> list[RuleBreach]:
        """Run the hard rules that apply to `body` against the batch before it, then apply it."""
        breaches: list[RuleBreach] = []
        etype, batch_id = body.get("type"), body.get("batch")
        kind = event_type(etype)
        if kind is None or kind.batchless or not isinstance(batch_id, str):
            return breaches
        data = body.get("data") if isinstance(body.get("data"), Mapping) else {}
        assert isinstance(data, Mapping)
        batch = None if kind.genesis else self.batches.get(batch_id)
        family_name = str(data.get("family")) if kind.genesis else (batch.family if batch else None)
        family = family_or_none(family_name) if family_name else None
        if family is not None:
            breaches = self._hard_rules(family, seq, event_hash, body, data, batch, batch_id)
        self._apply(kind.genesis, str(etype), body, data, batch_id)
        return breaches

    def _hard_rules(self, family: Family, seq: int, event_hash: str, body: Mapping[str, Any],
                    data: Mapping[str, Any], batch: _Batch | None, batch_id: str) -> list[RuleBreach]:
        etype = str(body.get("type"))
        hard = [r for r in family.hard_rules if etype in r.applies_to]
        if not hard:
            return []
        try:
            at = datetime.fromisoformat(str(body.get("at")).replace("Z", "+00:00"))
        except ValueError:
            return []  # the event layer names an unreadable time
        if etype == "transform":
            inputs = {str(i.get("batch")): list(self.history.get(str(i.get("batch")), []))
                      for i in data.get("inputs", []) if isinstance(i, Mapping)}
        elif batch is None and isinstance(data.get("plot"), str) and data["plot"] in self.batches:
            inputs = {str(data["plot"]): list(self.history.get(str(data["plot"]), []))}
        else:
            inputs = {}
            first = self.history.get(batch_id, [])[:1] if batch is not None else []
            plot = first[0].get("data", {}).get("plot") if first and first[0].get("type") == "harvested" else None
            if isinstance(plot, str) and plot in self.batches:  # as custody._proposal: a harvested lot sees its plot
                inputs = {plot: list(self.history.get(plot, []))}
        org = str(body.get("org"))
        orgs = {o: self.org_facts[o] for o in (org, data.get("to")) if isinstance(o, str) and o in self.org_facts}
        history = [] if batch is None else list(self.history.get(batch_id, []))
        sources = frozenset(number for source in genesis_inputs(history) if etype == "inspected"  # as custody._proposal
                            for number in quarantine_numbers(self.history.get(source, [])))
        proposal = Proposal(type=etype, data=data, at=at, org=org, org_kind=self.org_kinds.get(org, ""),
                            batch=None if batch is None else batch.state(batch_id), history=history, inputs=inputs,
                            orgs=orgs, source_certificates=sources)
        self.judged += 1
        breaches = []
        for rule in hard:
            try:
                message = rule.check(proposal)
            except Exception as err:  # noqa: BLE001 - a rule that cannot read a stored body refuses it
                message = Said(f"the rule could not judge the event ({type(err).__name__}: {err})",
                               f"规则无法判断这条记录（{type(err).__name__}：{err}）")
            if message:
                en, zh = _words(message)
                breaches.append(RuleBreach(seq, event_hash, batch_id, rule.id, en, zh))
        return breaches

    def _apply(self, genesis: bool, etype: str, body: Mapping[str, Any], data: Mapping[str, Any],
               batch_id: str) -> None:
        """Move the batch's state as services/custody.py `apply_custody` does, and remember the body."""
        if genesis:
            self.batches[batch_id] = _Batch(str(data.get("family")), str(data.get("product")), str(data.get("lot")),
                                            str(body.get("org")), _qty(data.get("quantity")),
                                            None if data.get("unit") is None else str(data.get("unit")))
            self.history[batch_id] = []
        batch = self.batches.get(batch_id)
        self.history.setdefault(batch_id, []).append(dict(body))
        if batch is None or genesis:
            return
        if etype == "ship":
            batch.status = "in_transit"
        elif etype == "receive":
            batch.holder, batch.status, batch.quantity = str(body.get("org")), "held", _qty(data.get("quantity"))
        elif etype == "cancel":
            batch.status = "held"
        elif etype in ("consume", "sell") and batch.quantity is not None:
            taken = _qty(data.get("quantity"))
            if taken is not None:
                batch.quantity -= taken
                if batch.quantity == 0:
                    batch.status = "consumed" if etype == "consume" else "sold"


def rerun_rules(engine: Engine, *, progress: Callable[[int, int], None] | None = None,
                chunk: int = 4096) -> tuple[list[RuleBreach], int]:
    """Re-run every family's hard rules over the log in sequence order.

    Returns the breaches (event, batch, rule, message) and how many events a hard rule judged.
    Memory grows with the bodies of the log's batches (their histories), as the append path reads them.
    """
    with UnitOfWork(engine) as uow:
        orgs = uow.orgs()
        licences = uow.org_licences()
        kinds = {org.id: org.kind for org in orgs}
        facts = {org.id: OrgFacts(org.kind, org.county, licences.get(org.id, {})) for org in orgs}
    replay = RuleReplay(kinds, facts)
    breaches: list[RuleBreach] = []
    low, high = seq_bounds(engine)
    done, total = 0, max(high + 1, 0)
    for start in range(max(low, 0), high + 1, chunk):
        for seq, stored_hash, canonical, *_rest in read_event_range(engine, start, start + chunk):
            done += 1
            try:
                body = json.loads(canonical)
            except ValueError:
                continue
            if isinstance(body, dict):
                breaches.extend(replay.judge(int(seq), str(stored_hash), body))
        if progress:
            progress(done, total)
    return breaches, replay.judged

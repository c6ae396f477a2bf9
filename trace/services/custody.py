"""Custody, quantities, lineage, lab results and recalls: the checks an append makes about its batch.

Rules (DESIGN.md "The ledger", issue "The four product families"):
1. Only the holder appends to a batch; the exceptions are the receiver's `receive`, the named
   lab's `test` of a `sample`, and a regulator's `recall`.
1a. A `sample` names in `data.lab` an accredited lab: an org of kind `lab` with its 资质认定 (CMA)
   number recorded, which is neither the holder sending the sample nor the batch's origin producer
   (`batches.origin_org`). Its `test` is appended by that lab alone, and only while it is such a lab,
   so a sample in an older log that names the holder itself still cannot be tested by the holder.
1b. A `packed` event's `data.gtin` is a valid GTIN (not a GTIN-8) under one of the GS1 company
   prefixes registered to the packing org (`org_prefixes`), and its `data.lot`, when present, is
   the batch's own lot: no org can claim another brand's Digital Link `/01/{gtin}/10/{lot}`.
2. A handoff is `ship` (the whole held quantity, to a named org) then `receive` by that org naming
   the ship event, with quantity + declared loss equal to what was shipped. In transit, nothing but
   `receive` may be appended.
3. `consume` and `sell` never take more than is held; a batch with nothing left is closed.
4. A transformation's output names, for each input, the input's `consume` event (which names the
   output); the lineage edge is recorded, and a recalled input makes the output recalled.
5. A recalled batch (itself, an ancestor, or a lot the regulator selected) cannot be shipped or sold.
6. Family rules judge the event: a hard rule refuses it, a soft rule records a warning, and a lab
   `test` gets its verdict computed from the family's thresholds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from farmtrace.ledger.errors import CustodyError, InvalidEventError, NotFoundError, RuleViolationError, Said
from farmtrace.ledger.events import EventBody
from farmtrace.services.transaction import Actor, AppendTx
from farmtrace.rules.declare import type_name, unit_name
from farmtrace.rules.steps import FAMILIES
from farmtrace.rules.families import BatchState, Proposal, family_or_none, genesis_inputs, quarantine_numbers
from farmtrace.rules.gs1 import gtin14, is_gtin8, under_prefix

if TYPE_CHECKING:
    from farmtrace.storage.uow import BatchRow


IN_TRANSIT_ONLY = ("receive", "cancel", "recall")
TAKING_ZH = {"ship": "发货", "sell": "销售", "consume": "投料"}  # the events that take from what is held, in Chinese


def _family_zh(family: str | None) -> str:
    return FAMILIES[family][0] if family in FAMILIES else str(family)


def _qty(value: Any) -> Decimal:
    return Decimal(str(value))


def check_custody(tx: AppendTx, body: EventBody, batch: BatchRow | None, actor: Actor) -> None:
    """Refuse the event unless `actor` may append it to `batch` now (rules 1-5)."""
    kind = body.kind
    if kind.family is not None:
        family = str(body.data.get("family")) if kind.genesis else (batch.family if batch else None)
        if family != kind.family:
            raise InvalidEventError(Said(f"{body.type} is a step of the {kind.family} family, not {family}",
                                         f"{type_name(body.type, 'zh_CN')}是{_family_zh(kind.family)}的步骤，不能用于"
                                         f"{_family_zh(family)}"), field="type")
    if batch is None:
        return
    if batch.status == "in_transit" and body.type not in IN_TRANSIT_ONLY:
        raise CustodyError(Said(f"batch {batch.id} is in transit to {batch.transit_to}; only its receive (or the "
                                "sender's cancel) may follow",
                                f"批次 {batch.id} 正在发往 {batch.transit_to}（在途）：只能由收货方收货，或由发货方取消发货"),
                           field="batch")
    if body.type == "cancel" and (batch.status != "in_transit" or data_ship(body) != batch.head):
        raise InvalidEventError(Said("cancel names the ship event of a batch still in transit",
                                     "取消发货须指明本批次仍在途的那条发货记录"), field="data.ship")
    data = body.data
    if body.type == "receive":
        _check_receive(tx, body, batch, actor)
    elif body.type == "test":
        sample = tx.body_of(str(data["sample"]))
        if sample is None or sample.get("type") != "sample" or sample.get("batch") != batch.id:
            raise InvalidEventError(Said("data.sample must name a sample event of this batch",
                                         "检测结果须指明本批次的一条抽样记录"), field="data.sample")
        if sample["data"].get("lab") != actor.org:
            raise CustodyError(Said(f"the sample was sent to {sample['data'].get('lab')}, not {actor.org}",
                                    f"该样品送检给 {sample['data'].get('lab')}，不是 {actor.org}"), field="org")
        problem = lab_problem(tx, actor.org, batch, sender=str(sample.get("org")))
        if problem is not None:
            raise CustodyError(f"{actor.org}: {problem}", field="org")
    elif body.type == "recall":
        if tx.org_kind(actor.org) != "regulator":
            raise CustodyError(Said("only a regulator may recall", "只有监管部门可以发起召回"), field="org")
        for other in data.get("also", []):
            if tx.batch(str(other)) is None:
                raise NotFoundError(Said(f"data.also names no batch {other}", f"要一并召回的批次 {other} 不存在"),
                                    field="data.also")
    elif batch.org_id != actor.org:
        raise CustodyError(Said(f"batch {batch.id} is held by {batch.org_id}, not {actor.org}",
                                f"批次 {batch.id} 的持有方是 {batch.org_id}，不是 {actor.org}"), field="batch")
    if batch.status in ("consumed", "sold") and body.type in ("ship", "sell", "consume"):
        raise CustodyError(Said(f"batch {batch.id} has nothing left to {body.type}",
                                f"批次 {batch.id} 已没有剩余数量可{TAKING_ZH[body.type]}"), field="batch")
    if body.type in ("ship", "sell"):
        recall = tx.recall_of(batch.id)
        if recall is not None:
            raise CustodyError(Said(f"batch {batch.id} is recalled (recall {recall[:16]}…) and cannot be "
                                    f"{'shipped' if body.type == 'ship' else 'sold'}",
                                    f"批次 {batch.id} 已被召回（召回记录 {recall[:16]}…），不能"
                                    f"{'发货' if body.type == 'ship' else '销售'}"), field="batch")
    if body.type in ("ship", "sell", "consume"):
        _check_quantity(body, batch, whole=body.type == "ship")
    if body.type == "sample":
        problem = lab_problem(tx, str(data["lab"]), batch, sender=actor.org)
        if problem is not None:
            raise InvalidEventError(f"data.lab {data['lab']}: {problem}", field="data.lab")
    if body.type == "packed":
        _check_packed(tx, body, batch, actor)
    if body.type == "ship":
        if data["to"] == actor.org:
            raise InvalidEventError(Said("a batch is shipped to another org", "批次只能发货给其他机构"), field="data.to")
        if tx.org_kind(str(data["to"])) is None:
            raise NotFoundError(Said(f"no org {data['to']}", f"收货机构 {data['to']} 不存在"), field="data.to")


def lab_problem(tx: AppendTx, lab: str, batch: BatchRow, *, sender: str) -> str | None:
    """Why `lab` may not test a sample of `batch` sent by `sender` (None: it may), Chinese then English (rule 1a)."""
    if lab == sender:
        return "送检方不能为自己的样品出具检测结果。The org sending a sample cannot be its lab."
    if lab == batch.origin_org:
        return (f"检测机构不能是该批次的原始生产者 ({batch.origin_org})。The lab cannot be the batch's origin "
                f"producer ({batch.origin_org}).")
    record = tx.org_record(lab)
    if record is None:
        return "没有这个机构。No such org."
    kind, cma = record
    if kind != "lab":
        return f"该机构不是检测机构 (类型 {kind})。This org is not a lab (its kind is {kind})."
    if not cma:
        return ("该检测机构未登记资质认定 (CMA) 证书编号。This lab has no CMA accreditation number recorded "
                "(farmtrace org cma ORG NUMBER).")
    return None


def _check_packed(tx: AppendTx, body: EventBody, batch: BatchRow, actor: Actor) -> None:
    """Rule 1b: the GTIN is the packing org's own, and the lot is the batch's."""
    data = body.data
    if "lot" in data and data["lot"] != batch.lot:
        raise InvalidEventError(f"data.lot 必须是本批次的批号 {batch.lot}。data.lot must be the batch's own lot "
                                f"{batch.lot}, got {data['lot']!r}.", field="data.lot")
    if "gtin" not in data:
        return
    gtin = gtin14(data["gtin"])
    if gtin is None:
        raise InvalidEventError(f"data.gtin {data['gtin']!r} 不是有效的商品条码 (8/12/13/14 位数字，校验位正确)。"
                                "data.gtin must be a GTIN of 8, 12, 13 or 14 digits with a correct check digit.",
                                field="data.gtin")
    if is_gtin8(gtin):
        raise InvalidEventError("GTIN-8 由编码中心逐个分配，不在厂商识别代码之下，farmtrace 不接受。A GTIN-8 is "
                                "allocated one by one, under no company prefix; pack with a GTIN-12/13/14.",
                                field="data.gtin")
    prefixes = tx.company_prefixes(actor.org)
    if not any(under_prefix(gtin, prefix) for prefix in prefixes):
        registered = ", ".join(sorted(prefixes)) or "无 none"
        raise InvalidEventError(f"商品条码 {gtin} 不在 {actor.org} 登记的厂商识别代码 ({registered}) 之下。GTIN {gtin} "
                                f"is not under a GS1 company prefix registered to {actor.org} ({registered}).",
                                field="data.gtin")


def data_ship(body: EventBody) -> str:
    return str(body.data.get("ship"))


def _check_quantity(body: EventBody, batch: BatchRow, *, whole: bool) -> None:
    data = body.data
    if batch.unit is not None and data["unit"] != batch.unit:
        raise InvalidEventError(Said(f"data.unit must be the batch's unit {batch.unit}",
                                     f"单位必须是本批次的单位：{unit_name(batch.unit, 'zh')}"), field="data.unit")
    if batch.quantity is None:
        return
    held, asked = _qty(batch.quantity), _qty(data["quantity"])
    if asked > held:
        raise CustodyError(Said(f"{body.type} of {asked} {data['unit']} exceeds the {held} held",
                                f"{TAKING_ZH.get(body.type, body.type)}数量 {asked} {unit_name(data['unit'], 'zh')} "
                                f"超过持有的 {held}"), field="data.quantity")
    if whole and asked != held:
        raise InvalidEventError(Said(f"ship the whole held quantity ({held} {batch.unit}); split the lot first with a "
                                     "transformation to ship part of it",
                                     f"发货须发出全部持有数量（{held} {unit_name(batch.unit, 'zh')}）；"
                                     "只发一部分时，请先通过加工把批次拆分"), field="data.quantity")


def _check_receive(tx: AppendTx, body: EventBody, batch: BatchRow, actor: Actor) -> None:
    if batch.status != "in_transit":
        raise CustodyError(Said(f"batch {batch.id} is not in transit", f"批次 {batch.id} 不在途，无法收货"),
                           field="batch")
    if batch.transit_to != actor.org:
        raise CustodyError(Said(f"batch {batch.id} was shipped to {batch.transit_to}, not {actor.org}",
                                f"批次 {batch.id} 是发给 {batch.transit_to} 的，不是 {actor.org}"), field="org")
    if body.data["ship"] != batch.head:
        raise InvalidEventError(Said("data.ship must name the batch's ship event", "收货须指明本批次的发货记录"),
                                field="data.ship")
    ship = tx.body_of(str(body.data["ship"]))
    assert ship is not None
    shipped = ship["data"]
    loss = _qty(body.data.get("loss", "0"))
    if body.data["unit"] != shipped["unit"] or _qty(body.data["quantity"]) + loss != _qty(shipped["quantity"]):
        raise InvalidEventError(Said(f"received {body.data['quantity']} {body.data['unit']} + loss {loss} does not "
                                     f"match the {shipped['quantity']} {shipped['unit']} shipped",
                                     f"收货 {body.data['quantity']} {unit_name(body.data['unit'], 'zh')} 加损耗 {loss}，"
                                     f"与发货的 {shipped['quantity']} {unit_name(shipped['unit'], 'zh')} 不符"),
                                field="data.quantity")


def apply_custody(tx: AppendTx, body: EventBody, batch: BatchRow | None, actor: Actor) -> None:
    """Move the batch's holder, quantity and status after the event is stored."""
    data = body.data
    if body.type == "transform":
        _link_inputs(tx, body)
    if batch is None or body.kind.genesis:
        return
    if body.type == "ship":
        batch.status, batch.transit_to = "in_transit", str(data["to"])
    elif body.type == "receive":
        batch.org_id, batch.status, batch.transit_to = actor.org, "held", None
        batch.quantity = str(data["quantity"])
    elif body.type == "cancel":
        batch.status, batch.transit_to = "held", None
    elif body.type in ("consume", "sell") and batch.quantity is not None:
        left = _qty(batch.quantity) - _qty(data["quantity"])
        batch.quantity = str(left)
        if left == 0:
            batch.status = "consumed" if body.type == "consume" else "sold"
    elif body.type == "recall":
        tx.recall([batch.id, *[str(b) for b in data.get("also", [])]], body.hash)


def _link_inputs(tx: AppendTx, body: EventBody) -> None:
    output = str(body.batch)
    for i, item in enumerate(body.data["inputs"]):
        consumed = tx.body_of(str(item["event"]))
        if consumed is None or consumed.get("type") != "consume" or consumed.get("batch") != item["batch"]:
            raise InvalidEventError(Said(f"data.inputs[{i}].event must name a consume event of batch {item['batch']}",
                                         f"原料批次 {item['batch']} 须指明它的一条投料记录"),
                                    field=f"data.inputs[{i}].event")
        if output not in consumed["data"].get("into", []):
            raise InvalidEventError(Said(f"the consume event of {item['batch']} does not name {output} as an output",
                                         f"批次 {item['batch']} 的投料记录没有把 {output} 列为产出批次"),
                                    field=f"data.inputs[{i}].event")
        if consumed.get("org") != body.org:
            raise CustodyError(Said(f"input {item['batch']} was consumed by {consumed.get('org')}, not {body.org}",
                                    f"原料批次 {item['batch']} 是由 {consumed.get('org')} 投料的，不是 {body.org}"),
                               field=f"data.inputs[{i}]")
        if (consumed["data"]["quantity"], consumed["data"]["unit"]) != (item["quantity"], item["unit"]):
            raise InvalidEventError(Said(f"data.inputs[{i}] quantity differs from the consume event",
                                         f"原料批次 {item['batch']} 的数量或单位与它的投料记录不一致"),
                                    field=f"data.inputs[{i}].quantity")
        tx.link(output, str(item["batch"]), str(item["event"]), str(item["quantity"]), str(item["unit"]))
        recall = tx.recall_of(str(item["batch"]))
        if recall is not None:
            tx.recall([output], recall)


def judge(tx: AppendTx, body: EventBody, batch: BatchRow | None, actor: Actor) -> list[tuple[str, str, str]]:
    """Run the family's rules; raise on a hard one; return (rule, severity, message) findings."""
    family_name = str(body.data.get("family")) if body.kind.genesis else (batch.family if batch else None)
    if family_name is None:
        return []
    family = family_or_none(family_name)
    if family is None:
        return []
    hard = [r for r in family.hard_rules if body.type in r.applies_to]
    soft = [r for r in family.soft_rules if body.type in r.applies_to]
    judge_test = family.judge_test
    if not hard and not soft and not (body.type == "test" and judge_test):
        return []
    proposal = _proposal(tx, body, batch, actor)
    for rule in hard:
        message = rule.check(proposal)
        if message:
            raise RuleViolationError(message, field=rule.field)
    findings = [(rule.id, "warning", message) for rule in soft if (message := rule.check(proposal))]
    if body.type == "test" and judge_test is not None:
        verdict, message = judge_test(body.data, proposal.at.date(), None)
        findings.append(("verdict", verdict, message or verdict))
    return findings


def _proposal(tx: AppendTx, body: EventBody, batch: BatchRow | None, actor: Actor) -> Proposal:
    state = None if batch is None or body.kind.genesis else BatchState(
        batch.id, batch.family, batch.product, batch.lot, batch.org_id,
        None if batch.quantity is None else Decimal(batch.quantity), batch.unit, batch.status)
    history: Sequence[Mapping[str, Any]] = () if state is None else tx.history(batch.id)  # type: ignore[union-attr]
    if body.type == "transform":
        inputs = {str(i["batch"]): tx.history(str(i["batch"])) for i in body.data.get("inputs", [])}
    elif body.kind.genesis and isinstance(body.data.get("plot"), str) and tx.batch(str(body.data["plot"])):
        inputs = {str(body.data["plot"]): tx.history(str(body.data["plot"]))}  # a harvest sees its plot's records
    elif history and isinstance(plot := _harvest_plot(history), str) and tx.batch(plot):
        inputs = {plot: tx.history(plot)}  # a harvested lot's later events see its plot's records (用什么药检什么药)
    else:
        inputs = {}
    orgs = {org: facts for org in (actor.org, body.data.get("to")) if isinstance(org, str)
            and (facts := tx.org_facts(org)) is not None}
    # a post-mortem `inspected` sees the quarantine certificates of the live lots its batch was made from
    sources = frozenset(number for source in genesis_inputs(history) if body.type == "inspected"
                        for number in quarantine_numbers(tx.history(source)))
    return Proposal(type=body.type, data=body.data, at=datetime.fromisoformat(body.at.replace("Z", "+00:00")),
                    org=actor.org, org_kind=tx.org_kind(actor.org) or "", batch=state, history=history, inputs=inputs,
                    orgs=orgs, source_certificates=sources)


def _harvest_plot(history: Sequence[Mapping[str, Any]]) -> str | None:
    """The plot a harvested lot came from (its first event, a `harvested`), or None."""
    first = history[0]
    data = first.get("data")
    if first.get("type") != "harvested" or not isinstance(data, Mapping) or not isinstance(data.get("plot"), str):
        return None
    return str(data["plot"])

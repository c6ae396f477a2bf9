"""Custody, handoffs, transformations, lineage and recall, through the real ledger on both databases."""

import random

import pytest

from farmtrace.services.transaction import Actor
from farmtrace.ledger.errors import CustodyError, InvalidEventError
from farmtrace.services.lineage import recall, trace, transform
from farmtrace.services.verify import verify_log


@pytest.fixture
def chain(ledger, make_org, make_batch):
    farm, mill, shop = make_org(), make_org(kind="processor"), make_org(kind="retailer")
    lab, samr = make_org(kind="lab"), make_org(kind="regulator")
    paddy = make_batch(farm, quantity="1000", unit="KGM")
    return {"farm": farm, "mill": mill, "shop": shop, "lab": lab, "samr": samr, "paddy": paddy}


def ship(ledger, batch, frm, to, quantity, unit="KGM"):
    return ledger.append({"type": "ship", "batch": batch, "data": {"to": to, "quantity": quantity, "unit": unit}},
                         actor=Actor(org=frm))


def receive(ledger, batch, shipped, by, quantity, unit="KGM", **extra):
    return ledger.append({"type": "receive", "batch": batch, "data": {"ship": shipped.hash, "quantity": quantity,
                                                                     "unit": unit, **extra}}, actor=Actor(org=by))


def test_a_handoff_moves_custody_to_the_receiver(ledger, chain) -> None:
    shipped = ship(ledger, chain["paddy"], chain["farm"], chain["mill"], "1000")
    with pytest.raises(CustodyError):  # in transit: neither side may append but the receiver's receive
        ledger.append({"type": "observe", "batch": chain["paddy"], "data": {"step": "x"}}, actor=Actor(org=chain["farm"]))
    receive(ledger, chain["paddy"], shipped, chain["mill"], "995", loss="5")
    with ledger.uow() as uow:
        batch = uow.batch(chain["paddy"])
    assert (batch.org_id, batch.status, batch.quantity) == (chain["mill"], "held", "995")
    with pytest.raises(CustodyError):
        ledger.append({"type": "observe", "batch": chain["paddy"], "data": {"step": "x"}}, actor=Actor(org=chain["farm"]))
    assert verify_log(ledger.engine, log_origin=ledger.log_origin).ok


MISMATCHES = {  # id: (receiver key, received quantity, extra, error, field)
    "the wrong receiver": ("shop", "1000", {}, CustodyError, "org"),
    "a quantity that does not balance": ("mill", "990", {}, InvalidEventError, "data.quantity"),
    "a wrong unit": ("mill", "1000", {"unit": "TNE"}, InvalidEventError, "data.quantity"),
}


@pytest.mark.parametrize(("who", "qty", "extra", "error", "field"), list(MISMATCHES.values()), ids=list(MISMATCHES))
def test_a_receive_that_does_not_match_its_ship_is_refused(ledger, chain, who, qty, extra, error, field) -> None:
    shipped = ship(ledger, chain["paddy"], chain["farm"], chain["mill"], "1000")
    before = ledger.row_counts()
    with pytest.raises(error) as refused:
        receive(ledger, chain["paddy"], shipped, chain[who], qty, **extra)
    assert refused.value.field == field
    assert ledger.row_counts() == before


def test_overdrawing_a_batch_is_refused(ledger, chain) -> None:
    before = ledger.row_counts()
    with pytest.raises(CustodyError) as refused:
        ledger.append({"type": "sell", "batch": chain["paddy"], "data": {"quantity": "1000.5", "unit": "KGM"}},
                      actor=Actor(org=chain["farm"]))
    assert refused.value.field == "data.quantity"
    with pytest.raises(CustodyError):
        transform(ledger, [{"batch": chain["paddy"], "quantity": "1200"}],
                  [{"batch": "rice-1", "product": "大米", "lot": "R1", "family": "produce", "quantity": "700",
                    "unit": "KGM"}], actor=Actor(org=chain["farm"]), process="milling")
    assert ledger.row_counts() == before


def test_only_the_named_lab_appends_a_test_to_a_sample(ledger, chain, make_org) -> None:
    other_lab = make_org(kind="lab")
    sample = ledger.append({"type": "sample", "batch": chain["paddy"], "data": {"lab": chain["lab"],
                                                                               "sample_id": "S-1"}},
                           actor=Actor(org=chain["farm"]))
    result = {"type": "test", "batch": chain["paddy"], "data": {"sample": sample.hash, "analyte": "Cd",
                                                                "method": "GB 5009.15", "value": "0.05",
                                                                "unit": "mg/kg", "report_no": "R-1"}}
    with pytest.raises(CustodyError):
        ledger.append(result, actor=Actor(org=other_lab))
    stored = ledger.append(result, actor=Actor(org=chain["lab"]))
    assert stored.body.org == chain["lab"]


def test_a_recalled_lot_and_its_descendants_cannot_be_shipped_or_sold(ledger, chain) -> None:
    actor = Actor(org=chain["farm"])
    transform(ledger, [{"batch": chain["paddy"], "quantity": "1000"}],
              [{"batch": "rice-a", "product": "大米", "lot": "RA", "family": "produce", "quantity": "400", "unit": "KGM"},
               {"batch": "rice-b", "product": "大米", "lot": "RB", "family": "produce", "quantity": "300",
                "unit": "KGM"}], actor=actor, process="milling")
    with pytest.raises(CustodyError):  # only a regulator recalls
        recall(ledger, chain["paddy"], actor=actor, reason="x")
    recall(ledger, chain["paddy"], actor=Actor(org=chain["samr"]), reason="镉超标 (GB 2762-2022)")
    for batch, quantity in (("rice-a", "400"), ("rice-b", "300")):
        with pytest.raises(CustodyError) as refused:
            ship(ledger, batch, chain["farm"], chain["shop"], quantity)
        assert "recalled" in refused.value.message
        with pytest.raises(CustodyError):
            ledger.append({"type": "sell", "batch": batch, "data": {"quantity": "1", "unit": "KGM"}}, actor=actor)
    graph = trace(ledger, chain["paddy"], "forward")
    assert {b["id"] for b in graph.batches if b["recall"]} == {chain["paddy"], "rice-a", "rice-b"}


def _random_dag(ledger, make_batch, farm: str, rng: random.Random, origins: int = 6, steps: int = 14):
    """Splits and merges at random; returns the parent map {child: {parents}} as the reference."""
    held = {make_batch(farm, quantity="64", unit="KGM"): 64 for _ in range(origins)}
    parents: dict[str, set[str]] = {b: set() for b in held}
    for n in range(steps):
        sources = rng.sample(sorted(b for b, q in held.items() if q >= 2), k=min(rng.choice([1, 2, 3]),
                                                                                 len([b for b, q in held.items() if q >= 2])))
        if not sources:
            break
        outputs = [f"d{n}-{k}" for k in range(rng.choice([1, 2]))]
        takes = {s: held[s] // 2 for s in sources}
        total = sum(takes.values())
        made = [{"batch": o, "product": "混合", "lot": o, "family": "produce",
                 "quantity": str(total // len(outputs)), "unit": "KGM"} for o in outputs]
        transform(ledger, [{"batch": s, "quantity": str(q)} for s, q in takes.items()], made,
                  actor=Actor(org=farm), process="mixing")
        for s, q in takes.items():
            held[s] -= q
        for o in made:
            held[o["batch"]] = int(o["quantity"])
            parents[o["batch"]] = set(sources)
    return parents


def _closure(start: str, edges: dict[str, set[str]]) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for nxt in edges.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def test_backward_and_forward_traces_equal_a_brute_force_reference(ledger, make_org, make_batch) -> None:
    seed = 20261124
    rng = random.Random(seed)
    farm = make_org()
    parents = _random_dag(ledger, make_batch, farm, rng)
    children: dict[str, set[str]] = {}
    for child, ps in parents.items():
        for p in ps:
            children.setdefault(p, set()).add(child)
    for batch in parents:
        back = {b["id"] for b in trace(ledger, batch, "backward").batches} - {batch}
        fwd = {b["id"] for b in trace(ledger, batch, "forward").batches} - {batch}
        assert back == _closure(batch, parents), f"seed {seed}, batch {batch}"
        assert fwd == _closure(batch, children), f"seed {seed}, batch {batch}"
    assert verify_log(ledger.engine, log_origin=ledger.log_origin).ok


def test_personal_data_stays_out_of_the_signed_body_and_can_be_erased(ledger, chain) -> None:
    stored = ledger.append({"type": "observe", "batch": chain["paddy"], "data": {
        "step": "harvested", "personal": {"name": "王大山", "phone": "13800000000"}}}, actor=Actor(org=chain["farm"]))
    ref = stored.body.data["personal"]["ref"]
    assert "王大山" not in stored.canonical and "13800000000" not in stored.canonical
    assert ledger.person(ref) == {"name": "王大山", "phone": "13800000000"}
    assert ledger.erase_person(ref)
    assert ledger.person(ref) is None
    assert verify_log(ledger.engine, log_origin=ledger.log_origin).ok
    with pytest.raises(InvalidEventError) as refused:  # a pre-signed body may not carry clear personal data
        ledger.append_signed({"v": 1, "type": "observe", "batch": chain["paddy"], "org": chain["farm"],
                              "key": "0" * 16, "prev": stored.hash, "at": "2026-11-24T10:00:00+08:00",
                              "id": "00000000-0000-4000-8000-000000000009",
                              "data": {"step": "x", "personal": {"name": "王大山"}}}, "A" * 88,
                             actor=Actor(org=chain["farm"]))
    assert refused.value.field == "data.personal"


def test_the_sender_may_cancel_a_shipment_still_in_transit(ledger, chain) -> None:
    shipped = ship(ledger, chain["paddy"], chain["farm"], chain["mill"], "1000")
    cancel = {"type": "cancel", "batch": chain["paddy"], "data": {"ship": shipped.hash, "reason": "车辆故障"}}
    with pytest.raises(CustodyError):
        ledger.append(cancel, actor=Actor(org=chain["mill"]))
    ledger.append(cancel, actor=Actor(org=chain["farm"]))
    with ledger.uow() as uow:
        batch = uow.batch(chain["paddy"])
    assert (batch.org_id, batch.status) == (chain["farm"], "held")
    with pytest.raises(CustodyError):  # the receiver can no longer receive it
        receive(ledger, chain["paddy"], shipped, chain["mill"], "1000")

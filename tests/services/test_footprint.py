"""A batch's carbon footprint over its lineage through the real ledger (services/footprint.py): a
hand-computed chain to the gram, allocation across splits and merges that conserves the total, the
org's monthly report, and bad activity data refused with nothing written."""

from decimal import ROUND_DOWN, Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from farmtrace.ledger.errors import InvalidEventError, NotFoundError
from farmtrace.services.footprint import footprint, org_monthly
from farmtrace.services.lineage import transform
from farmtrace.services.transaction import Actor

GRAM = Decimal("0.001")


def _orgs(ledger):
    ledger.create_org("farm", "青峪养殖场", kind="producer", family="produce", county="511921")
    ledger.create_org("plant", "巴中肉类加工园", kind="processor", family="produce", county="511902")
    ledger.create_org("shop", "巴州区江北生鲜超市", kind="retailer", county="511902")


def _create(ledger, org, batch, kg, activity=None):
    data = {"product": batch, "lot": batch[:20], "family": "produce", "quantity": str(kg), "unit": "KGM"}
    if activity:
        data["activity"] = activity
    ledger.append({"type": "create", "batch": batch, "data": data}, actor=Actor(org=org))


def _output(batch, kg, **more):
    return {"batch": batch, "product": batch, "lot": batch[:20], "family": "produce", "quantity": str(kg),
            "unit": "KGM", **more}


def _handoff(ledger, batch, frm, to, kg, activity=None):
    data = {"to": to, "quantity": str(kg), "unit": "KGM", **({"activity": activity} if activity else {})}
    shipped = ledger.append({"type": "ship", "batch": batch, "data": data}, actor=Actor(org=frm))
    ledger.append({"type": "receive", "batch": batch, "data": {"ship": shipped.hash, "quantity": str(kg),
                                                                 "unit": "KGM"}}, actor=Actor(org=to))


def _elec(kwh):
    return [{"kind": "electricity", "amount": str(kwh), "unit": "kWh"}]


@pytest.fixture
def chain(ledger):
    """farm → slaughter → cutting (a split) → retail; events dated today, so table v3."""
    _orgs(ledger)
    _create(ledger, "farm", "pigs", 1000, [
        {"kind": "feed", "amount": "2000", "unit": "kg", "feed": "compound"},
        {"kind": "fuel", "amount": "10", "unit": "L", "fuel": "diesel"}])
    _handoff(ledger, "pigs", "farm", "plant", 1000, [{"kind": "transport", "amount": "50", "unit": "TKM",
                                                      "mode": "road"}])
    plant = Actor(org="plant")
    transform(ledger, [{"batch": "pigs", "quantity": "1000"}], [_output("carcass", 700, activity=_elec(100))],
              actor=plant, process="slaughter")
    transform(ledger, [{"batch": "carcass", "quantity": "700"}],
              [_output("loin", 300), _output("leg", 400, activity=_elec(35))], actor=plant, process="cutting")
    _handoff(ledger, "leg", "plant", "shop", 400, [{"kind": "transport", "amount": "8", "unit": "TKM",
                                                    "mode": "road", "refrigerated": True}])
    return ledger


def test_a_three_level_chain_matches_the_hand_computed_footprint_to_the_gram(chain) -> None:
    """Factors (table v3): feed compound 0.55, diesel 2.676 /L, road 0.107 /t·km, refrigerated road 0.127,
    electricity of an org in Sichuan (51xxxx) 0.1404 /kWh (2022, the latest provincial year: fallback).

    pigs (farm, 1,000 kg):  2,000 kg feed × 0.55 = 1,100;  10 L diesel × 2.676 = 26.76;
                            shipped 50 t·km × 0.107 = 5.35                       → own 1,132.11
    carcass (700 kg of the 1,000 kg consumed: the loss stays with it):
                            100 kWh × 0.1404 = 14.04                             → 1,132.11 + 14.04 = 1,146.15
    cutting 700 kg of carcass into loin 300 kg and leg 400 kg, by mass:  leg gets 4/7 = 654.942857…
    leg:                    35 kWh × 0.1404 = 4.914; shipped 8 t·km refrigerated × 0.127 = 1.016
    leg total = 654.942857… + 4.914 + 1.016 = 660.872857… ≈ 660.873 kg CO2e, 1.652 kg CO2e per kg.
    Stages: pigs 1,132.11 × 4/7 = 646.920; carcass 14.04 × 4/7 = 8.023; leg 5.930.
    """
    fp = footprint(chain, "leg")
    assert fp.total_kg.quantize(GRAM) == Decimal("660.873")
    assert (fp.quantity, fp.unit) == (Decimal("400"), "KGM")
    assert fp.per_unit_kg is not None and fp.per_unit_kg.quantize(GRAM) == Decimal("1.652")
    assert [(s.batch, s.kg_co2e.quantize(GRAM)) for s in fp.stages] == [
        ("pigs", Decimal("646.920")), ("carcass", Decimal("8.023")), ("leg", Decimal("5.930"))]
    assert fp.stages[0].org == "farm" and fp.stages[0].org_name == "青峪养殖场"
    assert sum(fp.by_kind.values()).quantize(GRAM) == Decimal("660.873")
    assert fp.by_kind["electricity"].quantize(GRAM) == Decimal("12.937")  # 14.04 × 4/7 + 4.914
    assert fp.table_versions == ("v3",)
    assert fp.estimate  # unverified feed and diesel-per-litre factors, a fallback electricity year
    assert "mass allocation" in fp.method
    assert fp.to_json()["total_kg"].startswith("660.87285714")
    loin = footprint(chain, "loin")
    assert (loin.total_kg + fp.total_kg).quantize(GRAM) == Decimal("1152.080")  # every own emission, once


def test_an_unknown_batch_is_not_found(chain) -> None:
    with pytest.raises(NotFoundError):
        footprint(chain, "no-such-batch")


def test_economic_allocation_shares_a_split_by_value(ledger) -> None:
    _orgs(ledger)
    _create(ledger, "farm", "whole", 100, _elec(1000))  # 1,000 × 0.1404 = 140.4
    transform(ledger, [{"batch": "whole", "quantity": "100"}],
              [_output("prime", 20, allocation="economic", value="3000"),
               _output("trim", 80, allocation="economic", value="1000")], actor=Actor(org="farm"), process="cutting")
    prime = footprint(ledger, "prime")
    assert prime.total_kg.quantize(GRAM) == Decimal("105.300")  # 140.4 × 3000 / 4000
    assert "economic" in prime.method


def test_a_batch_without_activity_data_has_a_zero_footprint(ledger) -> None:
    _orgs(ledger)
    _create(ledger, "farm", "plain", 100)
    fp = footprint(ledger, "plain")
    assert fp.total_kg == 0 and fp.stages == () and not fp.estimate and fp.per_unit_kg == 0


def test_the_monthly_report_divides_the_orgs_emissions_by_what_it_made(chain) -> None:
    rows = org_monthly(chain, "plant")
    assert len(rows) == 1
    row = rows[0]
    # plant's own: 14.04 + 4.914 + 1.016 = 19.97 kg; it made 700 + 300 + 400 kg that month
    assert (row.kg_co2e.quantize(GRAM), row.quantity, row.unit) == (Decimal("19.970"), Decimal("1400"), "KGM")
    assert row.per_unit_kg is not None and row.per_unit_kg.quantize(Decimal("0.000001")) == Decimal("0.014264")
    with pytest.raises(NotFoundError):
        org_monthly(chain, "nobody")


BAD_ACTIVITY = {  # id: (activity, field the refusal names)
    "an unknown kind": ([{"kind": "magic", "amount": "1", "unit": "kg"}], "data.activity[0].kind"),
    "kWh given in litres": ([{"kind": "electricity", "amount": "120", "unit": "LTR"}], "data.activity[0].unit"),
    "a negative amount": ([{"kind": "fuel", "amount": "-5", "unit": "L", "fuel": "diesel"}],
                          "data.activity[0].amount"),
    "a float amount": ([{"kind": "fuel", "amount": 5.5, "unit": "L", "fuel": "diesel"}], "data.activity[0].amount"),
    "a fuel without its type": ([{"kind": "fuel", "amount": "5", "unit": "L"}], "data.activity[0].fuel"),
    "not a list": ({"kind": "fuel"}, "data.activity"),
    "economic allocation without a value": (None, "data.value"),
}


@pytest.mark.parametrize(("activity", "field"), list(BAD_ACTIVITY.values()), ids=list(BAD_ACTIVITY))
def test_bad_activity_data_is_refused_with_its_field_and_nothing_is_written(ledger, activity, field) -> None:
    _orgs(ledger)
    _create(ledger, "farm", "b1", 100)
    before = ledger.row_counts()
    with pytest.raises(InvalidEventError) as refused:
        if activity is None:
            transform(ledger, [{"batch": "b1", "quantity": "100"}], [_output("b2", 90, allocation="economic")],
                      actor=Actor(org="farm"), process="cutting")
        else:
            ledger.append({"type": "sell", "batch": "b1", "data": {"quantity": "1", "unit": "KGM",
                                                                   "activity": activity}}, actor=Actor(org="farm"))
    assert refused.value.field == field
    assert ledger.row_counts() == before


# ---- conservation over random small DAGs -------------------------------------------------------

@st.composite
def dags(draw):
    """Origins with emissions, then transformations that each consume ALL of one to three unconsumed
    batches (a merge) into one to three outputs (a split), each output with its own emissions."""
    origins = draw(st.integers(1, 4))
    steps = []
    pool = list(range(origins))
    made = origins
    for _ in range(draw(st.integers(0, 4))):
        if not pool:
            break
        k = draw(st.integers(1, min(3, len(pool))))
        inputs = [pool.pop(draw(st.integers(0, len(pool) - 1))) for _ in range(k)]
        outputs = list(range(made, made + draw(st.integers(1, 3))))
        made += len(outputs)
        steps.append((inputs, outputs))
        pool.extend(outputs)
    kwh = [draw(st.integers(0, 500)) for _ in range(made)]
    weight = [draw(st.integers(100, 900)) if i < origins else draw(st.integers(1, 9)) for i in range(made)]
    economic = draw(st.booleans())
    return origins, steps, kwh, weight, pool, economic


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(dag=dags())
def test_allocation_across_splits_and_merges_conserves_the_total(ledger, dag) -> None:
    """Every batch consumed whole: the leaves' footprints add up to every batch's own emissions."""
    origins, steps, kwh, weight, leaves, economic = dag
    if not _has_org(ledger, "farm"):
        _orgs(ledger)
    tag = f"d{ledger.row_counts()['events']}-"
    name = [f"{tag}{i}" for i in range(len(kwh))]
    kg = [Decimal(w) for w in weight]
    for i in range(origins):
        _create(ledger, "farm", name[i], kg[i], _elec(kwh[i]) if kwh[i] else None)
    for inputs, outputs in steps:
        taken = sum(kg[i] for i in inputs)
        share = sum(weight[o] for o in outputs) + 1  # a little is lost: outputs never exceed inputs
        for o in outputs:
            kg[o] = (taken * weight[o] / share).quantize(Decimal("0.000000001"), rounding=ROUND_DOWN)
        more = [({"allocation": "economic", "value": str(weight[o] * 3 + 1)} if economic else {}) for o in outputs]
        transform(ledger, [{"batch": name[i], "quantity": str(kg[i])} for i in inputs],
                  [_output(name[o], kg[o], **({"activity": _elec(kwh[o])} if kwh[o] else {}), **m)
                   for o, m in zip(outputs, more)], actor=Actor(org="farm"), process="milling")
    own = sum(Decimal(w) * Decimal("0.1404") for w in kwh)
    leaf_total = sum(footprint(ledger, name[leaf]).total_kg for leaf in leaves)
    assert abs(leaf_total - own) < Decimal("0.000001")


def _has_org(ledger, org):
    with ledger.uow() as uow:
        return uow.org(org) is not None


def test_a_new_table_version_changes_new_results_only(ledger) -> None:
    """An org outside Sichuan: national grid. Before v2 (2025-01-17) the 2022 factor 0.5366 (table v1); an
    event after it the 2023 carbon footprint factor 0.6205 (v2). The older result keeps v1."""
    ledger.create_org("cq-mill", "重庆米厂", kind="processor", family="produce", county="500101")
    for batch, at in (("old", "2024-11-01T09:00:00+08:00"), ("new", "2025-03-01T09:00:00+08:00")):
        ledger.append({"type": "create", "batch": batch, "at": at, "data": {
            "product": "大米", "lot": batch, "family": "produce", "quantity": "100", "unit": "KGM",
            "activity": _elec(100)}}, actor=Actor(org="cq-mill"))
    old, new = footprint(ledger, "old"), footprint(ledger, "new")
    assert (old.total_kg, old.table_versions) == (Decimal("53.6600"), ("v1",))
    assert (new.total_kg, new.table_versions) == (Decimal("62.0500"), ("v2",))
    assert old.factor_rows == ("v1/electricity/national/kWh/2022",)


def test_a_regulator_cannot_add_emissions_to_another_orgs_batch(chain) -> None:
    """An attacker with a regulator's (or a lab's) token signs events on batches it does not hold: a recall
    carrying activity data would raise the shop's footprint. Refused, nothing written, footprint unchanged."""
    chain.create_org("reg", "巴中市市场监管局", kind="regulator", county="511902")
    before_kg, before_rows = footprint(chain, "leg").total_kg, chain.row_counts()
    with pytest.raises(InvalidEventError) as refused:
        chain.append({"type": "recall", "batch": "leg", "data": {"reason": "抽检", "activity": [
            {"kind": "electricity", "amount": "100000", "unit": "kWh"}]}}, actor=Actor(org="reg"))
    assert refused.value.field == "data.activity" and "持有方" in refused.value.message_zh
    assert chain.row_counts() == before_rows and footprint(chain, "leg").total_kg == before_kg


def test_the_footprint_reads_only_the_lineages_events_never_the_whole_log(chain) -> None:
    """At 10^6 events a scan of `events` made a footprint take 1.6 s (docs/benchmarks.md): SQLite's plan for each
    of the footprint's reads must drive from the lineage walk into events by index, never scan the table."""
    if chain.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's query plan; PostgreSQL plans by statistics")
    with chain.uow() as uow:
        traced: list[str] = []
        uow.connection.connection.driver_connection.set_trace_callback(traced.append)
        uow.carbon_events("leg")
        uow.carbon_edges("leg")
        uow.carbon_batches("leg")
        uow.connection.connection.driver_connection.set_trace_callback(None)
        for statement in traced:
            plan = [str(row[-1]) for row in uow.connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement)]
            assert not any(step.startswith("SCAN e") or step == "SCAN events" for step in plan), (statement, plan)
        assert len(traced) == 3

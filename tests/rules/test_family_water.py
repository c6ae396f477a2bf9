"""Bottled-water rules (domain.md §5), judged on Proposals built by hand: no database."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest

from farmtrace.ledger.errors import InvalidEventError
from farmtrace.ledger.events import EVENT_TYPES, EventBody
from farmtrace.rules.declare import Declaration, Kde, Said, describe, kdes_of
from farmtrace.rules.families import BatchState, Proposal, rules_for
from farmtrace.rules.families import water
from farmtrace.rules.families.water import judge_test

HASH = "b" * 64


def at(day: str, hour: int = 9) -> datetime:
    return datetime.fromisoformat(f"{day}T{hour:02d}:00:00+08:00")


class Chain:
    """Bodies per batch, as the ledger would hand them to the rules."""

    def __init__(self) -> None:
        self.bodies: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.state: dict[str, tuple[str, str, str]] = {}

    def propose(self, batch: str, type: str, when: datetime, *, org_kind: str = "producer",
                feeds: Iterable[str] = (), **data: Any) -> Proposal:
        product, quantity, unit = self.state.get(batch, ("", "0", "LTR"))
        state = None if EVENT_TYPES[type].genesis else BatchState(batch, "water", product, "L", "org-1",
                                                                  Decimal(quantity), unit, "held")
        return Proposal(type=type, data=data, at=when, org="org-1", org_kind=org_kind, batch=state,
                        history=tuple(self.bodies[batch]), inputs={b: tuple(self.bodies[b]) for b in feeds})

    def step(self, batch: str, type: str, when: datetime, **kw: Any) -> Proposal:
        p = self.propose(batch, type, when, **kw)
        self.bodies[batch].append({"type": p.type, "at": p.at.isoformat(), "data": dict(p.data)})
        if EVENT_TYPES[type].genesis:
            self.state[batch] = (p.data["product"], p.data["quantity"], p.data["unit"])
        return p


def refusals(p: Proposal) -> dict[str, str]:
    return {r.id: m for r in water.HARD_RULES if p.type in r.applies_to and (m := r.check(p))}


def warnings(p: Proposal) -> dict[str, str]:
    return {r.id: m for r in water.SOFT_RULES if p.type in r.applies_to and (m := r.check(p))}


def result(analyte: str, value: str | None, category: str = "mineral_water", unit: str = "mg/L",
           **extra: str) -> dict[str, Any]:
    return {"sample": HASH, "analyte": analyte, "method": "GB 8538-2022", "value": value, "unit": unit,
            "report_no": "R-1", "category": category, **extra}


def micro(organism: str, category: str = "mineral_water") -> dict[str, Any]:
    return result(organism, "0", category, unit="CFU/250mL")


SOURCE = {"product": "光雾山 1号泉 原水", "lot": "GWS-1", "family": "water", "quantity": "50000000", "unit": "LTR",
          "source_id": "GWS-1", "kind": "mineral", "permit_no": "取水(川巴)字[2024]第0012号", "mining_licence_no": "C5100002024071110012345",
          "protection_zone": "一级保护区 50 m", "county": "511922", "latitude": "32.6531", "longitude": "106.8102",
          "temperature": "14.5", "survey_ref": "GB/T 13727 勘查报告 2023-07",
          "indicators": {"metasilicic_acid": "32.0", "strontium": "0.45"}}


def mineral_chain(source: dict[str, Any] | None = None) -> tuple[Chain, list[Proposal]]:
    """Source -> monitoring -> run (ozone line) -> indicator test -> fill -> release tests -> ship -> sell."""
    c = Chain()
    steps = [
        c.step("src", "source_registered", at("2026-01-10"), **(source or SOURCE)),
        c.step("src", "sample", at("2026-03-01"), lab="lab-1", sample_id="S-0"),
        c.step("src", "test", at("2026-03-03"), org_kind="lab", **result("偏硅酸", "31.0", water_temperature="14.5")),
        c.step("src", "consume", at("2026-03-15", 8), quantity="13200", unit="LTR", into=["run-1"]),
        c.step("run-1", "transform", at("2026-03-15", 8), feeds=["src"], product="光雾山天然矿泉水 550mL",
               lot="L2-20260315-0800", family="water", quantity="13200", unit="LTR", process="bottling", line="L2",
               treatment=["filtration", "ozone", "UV"],
               inputs=[{"batch": "src", "event": HASH, "quantity": "13200", "unit": "LTR"}]),
        c.step("run-1", "sample", at("2026-03-15", 9), lab="lab-1", sample_id="S-1"),
        c.step("run-1", "test", at("2026-03-15", 15), org_kind="lab", **result("H2SiO3", "32.1")),
        c.step("run-1", "packed", at("2026-03-15", 16), size_ml="550", count="24000", cap_lot="CAP-0311",
               gtin="06901234567892", claims=["天然矿泉水"]),
        c.step("run-1", "sample", at("2026-03-16"), lab="lab-1", sample_id="S-2"),
        *(c.step("run-1", "test", at("2026-03-18"), org_kind="lab", **micro(o))
          for o in ("大肠菌群", "faecal_streptococci", "pseudomonas_aeruginosa", "clostridium_perfringens")),
        c.step("run-1", "test", at("2026-03-18"), org_kind="lab", **result("溴酸盐", "4", unit="µg/L")),
        c.step("run-1", "test", at("2026-03-18"), org_kind="lab", **result("Se", "0.02")),
        c.step("run-1", "ship", at("2026-03-19"), to="shop-1", quantity="13200", unit="LTR", doc="DN-7"),
        c.step("run-1", "sell", at("2026-03-25"), org_kind="retailer", quantity="55", unit="LTR"),
    ]
    return c, steps


def drinking_chain() -> list[Proposal]:
    """Municipal source -> run (no ozone) -> fill -> GB 19298 tests -> ship."""
    c = Chain()
    source = {**SOURCE, "product": "市政供水", "lot": "MUN-1", "source_id": "MUN-1", "kind": "municipal",
              "indicators": {}}
    del source["survey_ref"]
    return [
        c.step("mun", "source_registered", at("2026-01-10"), **source),
        c.step("mun", "consume", at("2026-03-15"), quantity="5000", unit="LTR", into=["run-2"]),
        c.step("run-2", "transform", at("2026-03-15"), feeds=["mun"], product="巴山饮用纯净水 5L", lot="L1-20260315-1000",
               family="water", quantity="5000", unit="LTR", process="bottling", treatment="RO, UV",
               inputs=[{"batch": "mun", "event": HASH, "quantity": "5000", "unit": "LTR"}]),
        c.step("run-2", "packed", at("2026-03-15", 14), size_ml="5000", count="1000", cap_lot="C-1"),
        c.step("run-2", "test", at("2026-03-17"), org_kind="lab", **micro("coliforms", "drinking_water")),
        c.step("run-2", "test", at("2026-03-17"), org_kind="lab",
               **result("P. aeruginosa", None, "drinking_water", unit="CFU/250mL", lod="1")),
        c.step("run-2", "test", at("2026-03-17"), org_kind="lab", **result("free chlorine", "0.01", "drinking_water")),
        c.step("run-2", "ship", at("2026-03-18"), to="shop-1", quantity="5000", unit="LTR"),
    ]


@pytest.mark.parametrize("chain", ["mineral", "drinking"])
def test_the_happy_path_from_source_to_retail_passes_every_rule(chain: str) -> None:
    steps = mineral_chain()[1] if chain == "mineral" else drinking_chain()
    for p in steps:
        assert (p.type, refusals(p), warnings(p)) == (p.type, {}, {})
        if p.type == "test":
            assert judge_test(p.data, p.at.date())[0] == "pass"


def _run(tests: Iterable[dict[str, Any]] = (), *, treatment: str = "ozone", quantity: str = "13200",
         unit: str = "LTR", packed: Iterable[dict[str, Any]] = (), product: str = "天然矿泉水 550mL") -> Chain:
    c = Chain()
    c.step("run", "transform", at("2026-03-15"), product=product, lot="L2-20260315-0800", family="water",
           quantity=quantity, unit=unit, process="bottling", treatment=treatment,
           inputs=[{"batch": "src", "event": HASH, "quantity": quantity, "unit": "LTR"}])
    for data in packed:
        c.step("run", "packed", at("2026-03-15", 12), **data)
    for data in tests:
        c.step("run", "test", at("2026-03-16"), org_kind="lab", **data)
    return c


MINERAL_MICRO = [micro(o) for o in ("coliforms", "faecal_streptococci", "pseudomonas_aeruginosa",
                                    "clostridium_perfringens")]
RELEASABLE = [*MINERAL_MICRO, result("bromate", "0.004")]


def _packed(tests: Iterable[dict[str, Any]], **data: Any) -> Proposal:
    return _run(tests).propose("run", "packed", at("2026-03-16", 12), **data)


def _shipped(tests: Iterable[dict[str, Any]], **kw: Any) -> Proposal:
    return _run(tests, **kw).propose("run", "ship", at("2026-03-17"), to="shop-1", quantity="13200", unit="LTR")


def _mineral_from(kind: str) -> Proposal:
    c = Chain()
    c.step("src", "source_registered", at("2026-01-10"), **{**SOURCE, "kind": kind})
    return c.propose("run", "transform", at("2026-03-15"), feeds=["src"], product="天然矿泉水", lot="L2-20260315-0800",
                     family="water", quantity="10", unit="LTR", process="bottling",
                     inputs=[{"batch": "src", "event": HASH, "quantity": "10", "unit": "LTR"}])


def _source_shipped() -> Proposal:
    c = Chain()
    c.step("src", "source_registered", at("2026-01-10"), **SOURCE)
    return c.propose("src", "ship", at("2026-03-01"), to="filler-2", quantity="50000000", unit="LTR")


def _unsurveyed() -> Proposal:
    data = {k: v for k, v in SOURCE.items() if k != "survey_ref"}
    return Chain().propose("src", "source_registered", at("2026-01-10"), **data)


QUALIFIED = [result("metasilicic_acid", "32.1")]
REFUSED = {  # id: (proposal, rule, what the message must say)
    "a mineral source registered without its survey": (_unsurveyed, "water.source_survey", "GB/T 13727"),
    "mineral water made from a groundwater source": (lambda: _mineral_from("groundwater"), "water.mineral_source",
                                                    "GB 8537-2018: 饮用天然矿泉水 is filled from a registered"),
    "mineral raw water shipped away for filling": (_source_shipped, "water.no_trucking", "GB 8537-2018: mineral raw"),
    "filling more than the run holds": (lambda: _packed(QUALIFIED, size_ml="550", count="24001"), "water.fill_volume",
                                        "13200.55 L filled (count × size) > run volume 13200 L"),
    "a second fill over the run volume": (
        lambda: _run(QUALIFIED, packed=[{"size_ml": "550", "count": "20000"}]).propose(
            "run", "packed", at("2026-03-16", 12), size_ml="550", count="5000"), "water.fill_volume", "> run volume"),
    "filling with no count": (lambda: _packed(QUALIFIED, size_ml="550"), "water.fill_volume", "whole data.count"),
    "a fractional bottle count": (lambda: _packed(QUALIFIED, size_ml="550", count="10.5"), "water.fill_volume",
                                  "whole data.count"),
    "more bottles than a bottle-counted run": (
        lambda: _run(QUALIFIED, quantity="100", unit="bottle").propose("run", "packed", at("2026-03-16"),
                                                                       size_ml="550", count="101"),
        "water.fill_volume", "101 bottles filled > the run's 100"),
    "a 矿泉水 label with no indicator test": (lambda: _packed([], claims=["矿泉水"]), "water.mineral_claim",
                                             "GB 8537-2018: a 矿泉水 label needs a test meeting"),
    "a 矿泉水 label below every indicator": (lambda: _packed([result("zinc", "0.05")], claims=["mineral"]),
                                            "water.mineral_claim", "zinc 0.05 mg/L < 0.20 mg/L"),
    "low strontium from a cold source": (
        lambda: _packed([result("Sr", "0.30", water_temperature="14.5")], claims=["矿泉水"]),
        "water.mineral_claim", "qualifies only from a source ≥ 25 °C"),
    "selenium at the mineral-water limit": (lambda: _packed([*QUALIFIED, result("Se", "0.05")]), "water.safety_fail",
                                            "GB 8537-2018: selenium 0.05 mg/L ≥ 0.05 mg/L"),
    "release after a bromate failure": (lambda: _shipped([*MINERAL_MICRO, result("bromate", "12", unit="µg/L")]),
                                        "water.safety_fail", "GB 8537-2018: bromate 0.012 mg/L ≥ 0.01 mg/L"),
    "release without microbiology": (lambda: _shipped([result("bromate", "0.004")]), "water.release",
                                     "GB 8537-2018: release needs a passing clostridium perfringens test"),
    "release of an ozone line without bromate": (lambda: _shipped(MINERAL_MICRO), "water.release",
                                                 "passing bromate test (ozone line); none is recorded"),
    "release after coliforms were found": (lambda: _shipped([*RELEASABLE[1:], result("coliforms", "2",
                                                                                      unit="CFU/250mL")]),
                                           "water.release", "coliforms 2 CFU/250mL detected; must not be detected"),
    "release of drinking water without Pseudomonas": (
        lambda: _shipped([micro("coliforms", "drinking_water")], treatment="RO", product="饮用纯净水"),
        "water.release", "GB 19298-2014: release needs a passing pseudomonas aeruginosa test"),
}


@pytest.mark.parametrize(("make", "rule", "says"), list(REFUSED.values()), ids=list(REFUSED))
def test_a_hard_rule_refuses_and_names_its_standard(make: Callable[[], Proposal], rule: str, says: str) -> None:
    found = refusals(make())
    assert rule in found
    assert says in found[rule]


ALLOWED = {  # id: a proposal every hard rule lets through
    "filling exactly the run volume": lambda: _packed(QUALIFIED, size_ml="550", count="24000"),
    "packing cases (no size, no count)": lambda: _packed(QUALIFIED, cases="1000"),
    "low strontium from a warm source": lambda: _packed([result("Sr", "0.30", water_temperature="26")]),
    "high strontium from any source": lambda: _packed([result("锶", "0.45")]),
    "release of an ozone line with every test passed": lambda: _shipped(RELEASABLE),
    "release of a non-ozone line without bromate": lambda: _shipped(MINERAL_MICRO, treatment="filtration, UV"),
    "mineral water made from a mineral source": lambda: _mineral_from("mineral"),
}


@pytest.mark.parametrize("make", list(ALLOWED.values()), ids=list(ALLOWED))
def test_a_hard_rule_lets_a_compliant_event_through(make: Callable[[], Proposal]) -> None:
    assert refusals(make()) == {}


def _monitored(value: str) -> Proposal:
    c = Chain()
    c.step("src", "source_registered", at("2026-01-10"), **SOURCE)
    return c.propose("src", "test", at("2026-04-01"), org_kind="lab", **result("metasilicic acid", value))


WARNED = {  # id: (proposal, rule, what the warning must say)
    "an indicator drifting down": (lambda: _monitored("24.0"), "water.indicator_stability",
                                   "metasilicic acid 24 mg/L is 25.0 % from the 32.0 mg/L registered"),
    "an indicator drifting up": (lambda: _monitored("40"), "water.indicator_stability", "more than ±20 %"),
    "a run lot that is not line-date-time": (
        lambda: Chain().propose("run", "transform", at("2026-03-15"), product="天然矿泉水", lot="RUN7", family="water",
                                quantity="10", unit="LTR", process="bottling",
                                inputs=[{"batch": "src", "event": HASH, "quantity": "10", "unit": "LTR"}],
                                feeds=()), "water.lot_code", "e.g. L2-20260315-0800; got 'RUN7'"),
}


@pytest.mark.parametrize(("make", "rule", "says"), list(WARNED.values()), ids=list(WARNED))
def test_a_soft_rule_warns_and_names_its_source(make: Callable[[], Proposal], rule: str, says: str) -> None:
    found = warnings(make())
    assert rule in found
    assert says in found[rule]


def test_an_indicator_within_20_percent_of_registration_is_quiet() -> None:
    assert warnings(_monitored("26.0")) == {}


ON = date(2026, 3, 18)
JUDGED = {  # id: (test data, category argument, verdict, message part or None)
    "bromate under the limit": (result("bromate", "0.005", "drinking_water"), None, "pass",
                                "GB 19298-2014: bromate 0.005 mg/L ≤ 0.01 mg/L"),
    "bromate equal to the limit": (result("bromate", "0.01", "drinking_water"), None, "pass", "≤ 0.01 mg/L"),
    "bromate over the limit": (result("bromate", "0.011", "drinking_water"), None, "fail",
                               "GB 19298-2014: bromate 0.011 mg/L > 0.01 mg/L"),
    "selenium in µg/L under the mineral limit": (result("Se", "40", unit="µg/L"), None, "pass",
                                                 "GB 8537-2018: selenium 0.04 mg/L < 0.05 mg/L"),
    "selenium at the mineral limit": (result("Se", "0.05"), None, "fail", "selenium 0.05 mg/L ≥ 0.05 mg/L"),
    "coliforms not detected with LOD 1": (result("coliforms", None, unit="CFU/250mL", lod="1"), None, "pass",
                                          "not detected (LOD 1 CFU/250mL) meets not detected"),
    "coliforms not detected with LOD 10": (result("coliforms", None, unit="CFU/250mL", lod="10"), None, "fail",
                                           "cannot show not detected"),
    "coliforms counted": (result("coliforms", "3", unit="CFU/250mL"), None, "fail", "detected; must not be"),
    "cyanide only limited in distilled water": (result("cyanide", "0.01", "distilled_water"), None, "pass",
                                                "≤ 0.05 mg/L"),
    "lithium meeting its indicator": (result("Li", "0.25"), None, "pass", "≥ 0.20 mg/L (qualifying indicator)"),
    "zinc below its indicator is information": (result("zinc", "0.1"), None, "info", "not a qualifying indicator"),
    "the category argument wins over data": (result("bromate", "0.02", "x"), "drinking_water", "fail", "GB 19298"),
    "no category and limits in several": (result("bromate", "0.002", "x"), None, "info", "set data.category"),
    "an analyte with no limit": (result("calcium", "20"), None, "info", None),
    "a unit that cannot be compared": (result("bromate", "0.002", unit="mg/kg"), None, "info", "cannot be compared"),
}


@pytest.mark.parametrize(("data", "category", "verdict", "says"), list(JUDGED.values()), ids=list(JUDGED))
def test_judge_test_computes_the_verdict_from_the_thresholds(data: Mapping[str, Any], category: str | None,
                                                             verdict: str, says: str | None) -> None:
    got, message = judge_test(data, ON, category)
    assert got == verdict
    if says is None:
        assert message is None
    else:
        assert message is not None and says in message


def test_gb_19298_limits_start_on_2015_05_24() -> None:
    assert judge_test(result("bromate", "0.5", "drinking_water"), date(2015, 5, 23)) == ("info", None)


def test_every_threshold_names_an_edition_and_a_status() -> None:
    for row in water.THRESHOLDS:
        assert row.status in ("confirmed", "unverified")
        assert row.rule_id.startswith("water.") and row.standard
        assert row.comparator in ("<=", "<", ">=", "range", "not_detected")


def test_the_family_exposes_its_contract() -> None:
    family = rules_for("water")
    assert family.name == "water"
    assert {t.name: (t.family, t.genesis) for t in family.event_types} == {"source_registered": ("water", True)}
    assert len({r.id for r in (*family.hard_rules, *family.soft_rules)}) == len(family.hard_rules) + len(
        family.soft_rules)


BAD_KDES = {  # id: (change to a valid source_registered data, field the error must name)
    "an unknown source kind": ({"kind": "lake"}, "data.kind"),
    "no permit": ({"permit_no": None}, "data.permit_no"),
    "no source id": ({"source_id": ""}, "data.source_id"),
    "a latitude off the globe": ({"latitude": "95"}, "data.latitude"),
    "a longitude as a word": ({"longitude": "east"}, "data.longitude"),
    "a 5-digit county": ({"county": "51192"}, "data.county"),
    "a registered indicator as a number": ({"indicators": {"lithium": 2}}, "data.indicators.lithium"),
    "indicators as a list": ({"indicators": ["lithium"]}, "data.indicators"),
    "no quantity (the permitted volume)": ({"quantity": None}, "data.quantity"),
    "a source of another family": ({"family": "tea"}, "data.family"),
}


@pytest.mark.parametrize(("change", "field"), list(BAD_KDES.values()), ids=list(BAD_KDES))
def test_a_bad_kde_is_refused_naming_its_field(change: dict[str, Any], field: str) -> None:
    data = {k: v for k, v in {**SOURCE, **change}.items() if v is not None}
    with pytest.raises(InvalidEventError) as refused:
        EVENT_TYPES["source_registered"].validate(data)
    assert refused.value.field == field


def test_a_source_registration_starts_a_batch_through_the_envelope() -> None:
    body = {"v": 1, "type": "source_registered", "batch": "src-1", "org": "org-1", "key": "0" * 16,
            "at": "2026-01-10T09:00:00+08:00", "id": "00000000-0000-4000-8000-000000000001", "data": SOURCE}
    assert EventBody.from_obj(body).type == "source_registered"


# ---- declarations: KDEs people read ---------------------------------------------------------------

CJK = re.compile(r"[\u4e00-\u9fff]")
UNIT_CODES = ("CEL", "LTR", "KGM", "MLT", "mg/L", "µg/L", "mL")


@pytest.mark.parametrize("decl", water.DECLARATIONS, ids=[d.type for d in water.DECLARATIONS])
def test_each_declarations_example_is_a_valid_event(decl: Declaration) -> None:
    assert decl.family == water.FAMILY and decl.example is not None
    EVENT_TYPES[decl.type].validate(decl.example)


@pytest.mark.parametrize("decl", water.DECLARATIONS, ids=[d.type for d in water.DECLARATIONS])
def test_each_example_reads_in_chinese_with_labels_and_unit_names(decl: Declaration) -> None:
    assert decl.example is not None
    shown = describe(decl.type, decl.example, "zh_CN", family=water.FAMILY)
    assert {s.name for s in shown} == set(decl.example) - {"unit"}  # the unit is shown with its quantity
    for s in shown:
        assert CJK.search(s.label) and s.label != "其他记录", s
        assert not any(code in s.value for code in UNIT_CODES), s
    words = {s.name: s.value for s in shown}
    assert (words["kind"], words["county"], words["quantity"]) == ("天然矿泉水", "南江县", "50000000 升")


SHARED_KDES = {  # shared step: data fields the water rules read on it
    "transform": {"line", "treatment", "category"},
    "packed": {"size_ml", "count", "cap_lot", "claims", "cases", "category", "product"},
    "test": {"water_temperature", "category"},
    "ship": {"category", "product"},
    "sell": {"category", "product"},
}


@pytest.mark.parametrize(("step", "names"), list(SHARED_KDES.items()), ids=list(SHARED_KDES))
def test_the_fields_the_rules_read_on_shared_steps_are_declared(step: str, names: set[str]) -> None:
    assert names <= {k.name for k in kdes_of(step, water.FAMILY)}


def _every_kde() -> list[Kde]:
    kdes = [k for d in water.DECLARATIONS for k in d.kdes]
    kdes += [k for step in SHARED_KDES for k in kdes_of(step, water.FAMILY)]
    return kdes + [item for k in kdes for item in k.items]


def test_every_kde_has_a_chinese_and_an_english_label() -> None:
    for kde in _every_kde():
        assert CJK.search(kde.zh) and kde.en.strip(), kde.name


def test_every_choice_has_a_chinese_and_an_english_name() -> None:
    for kde in _every_kde():
        for value, (zh, en) in kde.choices.items():
            assert CJK.search(zh) and en.strip(), (kde.name, value)


def test_a_packed_record_shows_bottles_and_claims_in_words() -> None:
    data = {"size_ml": "550", "count": "24000", "cap_lot": "CAP-0311", "claims": ["天然矿泉水"],
            "category": "mineral_water"}
    zh = {s.name: s.value for s in describe("packed", data, "zh_CN", family=water.FAMILY)}
    en = {s.name: s.value for s in describe("packed", data, "en", family=water.FAMILY)}
    assert (zh["size_ml"], zh["count"], zh["category"]) == ("550 毫升", "24000 瓶", "饮用天然矿泉水")
    assert (en["size_ml"], en["count"], en["claims"]) == ("550 mL", "24000 bottles", "natural mineral water")


# ---- rule messages in both languages --------------------------------------------------------------

def _refused(make: Callable[[], Proposal], rule: str) -> str:
    return refusals(make())[rule]


def _warned(make: Callable[[], Proposal], rule: str) -> str:
    return warnings(make())[rule]


def _judged(data: Mapping[str, Any], category: str | None = None) -> str:
    message = judge_test(data, ON, category)[1]
    assert message is not None
    return message


SAID = {  # id: (message, its English exactly as before, what its Chinese must say)
    "hard: a mineral source without its survey": (
        lambda: _refused(_unsurveyed, "water.source_survey"),
        "GB 8537-2018: a mineral-water source is registered with its GB/T 13727 survey report (data.survey_ref)",
        ("GB 8537-2018", "GB/T 13727", "勘查报告")),
    "hard: mineral water from a groundwater source": (
        lambda: _refused(lambda: _mineral_from("groundwater"), "water.mineral_source"),
        ("GB 8537-2018: 饮用天然矿泉水 is filled from a registered mineral-water source; input src is a groundwater "
         "source"), ("GB 8537-2018", "其他地下水", "src")),
    "hard: overfilling a run": (
        lambda: _refused(lambda: _packed(QUALIFIED, size_ml="550", count="24001"), "water.fill_volume"),
        "farmtrace rule (domain.md §5.1): 13200.55 L filled (count × size) > run volume 13200 L",
        ("domain.md §5.1", "13200.55 升", "13200 升")),
    "hard: a 矿泉水 label from a cold low-strontium source": (
        lambda: _refused(lambda: _packed([result("Sr", "0.30", water_temperature="14.5")], claims=["矿泉水"]),
                         "water.mineral_claim"),
        ("GB 8537-2018: a 矿泉水 label needs a test meeting at least one qualifying indicator (Li, Sr, Zn, H₂SiO₃, "
         "Se, free CO₂, TDS); GB 8537-2018: strontium below 0.40 mg/L qualifies only from a source ≥ 25 °C; "
         "data.water_temperature is 14.5"), ("GB 8537-2018", "界限指标", "锶", "14.5 °C")),
    "hard: release after a bromate failure": (
        lambda: _refused(lambda: _shipped([*MINERAL_MICRO, result("bromate", "12", unit="µg/L")]),
                         "water.safety_fail"),
        "GB 8537-2018: bromate 0.012 mg/L ≥ 0.01 mg/L; this batch failed its test and cannot be released",
        ("GB 8537-2018", "溴酸盐 0.012 毫克/升 ≥ 0.01 毫克/升", "不得放行")),
    "hard: release of an ozone line without bromate": (
        lambda: _refused(lambda: _shipped(MINERAL_MICRO), "water.release"),
        "GB 8537-2018: release needs a passing bromate test (ozone line); none is recorded",
        ("GB 8537-2018", "溴酸盐", "臭氧")),
    "soft: an indicator drifting from registration": (
        lambda: _warned(lambda: _monitored("24.0"), "water.indicator_stability"),
        ("farmtrace rule (domain.md §5.1): metasilicic acid 24 mg/L is 25.0 % from the 32.0 mg/L registered "
         "(more than ±20 %)"), ("domain.md §5.1", "偏硅酸 24 毫克/升", "25.0%")),
    "soft: a run lot that is not line-date-time": (
        lambda: _warned(lambda: Chain().propose("run", "transform", at("2026-03-15"), product="天然矿泉水", lot="RUN7",
                                                family="water", quantity="10", unit="LTR", process="bottling",
                                                inputs=[]), "water.lot_code"),
        "farmtrace rule (domain.md §5.1): a run lot is line-date-time, e.g. L2-20260315-0800; got 'RUN7'",
        ("domain.md §5.1", "L2-20260315-0800", "RUN7")),
    "judge_test: bromate over the GB 19298 limit": (
        lambda: _judged(result("bromate", "0.011", "drinking_water")),
        "GB 19298-2014: bromate 0.011 mg/L > 0.01 mg/L", ("GB 19298-2014：溴酸盐 0.011 毫克/升 > 0.01 毫克/升",)),
    "judge_test: free chlorine, a name the shared table lacks": (
        lambda: _judged(result("free chlorine", "0.01", "drinking_water")),
        "GB 19298-2014: free chlorine 0.01 mg/L ≤ 0.05 mg/L", ("GB 19298-2014", "游离氯")),
    "judge_test: lithium meeting its indicator": (
        lambda: _judged(result("Li", "0.25")),
        "GB 8537-2018: lithium 0.25 mg/L ≥ 0.20 mg/L (qualifying indicator)", ("GB 8537-2018", "锂", "达到界限指标")),
    "judge_test: zinc below its indicator": (
        lambda: _judged(result("zinc", "0.1")),
        "GB 8537-2018: zinc 0.1 mg/L < 0.20 mg/L: not a qualifying indicator", ("GB 8537-2018", "未达到界限指标")),
    "judge_test: no category and limits in several": (
        lambda: _judged(result("bromate", "0.002", "x")),
        "bromate: set data.category (distilled_water, drinking_water, mineral_water) to judge it against its limit",
        ("溴酸盐", "蒸馏水", "饮用天然矿泉水")),
}
ASCII_WORD = re.compile(r"[A-Za-z]{3,}")
ALLOWED_IN_CHINESE = {"farmtrace", "domain", "CFU", "RUN", "src"}  # our rule's name, spec units, identifiers


@pytest.mark.parametrize(("make", "english", "says"), list(SAID.values()), ids=list(SAID))
def test_a_rule_message_keeps_its_english_and_says_it_in_chinese(make: Callable[[], str], english: str,
                                                                 says: tuple[str, ...]) -> None:
    message = make()
    assert isinstance(message, Said)
    assert str.__str__(message) == english
    assert CJK.search(message.zh)
    assert all(part in message.zh for part in says), message.zh
    assert set(ASCII_WORD.findall(message.zh)) <= ALLOWED_IN_CHINESE, message.zh
    assert not any(code in message.zh for code in UNIT_CODES) and "data." not in message.zh, message.zh


@pytest.mark.parametrize(("make", "rule", "says"), [*REFUSED.values(), *WARNED.values()],
                         ids=[*REFUSED, *WARNED])
def test_every_refusal_and_warning_cites_the_same_standard_in_chinese(make: Callable[[], Proposal], rule: str,
                                                                     says: str) -> None:
    message = {**refusals(p := make()), **warnings(p)}[rule]
    assert isinstance(message, Said) and CJK.search(message.zh)
    standard = str.__str__(message).split(":")[0].replace("farmtrace rule (", "").rstrip(")")
    assert standard in message.zh

"""Selenium-rich produce rules (domain.md §2, §1.4), judged on Proposals built by hand: no database."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from farmtrace.ledger.errors import InvalidEventError
from farmtrace.ledger.events import EVENT_TYPES, EventBody
from farmtrace.rules.declare import EXTRA_KDES, Declaration, Kde, Said, describe, kdes_of, unit_name
from farmtrace.rules.families import BatchState, Proposal, rules_for, threshold_for
from farmtrace.rules.families import produce
from farmtrace.rules.families.produce import judge_test
from farmtrace.rules.steps import NEW_BATCH

CHINA = timezone(timedelta(hours=8))
HASH = "a" * 64


def at(day: str, hour: int = 9) -> datetime:
    return datetime.fromisoformat(f"{day}T{hour:02d}:00:00+08:00")


class Chain:
    """Bodies per batch, as the ledger would hand them to the rules."""

    def __init__(self) -> None:
        self.bodies: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.state: dict[str, tuple[str, str, str]] = {}

    def propose(self, batch: str, type: str, when: datetime, *, org_kind: str = "producer",
                feeds: Iterable[str] = (), **data: Any) -> Proposal:
        genesis = EVENT_TYPES[type].genesis
        product, quantity, unit = self.state.get(batch, ("", "0", "KGM"))
        state = None if genesis else BatchState(batch, "produce", product, "L1", "org-1", Decimal(quantity), unit,
                                                "held")
        return Proposal(type=type, data=data, at=when, org="org-1", org_kind=org_kind, batch=state,
                        history=tuple(self.bodies[batch]), inputs={b: tuple(self.bodies[b]) for b in feeds})

    def record(self, batch: str, p: Proposal) -> Proposal:
        self.bodies[batch].append({"type": p.type, "at": p.at.isoformat(), "data": dict(p.data)})
        if EVENT_TYPES[p.type].genesis:
            self.state[batch] = (p.data["product"], p.data["quantity"], p.data["unit"])
        return p

    def step(self, batch: str, type: str, when: datetime, **kw: Any) -> Proposal:
        return self.record(batch, self.propose(batch, type, when, **kw))


def refusals(p: Proposal) -> dict[str, str]:
    return {r.id: m for r in produce.HARD_RULES if p.type in r.applies_to and (m := r.check(p))}


def warnings(p: Proposal) -> dict[str, str]:
    return {r.id: m for r in produce.SOFT_RULES if p.type in r.applies_to and (m := r.check(p))}


def result(analyte: str, value: str | None, category: str, unit: str = "mg/kg", **extra: str) -> dict[str, Any]:
    data: dict[str, Any] = {"sample": HASH, "analyte": analyte, "method": "GB 5009.93", "value": value, "unit": unit,
                            "report_no": "R-1", "category": category, **extra}
    return data


def rice_chain() -> tuple[Chain, list[Proposal]]:
    """Plot -> inputs -> harvest -> tests -> storage -> milling -> tests -> 富硒 pack -> ship -> sell."""
    c = Chain()
    steps = [
        c.step("plot-cc03", "create", at("2026-03-01"), product="稻田 CC-03", lot="CC-03", family="produce",
               quantity="48", unit="mu"),
        c.step("plot-cc03", "plot_registered", at("2026-03-01"), plot_id="CC-03", county="511922", area="48",
               area_unit="mu", soil_se="0.45", land_use="paddy"),
        c.step("plot-cc03", "input_applied", at("2026-07-02"), product_name="吡虫啉 10% WP", registration_no="PD20060010",
               active_ingredient="imidacloprid", dose="20", dose_unit="g/mu", date="2026-07-02", phi_days="21"),
        c.step("plot-cc03", "input_applied", at("2026-08-20"), product_name="有机肥", active_ingredient="organic matter",
               dose="200", dose_unit="KGM", date="2026-08-20", phi_days="0"),
        c.step("paddy-1", "harvested", at("2026-09-25"), feeds=["plot-cc03"], product="南江富硒稻谷", lot="NJ-P-01",
               family="produce", quantity="1000", unit="KGM", plot="CC-03", crop="水稻", variety="宜香优2115",
               moisture="18.5"),
        c.step("paddy-1", "sample", at("2026-09-26"), lab="lab-1", sample_id="S-1"),
        c.step("paddy-1", "test", at("2026-10-08"), **result("Se", "0.12", "paddy")),
        c.step("paddy-1", "test", at("2026-10-08"), **result("Cd", "0.05", "paddy", method="GB 5009.15")),
        c.step("paddy-1", "stored", at("2026-10-10"), store="仓 2", moisture="13.8"),
        c.step("paddy-1", "consume", at("2026-10-20"), quantity="1000", unit="KGM", into=["rice-1"]),
        c.step("rice-1", "transform", at("2026-10-20"), feeds=["paddy-1"], product="南江富硒大米", lot="NJ-R-01",
               family="produce", quantity="700", unit="KGM", process="milling",
               inputs=[{"batch": "paddy-1", "event": HASH, "quantity": "1000", "unit": "KGM"}]),
        c.step("rice-1", "sample", at("2026-10-21"), lab="lab-1", sample_id="S-2"),
        c.step("rice-1", "test", at("2026-10-28"), **result("硒", "210", "rice", unit="µg/kg")),
        c.step("rice-1", "test", at("2026-10-28"), **result("Cd", None, "rice", lod="0.01", method="GB 5009.15")),
        c.step("rice-1", "packed", at("2026-11-01"), gtin="06901234567892", units="1400", net_content="500 g",
               claims=["富硒"], sc_licence="SC10151190300015"),
        c.step("rice-1", "ship", at("2026-11-02"), to="shop-1", quantity="700", unit="KGM", doc="DN-1"),
        c.step("rice-1", "sell", at("2026-11-10"), org_kind="retailer", quantity="5", unit="KGM"),
    ]
    return c, steps


def tea_chain() -> list[Proposal]:
    """Fresh leaves shipped with a 合格证 -> tea processing -> tests -> 富硒 pack -> ship."""
    c = Chain()
    return [
        c.step("leaf-1", "harvested", at("2026-04-02", 6), product="云顶茶鲜叶", lot="YD-L-03", family="produce",
               quantity="850", unit="KGM", plot="YD-07", crop="茶", variety="南江大叶茶"),
        c.step("leaf-1", "ship", at("2026-04-02", 11), to="tea-factory", quantity="850", unit="KGM",
               certificate_no="HGZ-511922-2026-0402-01"),
        c.step("leaf-1", "consume", at("2026-04-03"), org_kind="processor", quantity="850", unit="KGM", into=["tea-1"]),
        c.step("tea-1", "transform", at("2026-04-03"), org_kind="processor", feeds=["leaf-1"], product="巴中云顶富硒绿茶",
               lot="YD-2026-03", family="produce", quantity="190", unit="KGM", process="withering, fixing, rolling, drying",
               inputs=[{"batch": "leaf-1", "event": HASH, "quantity": "850", "unit": "KGM"}]),
        c.step("tea-1", "stored", at("2026-04-05"), org_kind="processor", moisture="6.2"),
        c.step("tea-1", "test", at("2026-04-20"), **result("Se", "0.68", "tea")),
        c.step("tea-1", "test", at("2026-04-20"), **result("Pb", "1.2", "tea", method="GB 5009.12")),
        c.step("tea-1", "packed", at("2026-04-22"), org_kind="processor", claims=["富硒"], units="760",
               net_content="250 g", sc_licence="SC11451192200023"),
        c.step("tea-1", "ship", at("2026-04-23"), org_kind="processor", to="shop-1", quantity="190", unit="KGM"),
    ]


@pytest.mark.parametrize("chain", ["rice", "tea"])
def test_the_happy_path_from_plot_to_retail_passes_every_rule(chain: str) -> None:
    steps = rice_chain()[1] if chain == "rice" else tea_chain()
    for p in steps:
        assert (p.type, refusals(p), warnings(p)) == (p.type, {}, {})
        if p.type == "test":
            assert judge_test(p.data, p.at.date())[0] == "pass"


def _phi_too_short() -> Proposal:
    c = Chain()
    c.step("plot", "input_applied", at("2026-09-18"), product_name="吡虫啉 10% WP", active_ingredient="imidacloprid",
           dose="20", dose_unit="g/mu", date="2026-09-18", phi_days="14")
    return c.propose("paddy", "harvested", at("2026-09-25"), feeds=["plot"], product="稻谷", lot="P", family="produce",
                     quantity="1", unit="KGM", plot="CC-03", crop="水稻")


def _packed(category: str, tests: list[dict[str, Any]], claims: list[str], day: str = "2026-06-01") -> Proposal:
    c = Chain()
    product = {"rice": "富硒大米", "tea": "富硒绿茶"}[category]
    c.step("b", "create", at("2026-05-01"), product=product, lot="L", family="produce", quantity="10", unit="KGM")
    for data in tests:
        c.step("b", "test", at("2026-05-20"), **data)
    return c.propose("b", "packed", at(day), claims=claims)


def _shipped_after(data: dict[str, Any], product: str = "大米") -> Proposal:
    c = Chain()
    c.step("b", "create", at("2026-10-01"), product=product, lot="L", family="produce", quantity="10", unit="KGM")
    c.step("b", "test", at("2026-10-08"), **data)
    return c.propose("b", "ship", at("2026-10-09"), to="shop-1", quantity="10", unit="KGM")


def _transform_of_failed_input() -> Proposal:
    c = Chain()
    c.step("leaf", "create", at("2026-04-01"), product="绿茶毛茶", lot="L", family="produce", quantity="10",
           unit="KGM")
    c.step("leaf", "test", at("2026-04-08"), **result("Pb", "5.6", "tea"))
    return c.propose("tea", "transform", at("2026-04-09"), feeds=["leaf"], product="绿茶", lot="T", family="produce",
                     quantity="9", unit="KGM", process="refining")


def _fresh_leaves_shipped(org_kind: str = "producer", day: str = "2026-04-02", **data: str) -> Proposal:
    c = Chain()
    c.step("leaf", "harvested", at("2026-03-30"), product="茶鲜叶", lot="L", family="produce", quantity="10",
           unit="KGM", plot="YD-07", crop="茶")
    return c.propose("leaf", "ship", at(day), org_kind=org_kind, to="tea-factory", quantity="10", unit="KGM", **data)


def _mixed_leaves(**data: str) -> Proposal:
    c = Chain()
    for lot in ("a", "b"):
        c.step(lot, "harvested", at("2026-04-01"), product="茶鲜叶", lot=lot, family="produce", quantity="10",
               unit="KGM", plot=f"P-{lot}", crop="茶")
    return c.propose("mix", "transform", at("2026-04-02"), org_kind="processor", feeds=["a", "b"], product="茶鲜叶",
                     lot="M", family="produce", quantity="20", unit="KGM", process="mixing", **data)


REFUSED = {  # id: (proposal, rule, what the message must say)
    "harvest inside the pre-harvest interval": (_phi_too_short, "produce.phi", "pre-harvest interval is 14 days"),
    "a 富硒 pack with no selenium test": (lambda: _packed("rice", [], ["富硒"]), "produce.se_claim",
                                          "GB/T 22499-2008: a 富硒 claim needs a selenium test"),
    "a 富硒 rice pack above the range": (lambda: _packed("rice", [result("Se", "0.35", "rice")], ["富硒"]),
                                        "produce.se_claim", "GB/T 22499-2008: selenium 0.35 mg/kg outside 0.04–0.30"),
    "a 富硒 rice pack after 2026-07-01 judged by the 2025 edition": (
        lambda: _packed("rice", [result("Se", "0.02", "rice")], ["se_rich"], day="2026-07-01"), "produce.se_claim",
        "GB/T 22499-2025"),
    "a 富硒 tea pack below the range": (lambda: _packed("tea", [result("Se", "0.20", "tea")], ["富硒"]),
                                       "produce.se_claim", "NY/T 600-2002: selenium 0.2 mg/kg outside 0.25–4.00"),
    "a 富硒 pack whose latest test is out of range": (
        lambda: _packed("rice", [result("Se", "0.12", "rice"), result("Se", "0.03", "rice")], ["富硒"]),
        "produce.se_claim", "the 富硒 claim is not supported"),
    "a 富含硒 pack below 30 % NRV": (lambda: _packed("rice", [result("Se", "0.12", "rice")], ["富含硒"]),
                                    "produce.se_nutrition_claim", "GB 28050-2011: selenium 0.12 mg/kg < 0.18 mg/kg"),
    "shipping rice over the cadmium limit": (lambda: _shipped_after(result("Cd", "0.31", "rice")), "produce.safety_fail",
                                             "GB 2762-2022: cadmium 0.31 mg/kg > 0.2 mg/kg"),
    "shipping rice whose category comes from its product name": (
        lambda: _shipped_after({**result("Hg", "0.03", "rice"), "category": "unknown"}), "produce.safety_fail",
        "GB 2762-2022: mercury 0.03 mg/kg > 0.02 mg/kg"),
    "shipping after a not-detected result with too high a LOD": (
        lambda: _shipped_after(result("iAs", None, "rice", lod="0.3")), "produce.safety_fail",
        "GB 2762-2022: inorganic arsenic not detected (LOD 0.3 mg/kg) cannot show ≤ 0.2 mg/kg"),
    "transforming an input that failed its lead test": (_transform_of_failed_input, "produce.safety_fail",
                                                        "GB 2762-2022: lead 5.6 mg/kg > 5.0 mg/kg"),
    "a producer shipping fresh tea leaves without a 合格证": (_fresh_leaves_shipped, "produce.certificate",
                                                          "承诺达标合格证管理办法 (农业农村部令 2025 年第 4 号)"),
    "mixing two lots of fresh leaves without a new 合格证": (_mixed_leaves, "produce.mix_certificate",
                                                        "issues a new 承诺达标合格证"),
}


@pytest.mark.parametrize(("make", "rule", "says"), list(REFUSED.values()), ids=list(REFUSED))
def test_a_hard_rule_refuses_and_names_its_standard(make: Any, rule: str, says: str) -> None:
    found = refusals(make())
    assert rule in found
    assert says in found[rule]


ALLOWED = {  # id: proposal that a hard rule must let through
    "a harvest on the last day of the interval": lambda: _phi_with_days("11"),
    "fresh leaves shipped before the 合格证 rules start": lambda: _fresh_leaves_shipped(day="2026-01-31"),
    "fresh leaves shipped by a processor": lambda: _fresh_leaves_shipped(org_kind="processor"),
    "fresh leaves shipped with a 合格证": lambda: _fresh_leaves_shipped(certificate_no="HGZ-1"),
    "rice shipped by a producer without a 合格证 (not mandatory)": lambda: _shipped_after(result("Cd", "0.2", "rice")),
    "a pack with no claim and no test": lambda: _packed("rice", [], []),
    "mixing two lots with a new 合格证": lambda: _mixed_leaves(certificate_no="HGZ-2"),
}


def _phi_with_days(phi: str) -> Proposal:
    c = Chain()
    c.step("plot", "input_applied", at("2026-09-14"), product_name="x", active_ingredient="y", dose="1",
           dose_unit="g/mu", date="2026-09-14", phi_days=phi)
    return c.propose("paddy", "harvested", at("2026-09-25"), feeds=["plot"], product="稻谷", lot="P", family="produce",
                     quantity="1", unit="KGM", plot="CC-03", crop="水稻")


@pytest.mark.parametrize("make", list(ALLOWED.values()), ids=list(ALLOWED))
def test_a_hard_rule_lets_a_compliant_event_through(make: Any) -> None:
    assert refusals(make()) == {}


def _test_on(product: str, data: dict[str, Any]) -> Proposal:
    c = Chain()
    c.step("b", "create", at("2026-06-01"), product=product, lot="L", family="produce", quantity="10", unit="KGM")
    return c.propose("b", "test", at("2026-06-08"), org_kind="lab", **data)


def _milling(out: str) -> Proposal:
    c = Chain()
    c.step("paddy", "create", at("2026-10-01"), product="稻谷", lot="P", family="produce", quantity="1", unit="TNE")
    return c.propose("rice", "transform", at("2026-10-20"), feeds=["paddy"], product="大米", lot="R", family="produce",
                     quantity=out, unit="KGM", process="milling",
                     inputs=[{"batch": "paddy", "event": HASH, "quantity": "1", "unit": "TNE"}])


def _stored(moisture: str, product: str = "稻谷") -> Proposal:
    c = Chain()
    c.step("b", "create", at("2026-10-01"), product=product, lot="L", family="produce", quantity="10", unit="KGM")
    return c.propose("b", "stored", at("2026-10-02"), moisture=moisture)


def _plot(soil_se: str, land_use: str) -> Proposal:
    c = Chain()
    c.step("plot", "create", at("2026-03-01"), product="稻田", lot="CC", family="produce", quantity="1", unit="mu")
    return c.propose("plot", "plot_registered", at("2026-03-01"), plot_id="CC", county="511921", area="1",
                     area_unit="mu", soil_se=soil_se, land_use=land_use)


WARNED = {  # id: (proposal, rule, what the warning must say)
    "selenium below the 富硒稻谷 range": (lambda: _test_on("大米", result("Se", "0.03", "rice")), "produce.se_range",
                                       "GB/T 22499-2008: selenium 0.03 mg/kg outside 0.04–0.30 mg/kg"),
    "selenium above the 富硒茶 range (category from the product)": (
        lambda: _test_on("绿茶", {**result("Se", "4.5", "tea"), "category": "x"}), "produce.se_range",
        "NY/T 600-2002: selenium 4.5 mg/kg outside 0.25–4.00 mg/kg: a 富硒 claim on this batch is at risk"),
    "tremella selenium below GH/T 1135": (lambda: _test_on("通江银耳", result("Se", "0.05", "fungi")), "produce.se_range",
                                          "GH/T 1135-2017: selenium 0.05 mg/kg outside 0.10–5.00"),
    "milled-rice yield too low": (lambda: _milling("500"), "produce.milling_yield",
                                  "milled-rice yield 0.500 (500 of 1000 kg) outside 0.55–0.75"),
    "milled-rice yield too high": (lambda: _milling("800"), "produce.milling_yield", "0.800"),
    "paddy stored too wet": (lambda: _stored("16.0"), "produce.storage_moisture",
                             "GB 1350-2009: moisture 16.0% > 14.5%"),
    "tea stored too wet": (lambda: _stored("8.5", "绿茶"), "produce.storage_moisture", "GB/T 14456.1-2017"),
    "a plot below the selenium-rich soil level": (lambda: _plot("0.30", "paddy"), "produce.soil_se",
                                                  "soil selenium 0.30 mg/kg < 0.40 mg/kg for paddy land"),
}


@pytest.mark.parametrize(("make", "rule", "says"), list(WARNED.values()), ids=list(WARNED))
def test_a_soft_rule_warns_and_names_its_source(make: Any, rule: str, says: str) -> None:
    p = make()
    found = warnings(p)
    assert rule in found
    assert says in found[rule]
    assert refusals(p) == {}


ON = date(2026, 10, 8)
JUDGED = {  # id: (test data, category argument, verdict, message part or None)
    "cadmium under the limit": (result("Cd", "0.12", "rice"), None, "pass", "GB 2762-2022: cadmium 0.12 mg/kg ≤ 0.2"),
    "cadmium equal to the limit": (result("Cd", "0.2", "rice"), None, "pass", "≤ 0.2 mg/kg"),
    "cadmium over the limit": (result("Cd", "0.31", "rice"), None, "fail", "GB 2762-2022: cadmium 0.31 mg/kg > 0.2 mg/kg"),
    "brown-rice arsenic under its own limit": (result("iAs", "0.3", "brown_rice"), None, "pass", "≤ 0.35"),
    "a µg/kg result converted": (result("Pb", "250", "rice", unit="µg/kg"), None, "fail", "lead 0.25 mg/kg > 0.2"),
    "not detected with a fine LOD": (result("Hg", None, "rice", lod="0.005"), None, "pass",
                                     "mercury not detected (LOD 0.005 mg/kg) meets ≤ 0.02 mg/kg"),
    "not detected with a blunt LOD": (result("Hg", None, "rice", lod="0.05"), None, "fail", "cannot show ≤ 0.02"),
    "the category argument wins over data": (result("Pb", "1.0", "rice"), "tea", "pass", "≤ 5.0 mg/kg"),
    "selenium inside the 富硒茶 range": (result("Se", "0.68", "tea"), None, "pass", "NY/T 600-2002"),
    "selenium outside the range is information, not failure": (result("Se", "0.02", "rice"), None, "info",
                                                               "not 富硒稻谷"),
    "no category and limits in several": ({**result("Cd", "0.1", "rice"), "category": None}, None, "info",
                                          "set data.category"),
    "an analyte with no limit": (result("chlorpyrifos", "0.01", "rice"), None, "info", None),
    "a category with no limit": (result("Cd", "0.01", "tea_leaves"), None, "info", None),
    "a unit that cannot be compared": (result("Cd", "0.01", "rice", unit="mg/L"), None, "info", "cannot be compared"),
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


def test_the_selenium_range_switches_edition_on_2026_07_01() -> None:
    before = threshold_for(produce.THRESHOLDS, "produce.se_rich", date(2026, 6, 30), category="rice")
    after = threshold_for(produce.THRESHOLDS, "produce.se_rich", date(2026, 7, 1), category="rice")
    assert before is not None and (before.standard, before.status) == ("GB/T 22499-2008", "confirmed")
    assert after is not None and (after.standard, after.status) == ("GB/T 22499-2025", "unverified")


def test_every_threshold_names_an_edition_and_a_status() -> None:
    for row in produce.THRESHOLDS:
        assert row.status in ("confirmed", "unverified")
        assert row.rule_id.startswith("produce.") and row.standard
        assert row.comparator in ("<=", "<", ">=", ">", "range", "not_detected")


def test_the_family_exposes_its_contract() -> None:
    family = rules_for("produce")
    assert family.name == "produce"
    assert {t.name: (t.family, t.genesis) for t in family.event_types} == {
        "plot_registered": ("produce", False), "input_applied": ("produce", False), "harvested": ("produce", True)}
    assert len({r.id for r in (*family.hard_rules, *family.soft_rules)}) == len(family.hard_rules) + len(
        family.soft_rules)


GOOD = {
    "plot_registered": {"plot_id": "CC-03", "county": "511922", "area": "48", "area_unit": "mu", "soil_se": "0.45"},
    "input_applied": {"product_name": "吡虫啉", "active_ingredient": "imidacloprid", "dose": "20", "dose_unit": "g/mu",
                      "date": "2026-07-02", "phi_days": "21"},
    "harvested": {"product": "稻谷", "lot": "NJ-P-01", "family": "produce", "quantity": "1000", "unit": "KGM",
                  "plot": "CC-03", "crop": "水稻", "moisture": "18.5"},
}
BAD_KDES = {  # id: (event type, change to a valid data, field the error must name)
    "a plot with a 4-digit county": ("plot_registered", {"county": "5119"}, "data.county"),
    "a plot with a county as a number": ("plot_registered", {"county": 511922}, "data.county"),
    "a plot measured in acres": ("plot_registered", {"area_unit": "acre"}, "data.area_unit"),
    "a plot with no area": ("plot_registered", {"area": "0"}, "data.area"),
    "a plot with no id": ("plot_registered", {"plot_id": ""}, "data.plot_id"),
    "a plot with soil Se as a word": ("plot_registered", {"soil_se": "high"}, "data.soil_se"),
    "a plot with an unknown land use": ("plot_registered", {"land_use": "orchard"}, "data.land_use"),
    "an input with a fractional PHI": ("input_applied", {"phi_days": "14.5"}, "data.phi_days"),
    "an input with a PHI as a number": ("input_applied", {"phi_days": 14}, "data.phi_days"),
    "an input on an impossible date": ("input_applied", {"date": "2026-13-01"}, "data.date"),
    "an input with a zero dose": ("input_applied", {"dose": "0"}, "data.dose"),
    "an input with no active ingredient": ("input_applied", {"active_ingredient": None}, "data.active_ingredient"),
    "a harvest with no plot": ("harvested", {"plot": None}, "data.plot"),
    "a harvest with no crop": ("harvested", {"crop": " "}, "data.crop"),
    "a harvest with a lot too long for AI 10": ("harvested", {"lot": "X" * 21}, "data.lot"),
    "a harvest with 120 % moisture": ("harvested", {"moisture": "120"}, "data.moisture"),
    "a harvest of another family": ("harvested", {"family": "pork-ish"}, "data.family"),
}


@pytest.mark.parametrize(("kind", "change", "field"), list(BAD_KDES.values()), ids=list(BAD_KDES))
def test_a_bad_kde_is_refused_naming_its_field(kind: str, change: dict[str, Any], field: str) -> None:
    data = {k: v for k, v in {**GOOD[kind], **change}.items() if v is not None}
    with pytest.raises(InvalidEventError) as refused:
        EVENT_TYPES[kind].validate(data)
    assert refused.value.field == field


@pytest.mark.parametrize("kind", list(GOOD))
def test_a_good_kde_set_passes_the_envelope(kind: str) -> None:
    body = {"v": 1, "type": kind, "batch": "b-1", "org": "org-1", "key": "0" * 16, "at": "2026-09-25T08:00:00+08:00",
            "id": "00000000-0000-4000-8000-000000000000", "data": GOOD[kind]}
    if not EVENT_TYPES[kind].genesis:
        body["prev"] = HASH
    assert EventBody.from_obj(body).type == kind


# ---- declarations: KDEs, labels and the words pages show ---------------------------------------

DECLARED = {d.type: d for d in produce.DECLARATIONS}
SHARED_KDES = {  # shared step: the data fields produce's rules (and demo chains) read on it
    "create": {"category"},
    "stored": {"store", "moisture", "temperature", "category"},
    "packed": {"claims", "category"},
    "transform": {"category"},
    "ship": {"category"},
    "sell": {"category"},
    "observe": {"scheme", "certificate_no", "issuer", "valid_from", "valid_until"},
}
CJK = re.compile(r"[\u4e00-\u9fff]")


def _family_kdes() -> list[Kde]:
    own = [k for d in produce.DECLARATIONS for k in d.kdes]
    added = [k for kdes in EXTRA_KDES.values() for k in kdes.get("produce", ())]
    return [*own, *added, *(i for k in [*own, *added] for i in k.items)]


def _codes(decl: Declaration, data: Mapping[str, Any]) -> set[str]:
    """The raw words an example holds that a Chinese page must show by name: keys, units, choices."""
    codes = {k.name for k in decl.kdes}
    for kde in decl.kdes:
        unit = kde.unit if kde.unit else data.get(kde.unit_kde) if kde.unit_kde else None
        if isinstance(unit, str) and unit_name(unit, "zh") != unit:
            codes.add(unit)
        if kde.kind in ("choice", "county") and isinstance(data.get(kde.name), str):
            codes.add(data[kde.name])
    return codes


def test_the_family_declares_each_of_its_event_types_once() -> None:
    assert [d.type for d in produce.DECLARATIONS] == [t.name for t in produce.EVENT_TYPES]
    assert all(d.family == "produce" and d.zh and d.en for d in produce.DECLARATIONS)
    assert rules_for("produce").declarations == produce.DECLARATIONS


@pytest.mark.parametrize("kind", list(DECLARED))
def test_a_declarations_example_passes_its_validator(kind: str) -> None:
    example = DECLARED[kind].example
    assert example is not None
    EVENT_TYPES[kind].validate(example)


@pytest.mark.parametrize("kind", list(DECLARED))
def test_an_example_is_shown_in_chinese_without_keys_or_unit_codes(kind: str) -> None:
    decl = DECLARED[kind]
    assert decl.example is not None
    shown = describe(kind, decl.example, "zh_CN", family="produce")
    units = {k.unit_kde for k in decl.kdes if k.unit_kde}  # shown with the number they measure
    assert {s.name for s in shown} == set(decl.example) - units
    codes = _codes(decl, decl.example)
    for s in shown:
        assert s.label != s.name and s.label != "其他记录" and CJK.search(s.label)
        words = set(re.split(r"[\s，、；]+", s.value))
        assert not words & codes, (s, words & codes)


def test_a_harvest_still_checks_the_new_batch_kdes_first() -> None:
    assert [k.name for k in DECLARED["harvested"].kdes[:len(NEW_BATCH)]] == [k.name for k in NEW_BATCH]
    with pytest.raises(InvalidEventError) as refused:
        EVENT_TYPES["harvested"].validate({"plot": "CC-03", "crop": "水稻"})
    assert refused.value.field == "data.product"


def test_every_kde_has_a_chinese_and_an_english_label() -> None:
    for kde in _family_kdes():
        assert kde.zh.strip() and kde.en.strip() and CJK.search(kde.zh), kde.name


def test_every_choice_has_a_chinese_and_an_english_name() -> None:
    for kde in _family_kdes():
        for value, (zh, en) in kde.choices.items():
            assert zh.strip() and en.strip() and CJK.search(zh), (kde.name, value)


@pytest.mark.parametrize("step", list(SHARED_KDES))
def test_the_fields_the_rules_read_on_a_shared_step_are_declared(step: str) -> None:
    declared = {k.name: k for k in kdes_of(step, "produce")}
    assert SHARED_KDES[step] <= set(declared)
    for name in SHARED_KDES[step]:  # free-form there: the family's rules judge them, the envelope does not
        assert not declared[name].required


def test_stored_moisture_and_a_category_are_shown_by_name() -> None:
    shown = {s.name: s.value for s in describe("stored", {"store": "仓 2", "moisture": "13.8", "category": "paddy"},
                                               "zh_CN", family="produce")}
    assert shown == {"store": "仓 2", "moisture": "13.8%", "category": "稻谷"}


# ---- rule messages in both languages ------------------------------------------------------------

def _verdict(data: dict[str, Any], category: str | None = None) -> str | None:
    message: str | None = judge_test(data, ON, category)[1]
    return message


SAID = {  # id: (message maker, the English exactly as the API has always given it, standard in both)
    "hard: harvest inside the pre-harvest interval": (
        lambda: refusals(_phi_too_short())["produce.phi"],
        "农产品质量安全法 (2022) and the pesticide label: harvest on 2026-09-25 is 7 days after 吡虫啉 10% WP was "
        "applied on 2026-09-18; its pre-harvest interval is 14 days", "农产品质量安全法 (2022)"),
    "hard: shipping rice over the cadmium limit": (
        lambda: refusals(_shipped_after(result("Cd", "0.31", "rice")))["produce.safety_fail"],
        "GB 2762-2022: cadmium 0.31 mg/kg > 0.2 mg/kg; this batch failed its test and cannot be shipped",
        "GB 2762-2022"),
    "hard: a 富硒 tea pack below the range": (
        lambda: refusals(_packed("tea", [result("Se", "0.20", "tea")], ["富硒"]))["produce.se_claim"],
        "NY/T 600-2002: selenium 0.2 mg/kg outside 0.25–4.00 mg/kg: the 富硒 claim is not supported", "NY/T 600-2002"),
    "hard: fresh leaves shipped without a 合格证": (
        lambda: refusals(_fresh_leaves_shipped())["produce.certificate"],
        "承诺达标合格证管理办法 (农业农村部令 2025 年第 4 号): a producer's ship of tea leaves carries a "
        "承诺达标合格证 per lot (data.certificate_no)", "承诺达标合格证管理办法 (农业农村部令 2025 年第 4 号)"),
    "soft: paddy stored too wet": (
        lambda: warnings(_stored("16.0"))["produce.storage_moisture"],
        "GB 1350-2009: moisture 16.0% > 14.5% for safe storage of paddy", "GB 1350-2009"),
    "soft: a plot below the selenium-rich soil level": (
        lambda: warnings(_plot("0.30", "paddy"))["produce.soil_se"],
        "CAGS study 2021 (research, not a standard): soil selenium 0.30 mg/kg < 0.40 mg/kg for paddy land; 富硒 claims "
        "from this plot rest on crop tests alone", "CAGS study 2021"),
    "judge_test: cadmium over the limit": (
        lambda: _verdict(result("Cd", "0.31", "rice")), "GB 2762-2022: cadmium 0.31 mg/kg > 0.2 mg/kg", "GB 2762-2022"),
    "judge_test: selenium outside the 富硒稻谷 range": (
        lambda: _verdict(result("Se", "0.02", "rice")),
        "GB/T 22499-2025: selenium 0.02 mg/kg outside 0.04–0.30 mg/kg: not 富硒稻谷", "GB/T 22499-2025"),
    "judge_test: selenium inside the 富硒茶 range": (
        lambda: _verdict(result("Se", "0.68", "tea")),
        "NY/T 600-2002: selenium 0.68 mg/kg within 0.25–4.00 mg/kg (富硒茶)", "NY/T 600-2002"),
}


@pytest.mark.parametrize(("make", "english", "standard"), list(SAID.values()), ids=list(SAID))
def test_a_rule_message_says_it_in_chinese_and_keeps_its_english(make: Any, english: str, standard: str) -> None:
    message = make()
    assert isinstance(message, Said)
    assert str.__str__(message) == english and message.in_lang("en") == english
    assert CJK.search(message.zh) and standard in message.zh
    assert not re.search(r"\b(KGM|mg/kg|data\.\w+|paddy|rice|tea|selenium|cadmium)\b", message.zh)


def test_a_message_asking_for_a_category_names_the_categories_in_chinese() -> None:
    message = _verdict({**result("Cd", "0.1", "rice"), "category": None})
    assert isinstance(message, Said)
    assert message == "cadmium: set data.category (brown_rice, paddy, rice) to judge it against its limit"
    assert "糙米、稻谷、大米" in message.zh

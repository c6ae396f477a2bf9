from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from farmtrace.rules.declare import Said
from farmtrace.rules.families import BatchState, OrgFacts, Proposal, baijiu, pork, produce, water

CST = timezone(timedelta(hours=8))
H = "ab" * 32
TAG1, TAG2, TAG3 = "151192100000001", "151192100000002", "151192100000003"
AT = datetime(2026, 9, 1, 9, tzinfo=CST)


def body(kind: str, data: Mapping[str, Any], at: datetime = AT) -> dict[str, Any]:
    return {"type": kind, "at": at.isoformat(), "data": dict(data)}


def proposal(kind: str, data: Mapping[str, Any], history: Sequence[Mapping[str, Any]] = (), *, family: str = "produce",
             product: str = "南江富硒大米", unit: str = "KGM", org: str = "org-1",
             orgs: Mapping[str, OrgFacts] | None = None, inputs: Mapping[str, Sequence[Any]] | None = None,
             at: datetime = AT) -> Proposal:
    state = BatchState("b-1", family, product, "L-1", org, Decimal("100"), unit, "held") if history else None
    return Proposal(kind, data, at, org, "processor", state, tuple(history), inputs or {}, orgs or {})


def verdict(rules: Sequence[Any], p: Proposal, rule_id: str) -> Said | None:
    rule = next(r for r in rules if r.id == rule_id)
    return rule.check(p) if p.type in rule.applies_to else None


def se_test(value: str, category: str = "rice") -> dict[str, Any]:
    return body("test", {"sample": H, "analyte": "Se", "method": "GB 5009.93", "value": value, "unit": "mg/kg",
                         "report_no": "R-1", "category": category})


def share_test(value: str) -> dict[str, Any]:
    return body("test", {"sample": H, "analyte": "硒代氨基酸占比", "method": "HPLC-ICP-MS", "value": value, "unit": "%",
                         "report_no": "R-2"})


MILLED = body("transform", {"product": "南江富硒大米", "category": "rice"})
FUNGI = body("harvested", {"product": "通江银耳", "category": "fungi"})
PLOT = [body("create", {"product": "南江富硒稻田"}),
        body("input_applied", {"product_name": "吡虫啉 10%", "registration_no": "PD20060010",
                               "active_ingredient": "吡虫啉", "date": "2026-07-02"})]
HARVEST = body("harvested", {"product": "南江富硒稻谷", "plot": "plot-1", "variety_type": "indica"},
               datetime(2026, 8, 20, tzinfo=CST))

# id: (rule set, rule id, proposal, the message must contain (None: the rule is satisfied))
CASES: dict[str, tuple[Sequence[Any], str, Proposal, str | None]] = {
    "GB 28050: a 富硒 rice pack at 0.11 mg/kg is refused": (
        produce.HARD_RULES, "produce.se_nutrition_claim",
        proposal("packed", {"claims": ["富硒"]}, [MILLED, se_test("0.11")]), "GB 28050-2011: selenium 0.11 mg/kg < 0.18"),
    "GB 28050: any selenium words (高硒) need 0.18 mg/kg": (
        produce.HARD_RULES, "produce.se_nutrition_claim",
        proposal("packed", {"claims": ["高硒"]}, [MILLED, se_test("0.15")]), "GB 28050-2011"),
    "GB 28050: 含硒 needs 15 % NRV, 0.09 mg/kg": (
        produce.HARD_RULES, "produce.se_nutrition_claim",
        proposal("packed", {"claims": ["含硒"]}, [MILLED, se_test("0.10")]), None),
    "GB 28050: a 富硒 pack at 0.21 mg/kg passes": (
        produce.HARD_RULES, "produce.se_nutrition_claim",
        proposal("packed", {"claims": ["富硒"]}, [MILLED, se_test("0.21")]), None),
    "GH/T 1135-2017: a 富硒 fungi claim needs the selenoamino-acid share": (
        produce.HARD_RULES, "produce.se_claim",
        proposal("packed", {"claims": ["富硒"]}, [FUNGI, se_test("0.50", "fungi")], product="通江银耳"),
        "GH/T 1135-2017: a 富硒 claim resting on it needs the selenoamino-acid share"),
    "GH/T 1135-2017: a 60 % share is not more than 65 %": (
        produce.HARD_RULES, "produce.se_claim",
        proposal("packed", {"claims": ["富硒"]}, [FUNGI, se_test("0.50", "fungi"), share_test("60")],
                 product="通江银耳"), "GH/T 1135-2017: selenoamino acid share 60 % ≤ 65 %"),
    "GH/T 1135-2017: a 70 % share supports the fungi claim": (
        produce.HARD_RULES, "produce.se_claim",
        proposal("packed", {"claims": ["富硒"]}, [FUNGI, se_test("0.50", "fungi"), share_test("70")],
                 product="通江银耳"), None),
    "GB 1350-2009: indica paddy at 14.0 % is too wet": (
        produce.SOFT_RULES, "produce.storage_moisture",
        proposal("stored", {"moisture": "14.0"}, [HARVEST], product="南江富硒稻谷"),
        "GB 1350-2009: moisture 14.0% > 13.5% for indica paddy"),
    "GB 1350-2009: japonica paddy at 14.0 % is dry enough": (
        produce.SOFT_RULES, "produce.storage_moisture",
        proposal("stored", {"moisture": "14.0", "variety_type": "japonica"}, [HARVEST], product="南江富硒稻谷"), None),
    "农业部公告第199号: 甲胺磷 may not be applied": (
        produce.HARD_RULES, "produce.banned_pesticide",
        proposal("input_applied", {"product_name": "50% 甲胺磷乳油", "active_ingredient": "甲胺磷", "date": "2026-07-02"},
                 [PLOT[0]]), "甲胺磷 (methamidophos) is banned on any crop from 2007-01-01"),
    "农业部公告第199号: 氰戊菊酯 is banned on tea only": (
        produce.HARD_RULES, "produce.banned_pesticide",
        proposal("input_applied", {"product_name": "氰戊菊酯", "active_ingredient": "氰戊菊酯", "date": "2026-05-02",
                                   "crop": "茶"}, [PLOT[0]]), "农业部公告第199号 (2002): 氰戊菊酯"),
    "农业部公告第199号: 氰戊菊酯 on rice is not banned by it": (
        produce.HARD_RULES, "produce.banned_pesticide",
        proposal("input_applied", {"product_name": "氰戊菊酯", "active_ingredient": "氰戊菊酯", "date": "2026-05-02",
                                   "crop": "水稻"}, [PLOT[0]]), None),
    "农业农村部公告第736号: 氧乐果 from 2026-06-01, not before": (
        produce.HARD_RULES, "produce.banned_pesticide",
        proposal("input_applied", {"product_name": "氧乐果", "active_ingredient": "氧乐果", "date": "2026-05-31"},
                 [PLOT[0]]), None),
    "农业农村部公告第736号: 氧乐果 on 2026-06-01 is refused": (
        produce.HARD_RULES, "produce.banned_pesticide",
        proposal("input_applied", {"product_name": "氧乐果", "active_ingredient": "氧乐果", "date": "2026-06-01"},
                 [PLOT[0]]), "农业农村部公告第736号 (2023)"),
    "乐果 is not 氧乐果": (
        produce.HARD_RULES, "produce.banned_pesticide",
        proposal("input_applied", {"product_name": "乐果", "active_ingredient": "乐果", "date": "2026-06-02",
                                   "crop": "水稻"}, [PLOT[0]]), None),
    "用什么药检什么药: a pesticide applied and not tested is a warning": (
        produce.SOFT_RULES, "produce.residue_coverage",
        proposal("ship", {"to": "mill"}, [HARVEST], inputs={"plot-1": PLOT}), "covers 吡虫啉"),
    "用什么药检什么药: a multi-residue test covering it passes": (
        produce.SOFT_RULES, "produce.residue_coverage",
        proposal("ship", {"to": "mill"}, [HARVEST, body("test", {"analyte": "pesticide residues",
                                                                 "covers": ["吡虫啉", "毒死蜱"]})],
                 inputs={"plot-1": PLOT}), None),
    "承诺达标合格证: the receiver records the certificate shipped": (
        produce.HARD_RULES, "produce.receive_certificate",
        proposal("receive", {"ship": H}, [body("harvested", {"product": "香菇"}),
                                          body("ship", {"certificate_no": "HGZ-1"})], product="香菇"),
        "records the collected 承诺达标合格证 HGZ-1"),
    "承诺达标合格证: fungi received without a number from 2026-02-01": (
        produce.HARD_RULES, "produce.receive_certificate",
        proposal("receive", {"ship": H}, [body("harvested", {"product": "香菇"}), body("ship", {})], product="香菇"),
        "a purchaser of fungi records"),
    "承诺达标合格证: the number shipped, received": (
        produce.HARD_RULES, "produce.receive_certificate",
        proposal("receive", {"ship": H, "certificate_no": "HGZ-1"},
                 [body("harvested", {"product": "香菇"}), body("ship", {"certificate_no": "HGZ-1"})], product="香菇"),
        None),
    "食品生产许可管理办法: a rice label with a tea licence": (
        produce.HARD_RULES, "produce.sc_licence",
        proposal("packed", {"sc_licence": "SC11451192200023"}, [MILLED]), "is for food category 114, not 101"),
    "食品生产许可管理办法: a rice licence of another org": (
        produce.HARD_RULES, "produce.sc_licence",
        proposal("packed", {"sc_licence": "SC10151190300015"}, [MILLED],
                 orgs={"org-1": OrgFacts("processor", "511903", {"sc": "SC10151190300099"})}),
        "the packer's licence on record is SC10151190300099"),
    "食品生产许可管理办法: milled rice packed without its SC number": (
        produce.SOFT_RULES, "produce.sc_missing", proposal("packed", {}, [MILLED]), "SC licence number"),
}

LIVE = [body("animal_tagged", {"product": "青峪猪", "unit": "head", "tags": [TAG1, TAG2]}),
        body("quarantined", {"certificate_no": "5100000000123", "head": "2", "tags": [TAG1, TAG2]}),
        body("ship", {"to": "plant", "quantity": "2", "unit": "head"})]
CARCASS = body("transform", {"product": "白条", "unit": "KGM", "process": "slaughter", "asf_reports": ["ASF-1"]})
PCR = body("test", {"analyte": "ASFV", "method": "GB/T 18648-2020 荧光 PCR", "value": None, "lod": "10",
                    "unit": "copies/µL", "report_no": "ASF-2"})
STRIP = body("test", {"analyte": "ASFV", "method": "胶体金试纸条", "value": None, "lod": "10", "unit": "copies/µL",
                      "report_no": "ASF-3"})
CERTS = body("inspected", {"quarantine_certificate": "5100000000456", "quality_certificate": "RP-1"})
CHENGDU = {"buyer": OrgFacts("retailer", "510104")}
CHONGQING = {"buyer": OrgFacts("retailer", "500103")}


def pork_p(kind: str, data: Mapping[str, Any], history: Sequence[Mapping[str, Any]], unit: str,
           orgs: Mapping[str, OrgFacts] | None = None) -> Proposal:
    return proposal(kind, data, history, family="pork", product="青峪猪", unit=unit, orgs=orgs)


CASES.update({
    "公告第119号: ear tags at arrival differ from the certificate": (
        pork.HARD_RULES, "pork.receive_tags", pork_p("receive", {"ship": H, "tags": [TAG1, TAG3]}, LIVE, "head"),
        "do not match certificate 5100000000123; not on the certificate: 151192100000003"),
    "公告第119号: ear tags at arrival match": (
        pork.HARD_RULES, "pork.receive_tags", pork_p("receive", {"ship": H, "tags": [TAG2, TAG1]}, LIVE, "head"), None),
    "公告第119号: another certificate than the one shipped": (
        pork.HARD_RULES, "pork.receive_tags",
        pork_p("receive", {"ship": H, "quarantine_certificate": "5100000000999"}, LIVE, "head"),
        "is not the one the pigs were shipped on (5100000000123)"),
    "公告第119号: tags not recorded at arrival is a warning": (
        pork.SOFT_RULES, "pork.receive_tags_missing", pork_p("receive", {"ship": H}, LIVE, "head"), "data.tags"),
    "动物防疫法: a vehicle plate not written as a plate": (
        pork.HARD_RULES, "pork.vehicle", pork_p("ship", {"to": "plant", "vehicle_no": "truck 7"}, LIVE[:2], "head"),
        "动物防疫法 (2021): data.vehicle_no must be a vehicle plate"),
    "动物防疫法: a plate passes": (
        pork.HARD_RULES, "pork.vehicle", pork_p("ship", {"to": "plant", "vehicle_no": "川Y12345"}, LIVE[:2], "head"),
        None),
    "ASF: a strip negative ships within Sichuan": (
        pork.HARD_RULES, "pork.asf_negative",
        pork_p("ship", {"to": "buyer"}, [CARCASS, STRIP, CERTS], "KGM", CHENGDU), None),
    "ASF: a strip negative does not ship to Chongqing": (
        pork.HARD_RULES, "pork.asf_negative",
        pork_p("ship", {"to": "buyer"}, [CARCASS, STRIP, CERTS], "KGM", CHONGQING),
        "a strip (immunological) negative allows sale within the province only; buyer (county 500103)"),
    "ASF: a PCR negative ships to Chongqing": (
        pork.HARD_RULES, "pork.asf_negative",
        pork_p("ship", {"to": "buyer"}, [CARCASS, PCR, CERTS], "KGM", CHONGQING), None),
    "ASF: a receiver of unknown county needs PCR": (
        pork.HARD_RULES, "pork.asf_negative", pork_p("ship", {"to": "buyer"}, [CARCASS, STRIP, CERTS], "KGM"),
        "buyer's county is not recorded"),
    "无害化处理: condemned meat without its disposal": (
        pork.HARD_RULES, "pork.disposal",
        pork_p("inspected", {"stage": "post-mortem", "condemned_kg": "12"}, [CARCASS], "KGM"),
        "病死畜禽和病害畜禽产品无害化处理管理办法 (2022): condemned meat (12 kg)"),
    "无害化处理: condemned meat incinerated, with its record": (
        pork.HARD_RULES, "pork.disposal",
        pork_p("inspected", {"stage": "post-mortem", "condemned_kg": "12", "disposal": "incineration",
                             "disposal_record": "WH-1"}, [CARCASS], "KGM"), None),
    "生猪屠宰管理条例: slaughter by an org without a 定点屠宰证 is a warning": (
        pork.SOFT_RULES, "pork.slaughter_licence",
        proposal("transform", {"process": "slaughter", "unit": "KGM"}, family="pork",
                 orgs={"org-1": OrgFacts("processor", "511902", {})}), "has no 生猪定点屠宰证"),
    "生猪屠宰管理条例: a licensed slaughterhouse": (
        pork.SOFT_RULES, "pork.slaughter_licence",
        proposal("transform", {"process": "slaughter", "unit": "KGM"}, family="pork",
                 orgs={"org-1": OrgFacts("processor", "511902", {"slaughter": "A51190201"})}), None),
})

SOLID = {"abv": "52", "abv_unit": "%vol", "warning": "过量饮酒有害健康", "sc": "SC11551192300012",
         "standard": "GB/T 10781.1-2021", "flavour": "nongxiang", "grade": "premium",
         "ingredients": ["高粱", "大米", "糯米", "小麦", "玉米", "水"], "production_date": "2026-03-10",
         "net_content": "500 mL"}
CASES.update({
    "GB/T 10781.1-2021: a solid-state label listing edible alcohol": (
        baijiu.HARD_RULES, "baijiu.category",
        proposal("packed", {"label": {**SOLID, "ingredients": ["高粱", "食用酒精", "水"]}}, [body("transform", {})],
                 family="baijiu"),
        "GB/T 17204-2021 / GB/T 10781.1-2021: solid-state baijiu (GB/T 10781.1-2021) uses no edible alcohol"),
    "GB/T 17204-2021: additives make it 配制酒": (
        baijiu.HARD_RULES, "baijiu.category",
        proposal("packed", {"label": {**SOLID, "standard": "GB/T 20821", "category": "liquid",
                                      "ingredients": ["食用酒精", "水", "食用香精"]}}, [body("transform", {})],
                 family="baijiu"), "is 配制酒"),
    "GB/T 10781.1-2021: a solid-state label of grain and water": (
        baijiu.HARD_RULES, "baijiu.category",
        proposal("packed", {"label": SOLID}, [body("transform", {})], family="baijiu"), None),
})

LIVE_NO = "5100000000123"  # the live pigs' 动物检疫合格证明 (动物) number, as LIVE records it
SLAUGHTERED = body("transform", {"product": "青峪猪 白条", "unit": "KGM", "process": "slaughter",
                                 "inputs": [{"batch": "pigs-1", "event": H, "quantity": "2", "unit": "head"}]})


def post_mortem(number: str, name: str = "quarantine_certificate") -> Proposal:
    """A post-mortem `inspected` on a carcass made from LIVE; the service passed in LIVE's certificate number."""
    return replace(pork_p("inspected", {"stage": "post-mortem", name: number, "quality_certificate": "RP-1"},
                          [SLAUGHTERED], "KGM"), source_certificates=frozenset({LIVE_NO}))


CASES.update({
    "动物检疫管理办法 (2022年第7号): the carcass named by the live pigs' number": (
        pork.HARD_RULES, "pork.own_quarantine_number", post_mortem(LIVE_NO),
        "动物检疫管理办法 (农业农村部令2022年第7号) / 生猪屠宰检疫规程: the carcass's quarantine certificate (product) "
        "5100000000123 (data.quarantine_certificate) is derived from the live pigs' certificate 5100000000123"),
    "动物检疫管理办法 (2022年第7号): a prefix put before the live pigs' number": (
        pork.HARD_RULES, "pork.own_quarantine_number", post_mortem("Q5100000000123"),
        "is derived from the live pigs' certificate 5100000000123"),
    "动物检疫管理办法 (2022年第7号): a suffix put after it, with a separator": (
        pork.HARD_RULES, "pork.own_quarantine_number", post_mortem("5100000000123-01", "certificate_no"),
        "(data.certificate_no) is derived from"),
    "动物检疫管理办法 (2022年第7号): the carcass's own number passes": (
        pork.HARD_RULES, "pork.own_quarantine_number", post_mortem("5100000000456"), None),
    "动物检疫管理办法 (2022年第7号): sharing the province and year part is not copying": (
        pork.HARD_RULES, "pork.own_quarantine_number", post_mortem("5100000000"), None),
    "动物检疫管理办法 (2022年第7号): an ante-mortem check on the live lot is not judged": (
        pork.HARD_RULES, "pork.own_quarantine_number",
        replace(pork_p("inspected", {"stage": "ante-mortem", "certificate_no": LIVE_NO}, LIVE, "head"),
                source_certificates=frozenset({LIVE_NO})), None),
})

BOTTLED = body("transform", {"product": "平昌 巴山窖 52%vol 500mL", "unit": "bottle"})
PLANT = {"org-1": OrgFacts("processor", "511923", {"sc": "SC11551192300012"})}
CASES.update({
    "食品生产许可管理办法 (2020): a baijiu label with a drinks (106) licence": (
        baijiu.HARD_RULES, "baijiu.sc_licence",
        proposal("packed", {"label": {**SOLID, "sc": "SC10651192300018"}}, [BOTTLED], family="baijiu"),
        "食品生产许可管理办法 (2020): licence SC10651192300018 is for food category 106, not 115 (liquor)"),
    "食品生产许可管理办法 (2020): a baijiu label with an SC number of 12 digits": (
        baijiu.HARD_RULES, "baijiu.sc_licence",
        proposal("packed", {"label": {**SOLID, "sc": "SC115511923000"}}, [BOTTLED], family="baijiu"),
        "食品生产许可管理办法 (2020): the label names a 食品生产许可证 number (SC + 14 digits)"),
    "食品生产许可管理办法 (2020): a baijiu label naming another distillery's licence": (
        baijiu.HARD_RULES, "baijiu.sc_licence",
        proposal("packed", {"label": {**SOLID, "sc": "SC11551192300099"}}, [BOTTLED], family="baijiu", orgs=PLANT),
        "食品生产许可管理办法 (2020): the label names SC11551192300099, but the packer's licence on record is "
        "SC11551192300012"),
    "食品生产许可管理办法 (2020): the distillery's own liquor (115) licence": (
        baijiu.HARD_RULES, "baijiu.sc_licence",
        proposal("packed", {"label": SOLID}, [BOTTLED], family="baijiu", orgs=PLANT), None),
})

RUN = body("transform", {"product": "光雾山天然矿泉水 550mL", "unit": "LTR"})
BOTTLER = {"org-1": OrgFacts("processor", "511921", {"sc": "SC10651192100017"})}
CASES.update({
    "食品生产许可管理办法 (2020): packaged water packed under a liquor (115) licence": (
        water.HARD_RULES, "water.sc_licence",
        proposal("packed", {"sc_licence": "SC11551192300012"}, [RUN], family="water", unit="LTR"),
        "食品生产许可管理办法 (2020): licence SC11551192300012 is for food category 115, not 106 (water)"),
    "食品生产许可管理办法 (2020): packaged water with a malformed SC number": (
        water.HARD_RULES, "water.sc_licence",
        proposal("packed", {"sc_licence": "QS5100-0601-0001"}, [RUN], family="water", unit="LTR"),
        "食品生产许可管理办法 (2020): a 食品生产许可证 number is SC + 14 digits"),
    "食品生产许可管理办法 (2020): packaged water naming another bottler's licence": (
        water.HARD_RULES, "water.sc_licence",
        proposal("packed", {"sc_licence": "SC10651192100099"}, [RUN], family="water", unit="LTR", orgs=BOTTLER),
        "the packer's licence on record is SC10651192100017"),
    "食品生产许可管理办法 (2020): packaged water under the bottler's drinks (106) licence": (
        water.HARD_RULES, "water.sc_licence",
        proposal("packed", {"sc_licence": "SC10651192100017"}, [RUN], family="water", unit="LTR", orgs=BOTTLER),
        None),
    "食品生产许可管理办法 (2020): a pack naming no SC number is not judged by the hard rule": (
        water.HARD_RULES, "water.sc_licence", proposal("packed", {}, [RUN], family="water", unit="LTR"), None),
})

MINERAL = body("transform", {"product": "光雾山天然矿泉水", "category": "mineral_water"})
CASES.update({
    "GB 8537: a mineral source without its 采矿许可证 is a warning": (
        water.SOFT_RULES, "water.mining_licence",
        proposal("source_registered", {"kind": "mineral"}, family="water"), "采矿许可证"),
})


@pytest.mark.parametrize(("rules", "rule_id", "p", "says"), list(CASES.values()), ids=list(CASES))
def test_a_national_rule_judges_its_case_and_cites_standard_and_edition(
        rules: Sequence[Any], rule_id: str, p: Proposal, says: str | None) -> None:
    message = verdict(rules, p, rule_id)
    if says is None:
        assert message is None
        return
    assert isinstance(message, Said), message
    assert says in str.__str__(message)
    assert message.zh and message.zh != str.__str__(message)


LAB = {  # id: (test data, verdict, the message must contain)
    "GB 8537: bromate at exactly 0.01 mg/L fails (the standard writes <)": (
        {"analyte": "溴酸盐", "value": "0.01", "unit": "mg/L", "category": "mineral_water"}, "fail", "≥ 0.01"),
    "GB 8537: bromate at 9 µg/L passes": (
        {"analyte": "bromate", "value": "9", "unit": "µg/L", "category": "mineral_water"}, "pass", None),
    "GB 8537: antimony at 0.006 mg/L fails": (
        {"analyte": "Sb", "value": "0.006", "unit": "mg/L", "category": "mineral_water"}, "fail", "antimony"),
    "GB 8537: nitrate at 30 mg/L passes": (
        {"analyte": "硝酸盐", "value": "30", "unit": "mg/L", "category": "mineral_water"}, "pass", None),
}


@pytest.mark.parametrize(("data", "expected", "says"), list(LAB.values()), ids=list(LAB))
def test_a_mineral_water_limit_is_compared_as_gb_8537_writes_it(data: dict[str, Any], expected: str,
                                                                 says: str | None) -> None:
    got, message = water.judge_test(data, AT.date(), "mineral_water")
    assert got == expected, message
    if says:
        assert message is not None and says in str(message) and "GB 8537-2018" in str(message)


def test_gb_2757_applies_from_its_implementation_date_and_gb_t_10781_1_from_2022_04_01() -> None:
    rows = {(r.rule_id, r.analyte): r.valid_from.isoformat() for r in baijiu.THRESHOLDS}
    assert rows[("baijiu.contaminants", "methanol")] == "2013-02-01"
    assert rows[("baijiu.strength", "ethanol")] == "2022-04-01"

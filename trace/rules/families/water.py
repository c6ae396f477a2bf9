"""Bottled water (包装饮用水 / 饮用天然矿泉水), "一瓶水" (domain.md §5).

Batches:
- A source is a batch of its own, started by `source_registered` (genesis). Its quantity is the
  water its extraction permit (取水许可) allows, in LTR; source-monitoring `test`s go on its
  chain. Why a batch and not an org record: monitoring results need a chain to live on, and a
  production run's `transform` then sees the source's registration and tests in `inputs`.
- A production run is the generic `transform` (source water -> run lot; process, line,
  treatment such as filtration | ozone | UV; lot `L2-20260315-0800`). Filling and capping is
  `packed` (size_ml, count, cap_lot, gtin, claims); the release is the `ship` after it.

Event types (one `Declaration` each, registered on import; KDEs in `data`):
- `source_registered` (水源登记, genesis): product, lot, family, quantity, unit (LTR) + source_id,
  kind (mineral | groundwater | surface | municipal), permit_no; optional protection_zone, county
  (6-digit code), latitude, longitude, temperature (CEL), survey_ref (GB/T 13727 survey report),
  indicators ({analyte: value in mg/L} at registration), place.

KDEs read on shared steps (declared with `extend`, free-form as before): transform line, treatment,
category; packed size_ml (mL), count (bottles), cap_lot, claims, cases, category, product; test
water_temperature (°C); ship and sell category, product.

Every rule message is a `Said`: the English the API has always carried, with its Chinese.

Hard rules (refuse the event; the message cites standard and edition):
- water.source_survey: a mineral source is registered with its GB/T 13727 survey (survey_ref).
- water.mineral_source: a `transform` making mineral water takes only registered mineral sources
  (or mineral water already made).
- water.no_trucking: mineral raw water is not shipped away for filling (`ship` of a mineral source).
- water.fill_volume: `packed` count × size_ml, with earlier fills, ≤ the run volume (LTR), or
  count ≤ the run's bottles.
- water.mineral_claim: `packed` mineral water (category or a 矿泉水 claim) needs a test meeting
  ≥ 1 qualifying indicator of GB 8537-2018 (Sr and H₂SiO₃ low bands only from a source ≥ 25 °C).
- water.safety_fail: `packed`, `ship` or `sell` of a batch with a `test` judged "fail" (e.g.
  selenium ≥ 0.05 mg/L in mineral water, bromate > 0.01 mg/L).
- water.release: `ship` (release) only after a passing release test: microbiology of its
  standard (GB 19298-2014 or GB 8537-2018) and, on an ozone line, bromate.

Soft rules:
- water.indicator_stability: a source-monitoring `test` of an indicator more than 20 % away from
  the value registered with the source (our rule).
- water.lot_code: a production run's lot is not line-date-time, e.g. L2-20260315-0800 (our rule).

Decisions where domain.md is silent:
- Release is `ship`: bottles are filled (`packed`) before the release test is taken from them.
- Category (drinking_water | distilled_water | mineral_water) comes from data.category, else the
  product name (矿泉水 / mineral, 蒸馏水 / distilled, else drinking water). A lab `test` should carry
  data.category; without it, and with limits in several categories, the verdict is "info".
- A microbiology result is "not detected" when its value is 0 or null with a LOD ≤ 1 CFU/250mL.
- GB 8537-2018 values confirmed only for the 1995/2008 editions are "unverified"; bromate
  ≤ 0.01 mg/L for mineral water is not in domain.md (added so ozone mineral lines can release;
  check the text). Lead ≤ 0.01 mg/L (GB 2762-2022) and radioactivity are unverified.
- Raw-water standards (GB 5749 / GB 3838 / GB/T 14848) are not checked: a source record does not
  yet carry raw-water results by standard.

National rules added 2026-12-01 (issue "National rules"; tests/rules/test_national_rules.py):
- water.mineral_bromate (hard, GB 8537): compared as the standard writes it, "< 0.01 mg/L".
- water.mineral_limits (hard, GB 8537-2018): As, Pb, Cd, Hg, Sb, Mn, Ni, Cu, Ba, total Cr, Ag, nitrate,
  nitrite, fluoride, cyanide, phenols, detergent, mineral oil, each "<"; the values are the 2008
  edition's from secondary sources (unverified).
- water.mining_licence (soft, 矿产资源法 2024): a mineral source without `mining_licence_no`.
- water.sc_licence (hard, 食品生产许可管理办法 2020): a `packed` naming `sc_licence` names an SC number of food
  category 106 (饮料; 《食品生产许可分类目录》 0601 瓶(桶)装饮用水, from secondary reprints: see rules/licences.py),
  and the bottler's own when one is on record. A pack naming none is not judged (no soft warning yet).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from farmtrace.ledger.errors import InvalidEventError
from farmtrace.ledger.events import DECIMAL, EventType, require_decimal
from farmtrace.rules.declare import (VALUE_NAMES, Declaration, Kde, Said, Words, declare, extend, registered,
                                     said_in, unit_name)
from farmtrace.rules.families import judge_safety
from farmtrace.rules.families import (Proposal, Rule, Threshold, body_day, claims_of, compare_result, decimal,
                                      threshold_for, valid_on)
from farmtrace.rules.licences import LICENCE_RULE, sc_not_on_record, sc_problem
from farmtrace.rules.steps import NEW_BATCH, PLACE, _free
from farmtrace.rules.certified import CERTIFIED_KDES

FAMILY = "water"

CATEGORIES = ("drinking_water", "distilled_water", "mineral_water")
COUNTY = re.compile(r"^[1-9][0-9]{5}$")
LOT_CODE = re.compile(r"^[A-Za-z0-9]{1,4}-\d{8}-\d{4}$")
MINERAL_CLAIMS = frozenset({"矿泉水", "天然矿泉水", "mineral", "mineral_water"})
OZONE_WORDS = ("ozone", "臭氧", "o3")

# ---- event types ------------------------------------------------------------------------------

SOURCE_KIND_NAMES: dict[str, Words] = {
    "mineral": ("天然矿泉水", "natural mineral water"), "groundwater": ("其他地下水", "other groundwater"),
    "surface": ("地表水", "surface water"), "municipal": ("市政供水", "municipal supply"),
}
SOURCE_KINDS = tuple(SOURCE_KIND_NAMES)  # in the order the API's message lists them
CATEGORY_NAMES: dict[str, Words] = {
    "drinking_water": ("包装饮用水", "packaged drinking water"), "distilled_water": ("蒸馏水", "distilled water"),
    "mineral_water": ("饮用天然矿泉水", "natural mineral water"),
}
TREATMENT_NAMES: dict[str, Words] = {
    "filtration": ("过滤", "filtration"), "ozone": ("臭氧消毒", "ozone"), "UV": ("紫外线消毒", "UV"),
    "RO": ("反渗透", "reverse osmosis"), "distillation": ("蒸馏", "distillation"),
}
CLAIM_NAMES: dict[str, Words] = {
    "天然矿泉水": ("天然矿泉水", "natural mineral water"), "矿泉水": ("矿泉水", "mineral water"),
    "mineral": ("矿泉水", "mineral water"), "mineral_water": ("矿泉水", "mineral water"),
}
ANALYTE_WORDS: dict[str, Words] = {  # canonical analyte -> (zh, en) for labels and Chinese messages
    "free_chlorine": ("游离氯", "free chlorine"), "carbon_tetrachloride": ("四氯化碳", "carbon tetrachloride"),
    "chloroform": ("三氯甲烷", "chloroform"), "oxygen_consumption": ("耗氧量（以 O₂ 计）", "oxygen consumption"),
    "bromate": ("溴酸盐", "bromate"), "volatile_phenols": ("挥发酚", "volatile phenols"),
    "cyanide": ("氰化物", "cyanide"), "anionic_detergent": ("阴离子合成洗涤剂", "anionic detergent"),
    "gross_alpha": ("总α放射性", "gross alpha"), "gross_beta": ("总β放射性", "gross beta"), "lead": ("铅", "lead"),
    "coliforms": ("大肠菌群", "coliforms"), "faecal_streptococci": ("粪链球菌", "faecal streptococci"),
    "pseudomonas_aeruginosa": ("铜绿假单胞菌", "Pseudomonas aeruginosa"),
    "clostridium_perfringens": ("产气荚膜梭菌", "Clostridium perfringens"),
    "lithium": ("锂", "lithium"), "strontium": ("锶", "strontium"), "zinc": ("锌", "zinc"),
    "metasilicic_acid": ("偏硅酸", "metasilicic acid"), "selenium": ("硒", "selenium"),
    "free_co2": ("游离二氧化碳", "free CO₂"), "tds": ("溶解性总固体", "total dissolved solids"),
    "arsenic": ("砷", "arsenic"), "cadmium": ("镉", "cadmium"), "mercury": ("汞", "mercury"),
    "antimony": ("锑", "antimony"), "manganese": ("锰", "manganese"), "nickel": ("镍", "nickel"),
    "copper": ("铜", "copper"), "barium": ("钡", "barium"), "total_chromium": ("总铬", "total chromium"),
    "silver": ("银", "silver"), "nitrate": ("硝酸盐（以 NO₃⁻ 计）", "nitrate"), "nitrite": ("亚硝酸盐", "nitrite"),
    "fluoride": ("氟化物", "fluoride"), "mineral_oil": ("矿物油", "mineral oil"),
}


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


INDICATORS = ("lithium", "strontium", "zinc", "metasilicic_acid", "selenium", "free_co2", "tds")


def _within(low: Decimal, high: Decimal) -> Callable[[Mapping[str, Any], str], None]:
    def check(data: Mapping[str, Any], name: str) -> None:
        require_decimal(data, name, optional=True)
        value = decimal(data.get(name))
        if value is not None and not low <= value <= high:
            raise InvalidEventError(f"data.{name} must be from {low} to {high}, got {value}", field=f"data.{name}")
    return check


def _county(data: Mapping[str, Any], name: str) -> None:
    if not isinstance(data[name], str) or not COUNTY.match(data[name]):
        raise InvalidEventError("data.county must be a 6-digit county code (GB/T 2260)", field="data.county")


def _indicators(data: Mapping[str, Any], name: str) -> None:
    indicators = data.get("indicators", {})
    if not isinstance(indicators, dict):
        raise InvalidEventError("data.indicators must map analyte to a decimal string", field="data.indicators")
    for analyte, value in indicators.items():
        if not isinstance(value, str) or not DECIMAL.match(value) or value.startswith("-"):
            raise InvalidEventError(f"data.indicators.{analyte} must be a decimal string in mg/L, got {value!r}",
                                    field=f"data.indicators.{analyte}")


SOURCE_REGISTERED = declare(Declaration(
    "source_registered", "水源登记", "Water source registered", kdes=(
        *NEW_BATCH,
        Kde("source_id", "text", "水源编号", "Source id", max_len=64, help_zh="泉眼或水井的编号，如 GWS-1",
            help_en="the spring's or well's id, e.g. GWS-1"),
        Kde("kind", "choice", "水源类型", "Source kind", choices=SOURCE_KIND_NAMES),
        Kde("permit_no", "text", "取水许可证号", "Water abstraction permit no.", max_len=64),
        Kde("mining_licence_no", "text", "采矿许可证号", "Mining licence no.", required=False, max_len=64,
            help_zh="矿泉水属矿产资源，开采须有采矿许可证", help_en="mineral water is a mineral resource: its "
            "extraction needs a mining licence"),
        Kde("protection_zone", "text", "水源保护区", "Protection zone", required=False, max_len=200,
            help_zh="如 一级保护区 50 m", help_en="e.g. first-grade zone, 50 m"),
        Kde("county", "county", "所在县区", "County", required=False, check=_county,
            help_zh="六位行政区划代码 (GB/T 2260)，如 511922 南江县", help_en="6-digit code (GB/T 2260), e.g. 511922"),
        Kde("latitude", "decimal", "纬度", "Latitude", required=False, check=_within(Decimal(-90), Decimal(90)),
            help_zh="十进制度数，如 32.6531", help_en="decimal degrees, e.g. 32.6531"),
        Kde("longitude", "decimal", "经度", "Longitude", required=False, check=_within(Decimal(-180), Decimal(180)),
            help_zh="十进制度数，如 106.8102", help_en="decimal degrees, e.g. 106.8102"),
        Kde("temperature", "decimal", "水源水温", "Source water temperature", required=False, unit="CEL",
            check=_within(Decimal(-5), Decimal(100)),
            help_zh="锶、偏硅酸按低限值判定时须水温 ≥ 25 °C (GB 8537-2018)",
            help_en="Sr and H₂SiO₃ low bands qualify only at ≥ 25 °C (GB 8537-2018)"),
        Kde("survey_ref", "text", "水源勘查报告", "Source survey report", required=False, max_len=64,
            help_zh="矿泉水水源须附 GB/T 13727 勘查报告", help_en="a mineral source needs its GB/T 13727 survey"),
        Kde("indicators", "object", "登记时的界限指标", "Indicators at registration", required=False,
            check=_indicators, items=tuple(Kde(a, "decimal", ANALYTE_WORDS[a][0], _upper_first(ANALYTE_WORDS[a][1]),
                                              required=False, unit="mg/L") for a in INDICATORS),
            help_zh="各指标登记值，单位 毫克/升，如 偏硅酸 32.0", help_en="registered values in mg/L, e.g. metasilicic acid 32.0"),
        PLACE,
    ), family=FAMILY, genesis=True,
    help_zh="泉眼或水井作为一个批次登记，数量为取水许可允许的水量（升）",
    help_en="a spring or well is a batch of its own; its quantity is the permitted abstraction in L",
    example={"product": "光雾山 1号泉 原水", "lot": "GWS-1", "family": "water", "quantity": "50000000", "unit": "LTR",
             "source_id": "GWS-1", "kind": "mineral", "permit_no": "取水(川巴)字[2024]第0012号",
             "protection_zone": "一级保护区 50 m", "county": "511922", "latitude": "32.6531",
             "longitude": "106.8102", "temperature": "14.5", "survey_ref": "GB/T 13727 勘查报告 2023-07",
             "indicators": {"metasilicic_acid": "32.0", "strontium": "0.45"}, "place": "南江县 光雾山 1号泉"}))

DECLARATIONS: tuple[Declaration, ...] = (SOURCE_REGISTERED,)
EVENT_TYPES: tuple[EventType, ...] = registered(DECLARATIONS)

# ---- KDEs the family reads on shared steps --------------------------------------------------------

CATEGORY = Kde("category", "choice", "产品类别", "Category", required=False, check=_free, choices=CATEGORY_NAMES,
               help_zh="不填时按产品名称判断（矿泉水、蒸馏水，其余为包装饮用水）",
               help_en="else read from the product name (mineral, distilled, else drinking water)")
PRODUCT = Kde("product", "text", "产品", "Product", required=False, check=_free)

extend("transform", FAMILY, (
    Kde("line", "text", "生产线", "Line", required=False, check=_free, help_zh="如 L2", help_en="e.g. L2"),
    Kde("treatment", "list", "水处理工艺", "Treatment", required=False, check=_free, choices=TREATMENT_NAMES,
        help_zh="臭氧消毒的生产线放行前须检测溴酸盐", help_en="an ozone line needs a bromate test before release"),
    CATEGORY))
extend("packed", FAMILY, (
    Kde("size_ml", "decimal", "单瓶容量", "Bottle size", required=False, check=_free, unit="mL",
        help_zh="如 550", help_en='e.g. "550"'),
    Kde("count", "count", "灌装瓶数", "Bottles filled", required=False, check=_free, unit="bottle",
        help_zh="整数；瓶数 × 容量不得超过生产批次水量", help_en="a whole number; count × size ≤ the run volume"),
    Kde("cap_lot", "text", "瓶盖批号", "Cap lot", required=False, check=_free),
    Kde("claims", "list", "标签声称", "Label claims", required=False, check=_free, choices=CLAIM_NAMES,
        help_zh="标注矿泉水须有达到界限指标的检测 (GB 8537-2018)",
        help_en="a mineral-water claim needs a test meeting a qualifying indicator (GB 8537-2018)"),
    Kde("cases", "count", "箱数", "Cases", required=False, check=_free, unit="box"),
    Kde("sc_licence", "text", "食品生产许可证编号", "SC licence", required=False, check=_free,
        help_zh="SC 加 14 位数字，食品类别 106（饮料）", help_en="SC + 14 digits, food category 106 (drinks)"),
    CATEGORY, PRODUCT))
extend("test", FAMILY, (
    Kde("water_temperature", "decimal", "水源水温", "Source water temperature", required=False, check=_free,
        unit="CEL", help_zh="锶、偏硅酸按低限值判定时须水温 ≥ 25 °C",
        help_en="Sr and H₂SiO₃ low bands qualify only at ≥ 25 °C"),))
extend("ship", FAMILY, (CATEGORY, PRODUCT))
extend("sell", FAMILY, (CATEGORY, PRODUCT))
extend("observe", FAMILY, CERTIFIED_KDES)  # step "certified" (rules/certified.py)

VALUE_NAMES.update({"bottling": ("灌装", "bottling"), "灌装": ("灌装", "bottling"), **TREATMENT_NAMES,
                    **CATEGORY_NAMES})

# ---- thresholds --------------------------------------------------------------------------------

_D = Decimal
_EPOCH = date(2000, 1, 1)
_GB19298, _GB8537 = "GB 19298-2014", "GB 8537-2018"
_OURS, _OURS_ZH = "farmtrace rule (domain.md §5.1)", "farmtrace 规则（domain.md §5.1）"
_PACKAGED = ("drinking_water", "distilled_water")


def _row(rule_id: str, analyte: str, category: str, comparator: str, limit: str | None, unit: str,
         standard: str, status: str, valid_from: date = _EPOCH) -> Threshold:
    return Threshold(rule_id, analyte, category, comparator, None if limit is None else _D(limit), None, unit,
                     standard, valid_from, None, status)


THRESHOLDS: tuple[Threshold, ...] = (
    # packaged drinking water (GB 19298-2014, in force 2015-05-24), mg/L
    *(_row("water.gb19298", analyte, c, "<=", limit, "mg/L", _GB19298, "confirmed", date(2015, 5, 24))
      for analyte, limit in (("free_chlorine", "0.05"), ("carbon_tetrachloride", "0.002"), ("chloroform", "0.02"),
                             ("oxygen_consumption", "2.0"), ("bromate", "0.01"), ("volatile_phenols", "0.002"),
                             ("anionic_detergent", "0.3"))
      for c in _PACKAGED),
    _row("water.gb19298", "cyanide", "distilled_water", "<=", "0.05", "mg/L", _GB19298, "confirmed",
         date(2015, 5, 24)),
    *(_row("water.radioactivity", analyte, c, "<=", limit, "Bq/L", _GB19298, "unverified", date(2015, 5, 24))
      for analyte, limit in (("gross_alpha", "0.5"), ("gross_beta", "1")) for c in _PACKAGED),
    *(_row("water.lead", "lead", c, "<=", "0.01", "mg/L", "GB 2762-2022", "unverified") for c in _PACKAGED),
    *(_row("water.micro", organism, c, "not_detected", "1", "CFU/250mL", _GB19298, "unverified", date(2015, 5, 24))
      for organism in ("coliforms", "pseudomonas_aeruginosa") for c in _PACKAGED),
    # natural mineral water (GB 8537-2018)
    *(_row("water.mineral_micro", organism, "mineral_water", "not_detected", "1", "CFU/250mL", _GB8537,
           "unverified") for organism in ("coliforms", "faecal_streptococci", "pseudomonas_aeruginosa",
                                          "clostridium_perfringens")),
    _row("water.mineral_selenium", "selenium", "mineral_water", "<", "0.05", "mg/L", _GB8537, "unverified"),
    # GB 8537 writes bromate as "< 0.01 mg/L" (GB 19298-2014 writes "≤ 0.01"): 0.01 itself fails here
    _row("water.mineral_bromate", "bromate", "mineral_water", "<", "0.01", "mg/L", _GB8537, "unverified"),
    # GB 8537 limit indicators (限量指标), all written "<"; values from the 2008 edition as secondary
    # sources list them; whether GB 8537-2018 keeps each (or moved As/Pb/Cd/Hg/nitrate/nitrite to GB 2762) is
    # unverified
    *(_row("water.mineral_limits", analyte, "mineral_water", "<", limit, "mg/L", _GB8537, "unverified")
      for analyte, limit in (("arsenic", "0.01"), ("lead", "0.01"), ("cadmium", "0.003"), ("mercury", "0.001"),
                             ("antimony", "0.005"), ("manganese", "0.4"), ("nickel", "0.02"), ("copper", "1.0"),
                             ("barium", "0.7"), ("total_chromium", "0.05"), ("silver", "0.05"),
                             ("nitrate", "45"), ("nitrite", "0.1"), ("fluoride", "1.5"), ("cyanide", "0.010"),
                             ("volatile_phenols", "0.002"), ("anionic_detergent", "0.3"), ("mineral_oil", "0.05"))),
    *(_row("water.mineral_indicator", analyte, "mineral_water", ">=", limit, "mg/L", _GB8537, "unverified")
      for analyte, limit in (("lithium", "0.20"), ("strontium", "0.20"), ("zinc", "0.20"),
                             ("metasilicic_acid", "25.0"), ("selenium", "0.01"), ("free_co2", "250"),
                             ("tds", "1000"))),
    # Sr 0.20–0.40 and H₂SiO₃ 25.0–30.0 qualify only from a source at ≥ 25 °C; above these at any
    # temperature
    _row("water.mineral_indicator_any_temp", "strontium", "mineral_water", ">=", "0.40", "mg/L", _GB8537, "unverified"),
    _row("water.mineral_indicator_any_temp", "metasilicic_acid", "mineral_water", ">=", "30.0", "mg/L", _GB8537,
         "unverified"),
    _row("water.warm_source", "water_temperature", "mineral_water", ">=", "25", "CEL", _GB8537, "unverified"),
    _row("water.indicator_stability", "indicator", "source", "<=", "20", "%", _OURS,
         "unverified"),
)

_SAFETY_IDS = ("water.gb19298", "water.radioactivity", "water.lead", "water.micro", "water.mineral_micro",
               "water.mineral_selenium", "water.mineral_bromate", "water.mineral_limits")
_MICRO_IDS = ("water.micro", "water.mineral_micro")

# ---- lab results -----------------------------------------------------------------------------

ANALYTES = {
    "free_chlorine": ("free chlorine", "游离氯"), "carbon_tetrachloride": ("ccl4", "四氯化碳"),
    "chloroform": ("chcl3", "三氯甲烷"), "oxygen_consumption": ("耗氧量", "codmn"),
    "bromate": ("溴酸盐", "bro3"), "volatile_phenols": ("挥发酚", "volatile phenol"),
    "cyanide": ("氰化物", "cn"), "anionic_detergent": ("阴离子合成洗涤剂",),
    "gross_alpha": ("总α放射性", "gross α"), "gross_beta": ("总β放射性", "gross β"), "lead": ("pb", "铅"),
    "coliforms": ("大肠菌群", "coliform", "total coliforms"), "faecal_streptococci": ("粪链球菌", "faecal streptococcus"),
    "pseudomonas_aeruginosa": ("铜绿假单胞菌", "p. aeruginosa"),
    "clostridium_perfringens": ("产气荚膜梭菌", "c. perfringens"),
    "lithium": ("li", "锂"), "strontium": ("sr", "锶"), "zinc": ("zn", "锌"),
    "metasilicic_acid": ("h2sio3", "偏硅酸", "metasilicic acid"), "selenium": ("se", "硒"),
    "free_co2": ("游离二氧化碳", "free co2", "co2"), "tds": ("溶解性总固体", "total dissolved solids"),
    "arsenic": ("as", "砷"), "cadmium": ("cd", "镉"), "mercury": ("hg", "汞"), "antimony": ("sb", "锑"),
    "manganese": ("mn", "锰"), "nickel": ("ni", "镍"), "copper": ("cu", "铜"), "barium": ("ba", "钡"),
    "total_chromium": ("cr", "铬", "总铬"), "silver": ("ag", "银"), "nitrate": ("no3", "硝酸盐"),
    "nitrite": ("no2", "亚硝酸盐"), "fluoride": ("f", "氟化物"), "mineral_oil": ("矿物油",),
}
_ALIASES = {alias: name for name, aliases in ANALYTES.items() for alias in (name, *aliases)}
_UNITS = {"mg/l": _D(1), "µg/l": _D("0.001"), "μg/l": _D("0.001"), "ug/l": _D("0.001"), "g/l": _D(1000)}


def analyte_of(data: Mapping[str, Any]) -> str:
    """The canonical analyte name of a test body's data ("溴酸盐" -> "bromate")."""
    raw = str(data.get("analyte", "")).strip().lower()
    return _ALIASES.get(raw, _ALIASES.get(raw.replace("_", " "), raw))


def _factor(unit: Any, to: str) -> Decimal | None:
    if not isinstance(unit, str):
        return None
    if unit == to:
        return _D(1)
    have, want = _UNITS.get(unit.lower()), _UNITS.get(to.lower())
    return None if have is None or want is None else have / want


def _name(analyte: str) -> str:
    """An analyte in English as messages have always named it ("metasilicic_acid" -> "metasilicic acid")."""
    return analyte.replace("_", " ")


def _name_zh(analyte: str) -> str:
    """An analyte's Chinese name for a message (as written when the family has none)."""
    return ANALYTE_WORDS[analyte][0] if analyte in ANALYTE_WORDS else analyte


def _std_zh(standard: str) -> str:
    """A standard as Chinese messages cite it: the number verbatim; our own rules as farmtrace 规则."""
    return _OURS_ZH if standard == _OURS else standard


def compare(row: Threshold, data: Mapping[str, Any]) -> tuple[bool | None, Said]:
    """Whether a test body's data meets `row` (None: units not comparable) and a message citing it."""
    analyte = analyte_of(data)
    ok, message = compare_result(row, data, _name(analyte), _factor(data.get("unit"), row.unit))
    # the shared analyte names lack some of ours (free chlorine, gross alpha ...): name them here
    return ok, Said(str.__str__(message), message.zh.replace(_name(analyte), _name_zh(analyte)))


def _qualifies(data: Mapping[str, Any], on: date) -> tuple[bool | None, Said] | None:
    """Whether a test meets a GB 8537-2018 qualifying indicator (None: not an indicator)."""
    analyte = analyte_of(data)
    row = next((r for r in THRESHOLDS if r.rule_id == "water.mineral_indicator" and r.analyte == analyte
                and valid_on(r, on)), None)
    if row is None:
        return None
    ok, message = compare(row, data)
    if not ok:
        return ok, message
    any_temp = next((r for r in THRESHOLDS if r.rule_id == "water.mineral_indicator_any_temp"
                     and r.analyte == analyte and valid_on(r, on)), None)
    if any_temp is None or compare(any_temp, data)[0]:
        return True, Said(f"{message} (qualifying indicator)", f"{message.zh}（达到界限指标）")
    warm = threshold_for(THRESHOLDS, "water.warm_source", on, category="mineral_water")
    temperature = decimal(data.get("water_temperature"))
    if warm is None or (temperature is not None and warm.holds(temperature)):
        told = "未记录" if temperature is None else f"{temperature} °C"
        return True, Said(f"{message} (qualifying indicator, source {temperature} °C)",
                          f"{message.zh}（达到界限指标，水源水温 {told}）")
    told = f"为 {temperature} °C" if temperature else "未记录"
    return False, Said(f"{row.standard}: {_name(analyte)} below {any_temp.limit} {any_temp.unit} qualifies "
                       f"only from a source ≥ {warm.limit} °C; data.water_temperature is {temperature or 'missing'}",
                       f"{row.standard}：{_name_zh(analyte)}低于 {any_temp.limit} {unit_name(any_temp.unit, 'zh')}时，"
                       f"仅当水源水温 ≥ {warm.limit} °C 方可作为界限指标；水源水温{told}")


def judge_test(data: Mapping[str, Any], on: date, category: str | None = None) -> tuple[str, str | None]:
    """Judge a lab `test` body's data against THRESHOLDS valid on `on`.

    Safety limits give "pass" or "fail"; a mineral-water qualifying indicator alone gives "pass"
    (met) or "info" (not met). An analyte with no row gives ("info", None); so does a category with none.
    Messages are `Said`: the English the API carries, with its Chinese.
    """
    analyte = analyte_of(data)
    rows = [r for r in THRESHOLDS if r.analyte == analyte and valid_on(r, on)
            and (r.rule_id in _SAFETY_IDS or r.rule_id == "water.mineral_indicator")]
    if not rows:
        return "info", None
    category = category or (data.get("category") if data.get("category") in CATEGORIES else None)
    if category is None:
        categories = sorted({r.category for r in rows})
        if len(categories) > 1:
            return "info", Said(
                f"{analyte}: set data.category ({', '.join(categories)}) to judge it against its limit",
                f"{_name_zh(analyte)}：请注明产品类别（{'、'.join(CATEGORY_NAMES[c][0] for c in categories)}），"
                f"以便按其限量判定")
        category = categories[0]
    safety = [r for r in rows if r.category == category and r.rule_id in _SAFETY_IDS]
    if safety:
        return judge_safety(safety, lambda row: compare(row, data))
    if category != "mineral_water":
        return "info", None
    qualified = _qualifies(data, on)
    if qualified is None:
        return "info", None
    ok, message = qualified
    return ("pass", message) if ok else ("info", Said(f"{message}: not a qualifying indicator",
                                                       f"{message.zh}：未达到界限指标"))


# ---- history helpers -----------------------------------------------------------------------------

def category_of(product: Any) -> str | None:
    """The category named by a product description ("光雾山天然矿泉水 550mL" -> "mineral_water")."""
    if not isinstance(product, str):
        return None
    text = product.lower()
    if "矿泉水" in text or "mineral" in text:
        return "mineral_water"
    if "蒸馏水" in text or "distilled" in text:
        return "distilled_water"
    if "水" in text or "water" in text:
        return "drinking_water"
    return None


def _first(bodies: Sequence[Mapping[str, Any]]) -> Mapping[str, Any]:
    return bodies[0] if bodies else {}


def _data(body: Mapping[str, Any]) -> Mapping[str, Any]:
    data = body.get("data", {})
    return data if isinstance(data, Mapping) else {}


def _source_kind(bodies: Sequence[Mapping[str, Any]]) -> str | None:
    """The kind of a source batch ("mineral", ...), or None when the batch is not a source."""
    first = _first(bodies)
    return str(_data(first).get("kind")) if first.get("type") == "source_registered" else None


def _batch_category(bodies: Sequence[Mapping[str, Any]], product: str | None = None) -> str | None:
    if _source_kind(bodies) is not None:
        return None
    first = _data(_first(bodies))
    declared = first.get("category")
    return declared if declared in CATEGORIES else category_of(first.get("product")) or category_of(product)


def _proposal_category(p: Proposal) -> str | None:
    declared = p.data.get("category")
    if declared in CATEGORIES:
        return str(declared)
    if _source_kind(p.history) is not None:
        return None
    return _batch_category(p.history, p.batch.product if p.batch else None) or category_of(p.data.get("product"))


_at = body_day


_claims = claims_of


def _is_ozone_line(bodies: Sequence[Mapping[str, Any]]) -> bool:
    treatment = _data(_first(bodies)).get("treatment")
    steps = treatment if isinstance(treatment, list) else [treatment]
    return any(isinstance(s, str) and any(w in s.lower() for w in OZONE_WORDS) for s in steps)


def _standard(category: str | None) -> str:
    return _GB8537 if category == "mineral_water" else _GB19298


# ---- hard rules ---------------------------------------------------------------------------------

def _kind_zh(kind: str) -> str:
    return SOURCE_KIND_NAMES[kind][0] if kind in SOURCE_KIND_NAMES else kind


def _check_source_survey(p: Proposal) -> Said | None:
    if p.data.get("kind") != "mineral" or isinstance(p.data.get("survey_ref"), str):
        return None
    return Said(f"{_GB8537}: a mineral-water source is registered with its GB/T 13727 survey report (data.survey_ref)",
                f"{_GB8537}：矿泉水水源登记须附 GB/T 13727 水源勘查报告（请填写水源勘查报告编号）")


def _check_mineral_source(p: Proposal) -> Said | None:
    if _proposal_category(p) != "mineral_water":
        return None
    if not p.inputs:
        return Said(f"{_GB8537}: 饮用天然矿泉水 is filled from a registered mineral-water source; no input names one",
                    f"{_GB8537}：饮用天然矿泉水须以已登记的矿泉水水源灌装；原料中没有已登记的矿泉水水源")
    for batch, bodies in p.inputs.items():
        kind = _source_kind(bodies)
        if kind == "mineral" or (kind is None and _batch_category(bodies) == "mineral_water"):
            continue
        found = f"a {kind} source" if kind else "not a registered source"
        found_zh = f"的水源类型为{_kind_zh(kind)}" if kind else "不是已登记的水源"
        return Said(f"{_GB8537}: 饮用天然矿泉水 is filled from a registered mineral-water source; input {batch} is {found}",
                    f"{_GB8537}：饮用天然矿泉水须以已登记的矿泉水水源灌装；原料批次 {batch} {found_zh}")
    return None


def _check_no_trucking(p: Proposal) -> Said | None:
    if _source_kind(p.history) != "mineral":
        return None
    return Said(f"{_GB8537}: mineral raw water may not be carried in containers to another site for filling",
                f"{_GB8537}：矿泉水原水不得用容器运往异地灌装")


def _check_fill_volume(p: Proposal) -> Said | None:
    if "size_ml" not in p.data and "count" not in p.data:
        return None  # aggregation (bottle -> case -> pallet), not filling
    size, count = decimal(p.data.get("size_ml")), decimal(p.data.get("count"))
    if size is None or count is None or size <= 0 or count <= 0 or count != count.to_integral_value():
        return Said(f'{_OURS}: filling records data.size_ml and a whole data.count, e.g. "550", "24000"',
                    f"{_OURS_ZH}：灌装须记录单瓶容量和整数的灌装瓶数，如 550 毫升、24000 瓶")
    if p.batch is None or p.batch.quantity is None:
        return None
    fills = [_data(b) for b in p.earlier("packed") if "size_ml" in _data(b)] + [p.data]
    if p.batch.unit == "LTR":
        litres = sum(((decimal(f.get("size_ml")) or _D(0)) * (decimal(f.get("count")) or _D(0)) / 1000
                      for f in fills), _D(0))
        if litres > p.batch.quantity:
            return Said(f"{_OURS}: {litres.normalize():f} L filled (count × size) > run volume {p.batch.quantity} L",
                        f"{_OURS_ZH}：已灌装 {litres.normalize():f} 升（瓶数 × 单瓶容量）> 生产批次水量 "
                        f"{p.batch.quantity} 升")
        return None
    if p.batch.unit in ("bottle", "bottles"):
        bottles = sum((decimal(f.get("count")) or _D(0) for f in fills), _D(0))
        if bottles > p.batch.quantity:
            return Said(f"{_OURS}: {bottles} bottles filled > the run's {p.batch.quantity}",
                        f"{_OURS_ZH}：已灌装 {bottles} 瓶 > 生产批次的 {p.batch.quantity} 瓶")
        return None
    return Said(f"{_OURS}: a filled run's volume is in LTR (or bottle), not {p.batch.unit}",
                f"{_OURS_ZH}：灌装的生产批次应以升（或瓶）计量，而不是{unit_name(p.batch.unit, 'zh') or '未注明单位'}")


def _check_mineral_claim(p: Proposal) -> Said | None:
    if not (_claims(p.data) & MINERAL_CLAIMS) and _proposal_category(p) != "mineral_water":
        return None
    reasons: list[Said] = []
    for body in p.earlier("test"):
        on = _at(body)
        qualified = None if on is None else _qualifies(_data(body), on)
        if qualified is None:
            continue
        ok, message = qualified
        if ok:
            return None
        reasons.append(message)
    found = "; ".join(reasons) if reasons else "no indicator test is recorded"
    found_zh = "；".join(r.zh for r in reasons) if reasons else "尚无界限指标的检测记录"
    return Said(f"{_GB8537}: a 矿泉水 label needs a test meeting at least one qualifying indicator "
                f"(Li, Sr, Zn, H₂SiO₃, Se, free CO₂, TDS); {found}",
                f"{_GB8537}：标注矿泉水须有检测结果达到至少一项界限指标（锂、锶、锌、偏硅酸、硒、游离二氧化碳、"
                f"溶解性总固体）；{found_zh}")


_VERBS: dict[str, Words] = {"ship": ("放行", "released"), "packed": ("包装", "packed"), "sell": ("销售", "sold")}


def _check_safety_fail(p: Proposal) -> Said | None:
    category = _proposal_category(p)
    for body in p.earlier("test"):
        on, data = _at(body), _data(body)
        if on is None:
            continue
        verdict, message = judge_test(data, on, data.get("category") if data.get("category") in CATEGORIES
                                      else category)
        if verdict == "fail":
            verb_zh, verb = _VERBS.get(p.type, (p.type, p.type))
            return Said(f"{message}; this batch failed its test and cannot be {verb}",
                        f"{said_in(message or '', 'zh_CN')}；该批次检测不合格，不得{verb_zh}")
    return None


def _check_release(p: Proposal) -> Said | None:
    category = _proposal_category(p)
    if category is None:
        return None  # a source batch (see water.no_trucking) or not water
    on = p.at.date()
    needed = sorted({r.analyte for r in THRESHOLDS if r.rule_id in _MICRO_IDS and r.category == category
                     and valid_on(r, on)})
    if _is_ozone_line(p.history):
        needed.append("bromate")
    tests = p.earlier("test")
    standard = _standard(category)
    for analyte in needed:
        results = [b for b in tests if analyte_of(_data(b)) == analyte]
        ozone, ozone_zh = (" (ozone line)", "（臭氧消毒生产线）") if analyte == "bromate" else ("", "")
        if not results:
            return Said(f"{standard}: release needs a passing {_name(analyte)} test{ozone}; none is recorded",
                        f"{standard}：放行前须有合格的{_name_zh(analyte)}检测{ozone_zh}；尚无检测记录")
        latest = results[-1]
        verdict, message = judge_test(_data(latest), _at(latest) or on, category)
        if verdict != "pass":
            return Said(f"{message or standard}: release needs a passing {_name(analyte)} test",
                        f"{said_in(message, 'zh_CN') if message else standard}；放行前须有合格的{_name_zh(analyte)}检测")
    return None


def _check_sc_licence(p: Proposal) -> Said | None:
    """食品生产许可管理办法: packaged water is made under an SC licence of food category 106 (饮料; 《食品生产许可
    分类目录》 0601 瓶(桶)装饮用水), the bottler's own when it has one on record; judged when the pack names one."""
    number = p.data.get("sc_licence")
    if number is None:
        return None
    return sc_problem(number, "water") or sc_not_on_record(
        number, p.orgs[p.org].licences.get("sc") if p.org in p.orgs else None)


HARD_RULES = (
    Rule("water.source_survey", frozenset({"source_registered"}), _check_source_survey, "data.survey_ref",
         _GB8537),
    Rule("water.mineral_source", frozenset({"transform"}), _check_mineral_source, "data.inputs", _GB8537),
    Rule("water.no_trucking", frozenset({"ship"}), _check_no_trucking, "batch", _GB8537),
    Rule("water.fill_volume", frozenset({"packed"}), _check_fill_volume, "data.count",
         _OURS),
    Rule("water.mineral_claim", frozenset({"packed"}), _check_mineral_claim, "data.claims", _GB8537),
    Rule("water.safety_fail", frozenset({"packed", "ship", "sell"}), _check_safety_fail, "batch",
         f"{_GB19298} / {_GB8537}"),
    Rule("water.release", frozenset({"ship"}), _check_release, "batch", f"{_GB19298} / {_GB8537}"),
    Rule("water.sc_licence", frozenset({"packed"}), _check_sc_licence, "data.sc_licence", LICENCE_RULE),
)

# ---- soft rules -----------------------------------------------------------------------------------


def _warn_indicator_stability(p: Proposal) -> Said | None:
    if _source_kind(p.history) is None:
        return None
    registered = _data(_first(p.history)).get("indicators")
    analyte = analyte_of(p.data)
    row = threshold_for(THRESHOLDS, "water.indicator_stability", p.at.date(), category="source")
    if not isinstance(registered, Mapping) or row is None or row.limit is None:
        return None
    base = next((decimal(v) for k, v in registered.items() if analyte_of({"analyte": k}) == analyte), None)
    value, factor = decimal(p.data.get("value")), _factor(p.data.get("unit"), "mg/L")
    if base is None or base == 0 or value is None or factor is None:
        return None
    drift = abs(value * factor - base) / base * 100
    if drift <= row.limit:
        return None
    measured, mg_l = (value * factor).normalize(), unit_name("mg/L", "zh")
    return Said(f"{row.standard}: {_name(analyte)} {measured:f} mg/L is "
                f"{drift.quantize(_D('0.1'))} % from the {base} mg/L registered (more than ±{row.limit} %)",
                f"{_std_zh(row.standard)}：{_name_zh(analyte)} {measured:f} {mg_l}，与登记值 {base} {mg_l} 相差 "
                f"{drift.quantize(_D('0.1'))}%（超过 ±{row.limit}%）")


def _warn_lot_code(p: Proposal) -> Said | None:
    lot = p.data.get("lot")
    if _proposal_category(p) is None or not isinstance(lot, str) or LOT_CODE.match(lot):
        return None
    return Said(f"{_OURS}: a run lot is line-date-time, e.g. L2-20260315-0800; got {lot!r}",
                f"{_OURS_ZH}：生产批号应为“生产线-日期-时间”，如 L2-20260315-0800；实为“{lot}”")


def _warn_mining_licence(p: Proposal) -> Said | None:
    """A mineral-water source records the bottler's 采矿许可证 (矿产资源法: mineral water is a mineral resource)."""
    if p.data.get("kind") != "mineral" or (isinstance(p.data.get("mining_licence_no"), str)
                                           and p.data["mining_licence_no"].strip()):
        return None
    return Said("矿产资源法 (2024): a natural mineral water source is mined under a 采矿许可证; record "
                "data.mining_licence_no",
                "矿产资源法 (2024)：饮用天然矿泉水属矿产资源，须持采矿许可证开采；请填写采矿许可证号")


SOFT_RULES = (
    Rule("water.indicator_stability", frozenset({"test"}), _warn_indicator_stability, "data.value",
         _OURS),
    Rule("water.lot_code", frozenset({"transform"}), _warn_lot_code, "data.lot", _OURS),
    Rule("water.mining_licence", frozenset({"source_registered"}), _warn_mining_licence, "data.mining_licence_no",
         "矿产资源法 (2024)"),
)

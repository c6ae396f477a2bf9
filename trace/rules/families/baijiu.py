"""Baijiu (白酒, "两瓶酒"): from the fermentation pit to the bottle on the shelf (domain.md §4).

Event types of this family (declared on import: DECLARATIONS, with labels and units), with their KDEs:
- `fermented` (on a batch of fermented grains, 酒醅): pit (窖池 id), pit_age (years), round (轮次),
  grain_lots, qu_lots (曲), kg, sealed (YYYY-MM-DD); optional opened (not before sealed).
- `commissioned` (on a batch of bottles): first_serial, last_serial (same prefix, numeric tails of
  one width), count (= last − first + 1).
Shared steps judged here (the KDEs the rules read are added with `extend`, so pages name them):
transform (process "distillation" | "blending" | "bottling"), stored (ageing: start date, vessel,
volume, abv), test, packed (data.label), ship, sell.
Messages are `Said`: the English the API has always given, with the Chinese beside it.
KDEs the rules read: a transform's output `abv` (%vol at 20 °C); a blending input's `abv` (else the
input's last ethanol test, stored abv or own abv); blending `water` (L) and `alcohol_loss` (L of
pure alcohol); bottling `bottle_ml`; `age_claim` (whole years) on a blending/bottling transform or
in the label; a methanol/cyanide test's `abv` (else an ethanol test of the same sample, else the
batch's abv); packed `label` {abv, abv_unit "%vol", warning, sc, strength "high"|"low", age_claim}.

Hard rules (the event is refused; the message cites the standard and its edition):
- baijiu.contaminants: a methanol (≤ 0.6 g/L grain-based, ≤ 2.0 g/L other, at 100 %vol), cyanide
  (≤ 8.0 mg/L at 100 %vol) or lead (≤ 0.5 mg/kg) result over the limit stops packing, shipping and
  selling the batch (GB 2757-2012, GB 2762-2022), and stops it being blended or bottled, so the
  result is not lost across the lineage edge (re-distil instead).
- baijiu.blend_balance: Σ(Vᵢ × ABVᵢ) − V_out × ABV_out ≤ declared alcohol_loss + 0.5 % of
  Σ(Vᵢ × ABVᵢ); a gain of more than 0.5 % is refused too (undeclared alcohol). Our rule.
- baijiu.bottling_volume: bottles × bottle_ml ≤ the blend volume drawn. Our rule.
- baijiu.age_claim: "N 年" needs every input's ageing start ≥ N years before the claiming
  transformation, and a label's claim needs the same of its own batch (our rule; a transformation
  that made the claim is trusted, since it was checked when appended).
- baijiu.label: `packed` states alcohol in %vol and the warning "过量饮酒有害健康" (GB 2757-2012).
- baijiu.sc_licence: `packed` names an SC licence of food category 115 (食品生产许可管理办法 2020;
  《食品生产许可分类目录》 15 酒类 / 1501 白酒), and the distillery's own when it has one on record.
- baijiu.strength: a label declaring "high" (40 < x ≤ 68 %vol) or "low" (25 ≤ x ≤ 40 %vol)
  strength states an alcohol in that range (GB/T 10781.1-2021; unverified).
- baijiu.serials: commissioned serial ranges never overlap and never outnumber the bottles. Our rule.
- baijiu.category: a label of solid-state baijiu (category "solid_state" or product standard GB/T 10781.x /
  GB/T 26760) lists neither edible alcohol nor additives among its ingredients; a label listing
  additives declares 配制酒 ("prepared") (GB/T 17204-2021, in force 2022-06-01 ✔; GB/T 10781.1-2021 in
  force 2022-04-01, secondary source). The ingredient words (EDIBLE_ALCOHOL, ADDITIVES) are ours.
Label KDEs (data.label, all optional so older records stay valid): standard, category, flavour (香型),
grade (优级/一级), ingredients, production_date, net_content. GB 2757-2012's limits apply from
2013-02-01 (its implementation date); GB/T 10781.1-2021's from 2022-04-01.
Soft rules (a warning the regulator sees):
- baijiu.distillation_abv: a distillate's %vol missing or outside 30–80 (our rule).
- baijiu.label_abv: measured alcohol differs from the label by more than 1.0 %vol (GB/T 10781.1-2021).
- baijiu.blend_volume: raw volume out of line (more than the inputs, or shrunk by more than the 5 %
  ethanol–water contraction allows); volumes are not additive, so this only warns.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from farmtrace.ledger.errors import InvalidEventError
from farmtrace.ledger.events import EventType, require_decimal
from farmtrace.rules.declare import (STEP_NAMES, VALUE_NAMES, Declaration, Kde, Said, declare, extend, registered,
                                     unit_name)
from farmtrace.rules.families import (Proposal, Rule, Threshold, analyte_zh, bodies_of, body_time, convert_units,
                                      decimal, fmt_decimal, parse_day, proposal_inputs, threshold_for)
from farmtrace.rules.licences import sc_not_on_record
from farmtrace.rules.steps import PLACE, _free
from farmtrace.rules.certified import CERTIFIED_KDES

FAMILY = "baijiu"

Body = Mapping[str, Any]

COUNT = re.compile(r"^[1-9]\d{0,8}$")
SERIAL = re.compile(r"^([\x21-\x7e]*?)(\d+)$")
SC_LICENCE = re.compile(r"^SC(\d{3})\d{11}$")
WARNING = "过量饮酒有害健康"
LIQUOR_CATEGORY = "115"
DISTILLATION = frozenset({"distillation", "蒸馏"})
BLENDING = frozenset({"blending", "勾调"})
BOTTLING = frozenset({"bottling", "灌装"})
LITRES = frozenset({"LTR", "L"})
ANALYTES = {  # what labs write -> our analyte name
    "methanol": "methanol", "甲醇": "methanol",
    "cyanide": "cyanide", "hcn": "cyanide", "氰化物": "cyanide", "cyanide (as hcn)": "cyanide",
    "lead": "lead", "pb": "lead", "铅": "lead",
    "ethanol": "ethanol", "alcohol": "ethanol", "abv": "ethanol", "酒精度": "ethanol", "乙醇": "ethanol",
}
AT_100_VOL = frozenset({"methanol", "cyanide"})  # GB 2757-2012: limits apply at 100 %vol
CONTAMINANTS = ("methanol", "cyanide", "lead")
HEALTH = "GB 2757-2012"
LICENCE = "食品生产许可管理办法 (2020)"
QUALITY = "GB/T 10781.1-2021"
OURS = "farmtrace rule (domain.md §4.1)"
OURS_ZH = "farmtrace 规则（domain.md §4.1）"
STANDARDS_ZH = {OURS: OURS_ZH, "farmtrace rule": "farmtrace 规则"}  # how our own rules are cited in Chinese
L_ZH, ML_ZH, BOTTLE_ZH = unit_name("LTR", "zh"), unit_name("mL", "zh"), unit_name("bottle", "zh")
STRENGTHS: dict[str, tuple[str, str]] = {"high": ("高度酒", "high strength"), "low": ("低度酒", "low strength")}
OUR_RULES_FROM = date(2000, 1, 1)  # our own rules apply to every event in the ledger

# ---- thresholds (domain.md §4.2); rows are picked by the date of the event they judge ------------------

THRESHOLDS: tuple[Threshold, ...] = (
    Threshold("baijiu.contaminants", "methanol", "grain", "<=", Decimal("0.6"), None, "g/L", HEALTH,
              date(2013, 2, 1), status="confirmed"),
    Threshold("baijiu.contaminants", "methanol", "other", "<=", Decimal("2.0"), None, "g/L", HEALTH,
              date(2013, 2, 1), status="confirmed"),
    Threshold("baijiu.contaminants", "cyanide", "baijiu", "<=", Decimal("8.0"), None, "mg/L", HEALTH,
              date(2013, 2, 1), status="confirmed"),
    Threshold("baijiu.contaminants", "lead", "distilled_liquor", "<=", Decimal("0.5"), None, "mg/kg",
              "GB 2762-2022", date(2023, 6, 30), status="unverified"),
    Threshold("baijiu.distillation_abv", "ethanol", "distillate", "range", Decimal("30"), Decimal("80"), "%vol",
              "farmtrace rule", OUR_RULES_FROM, status="unverified"),
    Threshold("baijiu.label_abv", "ethanol_deviation", "label", "<=", Decimal("1.0"), None, "%vol", QUALITY,
              date(2022, 4, 1), status="confirmed"),
    Threshold("baijiu.strength", "ethanol", "high", "range", Decimal("40"), Decimal("68"), "%vol", QUALITY,
              date(2022, 4, 1), status="unverified"),  # 40 itself is low strength
    Threshold("baijiu.strength", "ethanol", "low", "range", Decimal("25"), Decimal("40"), "%vol", QUALITY,
              date(2022, 4, 1), status="unverified"),
    Threshold("baijiu.blend_balance", "pure_alcohol_difference", "blend", "<=", Decimal("0.5"), None, "%",
              "farmtrace rule", OUR_RULES_FROM, status="unverified"),
    Threshold("baijiu.blend_volume", "volume_contraction", "blend", "<=", Decimal("5"), None, "%",
              "farmtrace rule", OUR_RULES_FROM, status="unverified"),
    Threshold("baijiu.blend_volume", "volume_gain", "blend", "<=", Decimal("0.5"), None, "%",
              "farmtrace rule", OUR_RULES_FROM, status="unverified"),
)


# ---- validators of this family's event types ---------------------------------------------------------

_day = parse_day


def _require_date(data: Mapping[str, Any], name: str, *, optional: bool = False) -> date | None:
    if name not in data and optional:
        return None
    day = _day(data.get(name))
    if day is None:
        raise InvalidEventError(f"data.{name} must be a date such as 2026-03-15, got {data.get(name)!r}",
                                field=f"data.{name}")
    return day


def _require_lots(data: Mapping[str, Any], name: str) -> None:
    value = data.get(name)
    if not isinstance(value, list) or not 1 <= len(value) <= 100 or not all(
            isinstance(lot, str) and lot.strip() and len(lot) <= 64 for lot in value):
        raise InvalidEventError(f"data.{name} must list 1-100 lot ids", field=f"data.{name}")


def _require_count(data: Mapping[str, Any], name: str) -> int:
    value = data.get(name)
    if not isinstance(value, str) or not COUNT.match(value):
        raise InvalidEventError(f'data.{name} must be a whole number as a string, e.g. "12", got {value!r}',
                                field=f"data.{name}")
    return int(value)


def _pit_age(data: Mapping[str, Any], name: str) -> None:
    require_decimal(data, name)
    if str(data[name]).startswith("-"):
        raise InvalidEventError("data.pit_age must not be negative", field="data.pit_age")


def _opened_after_sealed(data: Mapping[str, Any]) -> None:
    sealed, opened = _day(data.get("sealed")), _day(data.get("opened"))
    if sealed and opened and opened < sealed:
        raise InvalidEventError(f"data.opened ({opened}) is before data.sealed ({sealed})", field="data.opened")


def _serial(data: Mapping[str, Any], name: str) -> tuple[str, str]:
    value = data.get(name)
    match = SERIAL.match(value) if isinstance(value, str) and len(value) <= 20 else None
    if match is None:
        raise InvalidEventError(f"data.{name} must be at most 20 printable characters ending in digits (GS1 AI 21), "
                                f"got {value!r}", field=f"data.{name}")
    return match.group(1), match.group(2)


def _last_serial(data: Mapping[str, Any], name: str) -> None:
    """The last serial, and its place after the first (checked just before, so it is well formed)."""
    (prefix, first), (last_prefix, last) = _serial(data, "first_serial"), _serial(data, name)
    if (prefix, len(first)) != (last_prefix, len(last)):
        raise InvalidEventError("data.last_serial must share the first serial's prefix and digit count",
                                field="data.last_serial")
    if int(last) < int(first):
        raise InvalidEventError("data.last_serial is before data.first_serial", field="data.last_serial")


def _serial_count(data: Mapping[str, Any], name: str) -> None:
    """The bottle count, which is the size of the serial range (both checked just before)."""
    (_, first), (_, last) = _serial(data, "first_serial"), _serial(data, "last_serial")
    count = _require_count(data, name)
    if count != int(last) - int(first) + 1:
        raise InvalidEventError(f"data.count is {count}, the range holds {int(last) - int(first) + 1} serials",
                                field="data.count")


FERMENTED = declare(Declaration(
    "fermented", "入窖发酵", "Fermented in pit", kdes=(
        Kde("pit", "text", "窖池", "Pit", max_len=64, help_zh="窖池编号，如 P-07", help_en="pit id, e.g. P-07"),
        Kde("pit_age", "decimal", "窖龄", "Pit age", unit="year", check=_pit_age,
            help_zh="窖池使用年数，如 32", help_en="years the pit has been in use"),
        Kde("round", "count", "轮次", "Round", check=_require_count,
            help_zh="本窖第几轮发酵，整数", help_en="fermentation round of this pit, a whole number"),
        Kde("grain_lots", "list", "原粮批号", "Grain lots", check=_require_lots,
            help_zh="高粱、大米、糯米、小麦、玉米等原粮批号", help_en="sorghum, rice, glutinous rice, wheat, maize lots"),
        Kde("qu_lots", "list", "大曲批号", "Qu (starter) lots", check=_require_lots),
        Kde("kg", "decimal", "入窖粮醅重量", "Grains in the pit", unit="KGM", positive=True),
        Kde("sealed", "date", "封窖日期", "Sealed on", check=_require_date, help_zh="如 2026-03-15",
            help_en="e.g. 2026-03-15"),
        Kde("opened", "date", "开窖日期", "Opened on", required=False, check=_require_date,
            help_zh="不早于封窖日期", help_en="not before the sealing date"),
        PLACE),
    check=_opened_after_sealed, family=FAMILY,
    help_zh="一窖酒醅从封窖到开窖：窖池、窖龄、轮次、原粮和大曲批号", help_en="one pit of fermented grains, sealed to opened",
    example={"pit": "P-07", "pit_age": "32", "round": "3", "grain_lots": ["GL-2509-01"], "qu_lots": ["Q-2507-02"],
             "kg": "8000", "sealed": "2025-09-01", "opened": "2025-10-20", "place": "平昌县 白酒工业园 老窖池"}))
COMMISSIONED = declare(Declaration(
    "commissioned", "赋码", "Serials commissioned", kdes=(
        Kde("first_serial", "text", "起始序列号", "First serial", check=_serial,
            help_zh="最多 20 个字符，以数字结尾 (GS1 AI 21)", help_en="at most 20 characters ending in digits (GS1 AI 21)"),
        Kde("last_serial", "text", "终止序列号", "Last serial", check=_last_serial,
            help_zh="前缀和位数与起始序列号相同", help_en="same prefix and digit count as the first serial"),
        Kde("count", "count", "瓶数", "Bottles", unit="bottle", check=_serial_count,
            help_zh="等于序列号区间的个数", help_en="the number of serials in the range")),
    family=FAMILY, help_zh="给一批瓶装酒的每一瓶赋予唯一序列号", help_en="one serial per bottle of a batch",
    example={"first_serial": "PC2603120000001", "last_serial": "PC2603120000600", "count": "600"}))

DECLARATIONS: tuple[Declaration, ...] = (FERMENTED, COMMISSIONED)
EVENT_TYPES: tuple[EventType, ...] = registered(DECLARATIONS)

# ---- KDEs this family's rules read on shared steps --------------------------------------------------------

ABV = Kde("abv", "decimal", "酒精度", "Alcohol", required=False, check=_free, unit="%vol",
          help_zh="20 °C 时的酒精度", help_en="% by volume at 20 °C")
AGE_CLAIM = Kde("age_claim", "count", "年份声明", "Age claim", required=False, check=_free, unit="year",
                help_zh="整数年，如 5", help_en='whole years, e.g. "5"')
extend("transform", FAMILY, (
    ABV,
    Kde("grade", "text", "等级", "Grade", required=False, check=_free, help_zh="基酒段次或等级",
        help_en="cut or grade of a base liquor"),
    Kde("still", "text", "甑桶", "Still", required=False, check=_free),
    Kde("water", "decimal", "加浆水量", "Water added", required=False, check=_free, unit="LTR"),
    Kde("alcohol_loss", "decimal", "纯酒精损耗", "Pure-alcohol loss", required=False, check=_free, unit="LTR",
        help_zh="勾调中损耗的纯酒精，升", help_en="litres of pure alcohol lost in blending"),
    Kde("recipe", "text", "勾调配方", "Blend recipe", required=False, check=_free),
    AGE_CLAIM,
    Kde("bottle_ml", "decimal", "每瓶容量", "Bottle size", required=False, check=_free, unit="mL"),
    Kde("line", "text", "灌装线", "Bottling line", required=False, check=_free),
))
extend("stored", FAMILY, (
    Kde("vessel", "text", "贮酒容器", "Vessel", required=False, check=_free, help_zh="陶坛或酒罐编号",
        help_en="jar or tank id"),
    Kde("start", "date", "贮存开始日期", "Ageing started", required=False, check=_free),
    Kde("volume", "decimal", "贮存量", "Volume", required=False, check=_free, unit="LTR"),
    ABV,
))
extend("test", FAMILY, (
    Kde("abv", "decimal", "样品酒精度", "Sample alcohol", required=False, check=_free, unit="%vol",
        help_zh="甲醇、氰化物按 100%vol 折算时使用", help_en="used to judge methanol and cyanide at 100 %vol"),
))
CATEGORIES: dict[str, tuple[str, str]] = {  # GB/T 17204-2021 classes of baijiu and 配制酒
    "solid_state": ("固态法白酒", "solid-state baijiu"), "solid_liquid": ("固液法白酒", "solid-liquid baijiu"),
    "liquid": ("液态法白酒", "liquid-state baijiu"), "prepared": ("配制酒", "prepared liquor"),
}
FLAVOURS: dict[str, tuple[str, str]] = {
    "nongxiang": ("浓香型", "strong aroma"), "jiangxiang": ("酱香型", "sauce aroma"),
    "qingxiang": ("清香型", "light aroma"), "mixiang": ("米香型", "rice aroma"), "jianxiang": ("兼香型", "mixed aroma"),
    "fengxiang": ("凤香型", "Feng aroma"), "other": ("其他香型", "other"),
}
GRADES: dict[str, tuple[str, str]] = {"premium": ("优级", "premium"), "first": ("一级", "first grade")}
SOLID_STATE_STANDARDS = ("GB/T 10781", "GB/T 26760")  # 浓/清/米香型 and 酱香型: solid-state products
EDIBLE_ALCOHOL = ("食用酒精", "edible alcohol", "酒精")
ADDITIVES = ("香精", "香料", "甜味剂", "食品添加剂", "糖精", "甜蜜素", "安赛蜜", "三氯蔗糖", "flavouring", "additive",
             "sweetener")
CATEGORY_RULE = "GB/T 17204-2021 / GB/T 10781.1-2021"
LABEL_ITEMS = (
    Kde("abv", "decimal", "酒精度", "Alcohol", unit_kde="abv_unit"),
    Kde("abv_unit", "text", "酒精度单位", "Alcohol unit", hidden=True),
    Kde("strength", "choice", "酒度类别", "Strength", required=False, choices=STRENGTHS),
    Kde("age_claim", "count", "年份声明", "Age claim", required=False, unit="year"),
    Kde("warning", "text", "警示语", "Warning"),
    Kde("sc", "text", "食品生产许可证编号", "SC licence"),
    Kde("standard", "text", "产品标准号", "Product standard", required=False, help_zh="如 GB/T 10781.1",
        help_en="e.g. GB/T 10781.1"),
    Kde("category", "choice", "产品类别", "Category", required=False, choices=CATEGORIES),
    Kde("flavour", "choice", "香型", "Flavour type", required=False, choices=FLAVOURS),
    Kde("grade", "choice", "质量等级", "Grade", required=False, choices=GRADES),
    Kde("ingredients", "list", "配料", "Ingredients", required=False),
    Kde("production_date", "date", "生产日期", "Production date", required=False),
    Kde("net_content", "text", "净含量", "Net content", required=False, help_zh="如 500 mL", help_en="e.g. 500 mL"),
)
extend("packed", FAMILY, (
    Kde("case_of", "count", "每箱瓶数", "Bottles per case", required=False, check=_free, unit="bottle"),
    Kde("label", "object", "标签", "Label", required=False, check=_free, items=LABEL_ITEMS),
))
extend("observe", FAMILY, CERTIFIED_KDES)  # a `certified` step: the distillery's GI and the like (rules/certified.py)
STEP_NAMES.update({"qu_making": ("制曲", "Qu making"), "grain_received": ("原粮入库", "Grain received"),
                   "pit_sealed": ("封窖", "Pit sealed"), "pit_opened": ("开窖", "Pit opened")})
VALUE_NAMES.update({"distillation": ("蒸馏", "distillation"), "blending": ("勾调", "blending"),
                    "bottling": ("灌装", "bottling"), "蒸馏": ("蒸馏", "distillation"),
                    "勾调": ("勾调", "blending"), "灌装": ("灌装", "bottling")})


# ---- reading bodies -----------------------------------------------------------------------------------

def _data(body: Body | None) -> Mapping[str, Any]:
    data = body.get("data") if body is not None else None
    return data if isinstance(data, Mapping) else {}


_when = body_time


_fmt = fmt_decimal


_of = bodies_of


def _process(body: Body | None) -> str:
    return str(_data(body).get("process", "")).strip().lower()


def _genesis(p: Proposal) -> Body | None:
    """The body that started the batch: the proposal itself for a transformation."""
    if p.batch is None or p.type == "transform":
        return {"type": p.type, "at": p.at, "data": p.data}
    return p.history[0] if p.history else None


_inputs = proposal_inputs


def _row(rule_id: str, analyte: str, on: date, category: str | None = None) -> Threshold | None:
    return threshold_for([row for row in THRESHOLDS if row.analyte == analyte], rule_id, on, category=category)


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


# ---- lab results ----------------------------------------------------------------------------------------

_UNITS = {  # unit -> (dimension, factor to the dimension's base unit)
    "g/l": ("volume", Decimal(1000)), "mg/l": ("volume", Decimal(1)), "µg/l": ("volume", Decimal("0.001")),
    "μg/l": ("volume", Decimal("0.001")), "ug/l": ("volume", Decimal("0.001")),
    "mg/kg": ("mass", Decimal(1)), "µg/kg": ("mass", Decimal("0.001")), "μg/kg": ("mass", Decimal("0.001")),
    "ug/kg": ("mass", Decimal("0.001")),
}


def _convert(value: Decimal, unit: Any, to: str) -> Decimal | None:
    """`value` in `unit` expressed in `to`, or None when the units do not compare."""
    return convert_units(value, unit, to, _UNITS)


def analyte_of(data: Mapping[str, Any]) -> str:
    raw = str(data.get("analyte", "")).strip()
    return ANALYTES.get(raw.lower(), ANALYTES.get(raw, raw.lower()))


def _std_zh(standard: str) -> str:
    """A standard as cited in Chinese: GB numbers verbatim, our own rules in words."""
    return STANDARDS_ZH.get(standard, standard)


def _shown(value: Any) -> str:
    """A recorded value quoted in a Chinese message (what `!r` shows in the English one)."""
    if value is None:
        return "（空）"
    return f"“{value}”" if isinstance(value, str) else str(value)


def judge_test(data: Mapping[str, Any], on: date, category: str | None = None) -> tuple[str, Said | None]:
    """The verdict on a lab `test` body's data: ("pass" | "fail" | "info", message citing the standard).

    Methanol and cyanide are judged at 100 %vol: measured × 100 / data.abv (the sample's %vol).
    `category` picks the methanol row: "grain" (default, the first row) or "other" raw materials.
    A null value with an LOD at or below the limit passes. "info": no threshold applies or the
    result cannot be compared.
    """
    name = analyte_of(data)
    rows = [row for row in THRESHOLDS if row.rule_id == "baijiu.contaminants" and row.analyte == name]
    if category is not None and any(row.category == category for row in rows):
        rows = [row for row in rows if row.category == category]
    row = threshold_for(rows, "baijiu.contaminants", on) if rows else None
    if row is None or row.limit is None:
        return "info", None
    unit, note, note_zh = data.get("unit"), "", ""
    std, zh = row.standard, analyte_zh(name)
    limit_unit = unit_name(row.unit, "zh")
    value = decimal(data.get("value")) if data.get("value") is not None else decimal(data.get("lod"))
    if value is None:
        return "info", Said(f"{row.standard}: {name} has neither a value nor an LOD", f"{std}：{zh}既无结果也无检出限")
    measured = _convert(value, unit, row.unit)
    if measured is None:
        return "info", Said(f"{row.standard}: {name} is in {unit}, the limit in {row.unit}; cannot compare",
                            f"{std}：{zh}的单位为 {unit_name(unit, 'zh') or _shown(unit)}，限量的单位为 {limit_unit}，无法比较")
    if name in AT_100_VOL:
        abv = decimal(data.get("abv"))
        if abv is None or abv <= 0:
            return "info", Said(
                f"{row.standard}: {name} is limited at 100 %vol; the sample's alcohol (data.abv) is needed",
                f"{std}：{zh}限量按 100%vol 酒精度折算，需要填写样品的酒精度")
        shown = data.get('value') or data.get('lod')
        measured, note = measured * 100 / abv, f" at 100 %vol (measured {shown} {unit}, {_fmt(abv)} %vol)"
        note_zh = f"（按 100%vol 折算；实测 {shown} {unit_name(unit, 'zh')}，酒精度 {_fmt(abv)}%vol）"
    at, limit = f"{_fmt(measured)} {row.unit}{note}", f"{_fmt(row.limit)} {row.unit}"
    at_zh, limit_zh = f"{_fmt(measured)} {limit_unit}{note_zh}", f"{_fmt(row.limit)} {limit_unit}"
    if data.get("value") is None:
        if measured <= row.limit:
            return "pass", Said(f"{row.standard}: {name} not detected, LOD {at} ≤ {limit}",
                                f"{std}：{zh}未检出，检出限 {at_zh} ≤ {limit_zh}")
        return "info", Said(f"{row.standard}: {name} not detected, but LOD {at} is above the limit",
                            f"{std}：{zh}未检出，但检出限 {at_zh} 高于限量 {limit_zh}")
    if row.holds(measured):
        return "pass", Said(f"{row.standard}: {name} {at} ≤ {limit}", f"{std}：{zh} {at_zh} ≤ {limit_zh}")
    return "fail", Said(f"{row.standard}: {name} {at} > {limit}", f"{std}：{zh} {at_zh} > {limit_zh}")


def _ethanol(bodies: Sequence[Body], sample: Any = None) -> Decimal | None:
    """The batch's alcohol %vol: its last ethanol test (of `sample` when given), else stored or own abv."""
    tests = [b for b in _of(bodies, "test") if analyte_of(_data(b)) == "ethanol" and _data(b).get("value") is not None
             and (sample is None or _data(b).get("sample") == sample)]
    if tests:
        return decimal(_data(tests[-1]).get("value"))
    if sample is not None:
        return None
    for body in [*reversed(_of(bodies, "stored")), *bodies[:1]]:
        abv = decimal(_data(body).get("abv"))
        if abv is not None:
            return abv
    return None


def _failing(bodies: Sequence[Body]) -> Said | None:
    """The first methanol / cyanide / lead result of these bodies over its limit, as a message."""
    for body in _of(bodies, "test"):
        data = dict(_data(body))
        if analyte_of(data) not in CONTAMINANTS:
            continue
        if analyte_of(data) in AT_100_VOL and decimal(data.get("abv")) is None:
            abv = _ethanol(bodies, data.get("sample"))
            abv = abv if abv is not None else _ethanol(bodies)
            if abv is not None:
                data["abv"] = str(abv)
        when, category = _when(body), data.get("category")
        if when is None:  # the envelope always has `at`; rules stay deterministic
            continue
        verdict, message = judge_test(data, when.date(), category if isinstance(category, str) else None)
        if verdict == "fail" and message is not None:
            return Said(f"{message} (report {data.get('report_no')})", f"{message.zh}（检测报告 {data.get('report_no')}）")
    return None


# ---- hard rules ---------------------------------------------------------------------------------------------

def _contaminants(p: Proposal) -> Said | None:
    if p.type == "transform":
        if _process(_genesis(p)) not in BLENDING | BOTTLING:
            return None
        for batch, bodies in p.inputs.items():
            failing = _failing(bodies)
            if failing:
                return Said(f"{failing}: input {batch} may not be blended or bottled",
                            f"{failing.zh}：原料批次 {batch} 不得勾调或灌装")
        return None
    failing = _failing(p.history) or next((f for b in p.inputs.values() if (f := _failing(b))), None)
    if failing is None:
        return None
    return Said(f"{failing}; the batch may not be packed, shipped or sold", f"{failing.zh}；本批次不得包装、发货或销售")


def _input_abv(p: Proposal, item: Mapping[str, Any]) -> Decimal | None:
    stated = decimal(item.get("abv"))
    return stated if stated is not None else _ethanol(p.inputs.get(str(item.get("batch")), ()))


def _blend_balance(p: Proposal) -> Said | None:
    if _process(_genesis(p)) not in BLENDING:
        return None
    row = _row("baijiu.blend_balance", "pure_alcohol_difference", p.at.date())
    if row is None or row.limit is None:
        return None
    pure_in = Decimal(0)
    for item in _inputs(p):
        volume, abv = decimal(item.get("quantity")), _input_abv(p, item)
        if volume is None or item.get("unit") not in LITRES or abv is None:
            return Said(f"{OURS}: blending input {item.get('batch')} needs its volume in LTR and its %vol (inputs[].abv)",
                        f"{OURS_ZH}：勾调原料 {item.get('batch')} 须以{L_ZH}记录体积，并注明酒精度（%vol）")
        pure_in += volume * abv / 100
    volume_out, abv_out = decimal(p.data.get("quantity")), decimal(p.data.get("abv"))
    if volume_out is None or p.data.get("unit") not in LITRES or abv_out is None:
        return Said(f"{OURS}: a blend records its volume in LTR and its %vol (data.abv)",
                    f"{OURS_ZH}：勾调酒须以{L_ZH}记录体积，并注明酒精度（%vol）")
    pure_out = volume_out * abv_out / 100
    loss = decimal(p.data.get("alcohol_loss")) if "alcohol_loss" in p.data else Decimal(0)
    if loss is None:
        return Said(f"{OURS}: data.alcohol_loss is litres of pure alcohol as a decimal string",
                    f"{OURS_ZH}：纯酒精损耗须填写以{L_ZH}计的数字")
    tolerance = pure_in * row.limit / 100
    balance = (f"pure alcohol in {_fmt(pure_in)} L, out {_fmt(pure_out)} L (Σ V×ABV); declared loss {_fmt(loss)} L, "
               f"tolerance {_fmt(row.limit)} % = {_fmt(tolerance)} L")
    balance_zh = (f"投入纯酒精 {_fmt(pure_in)} {L_ZH}，产出 {_fmt(pure_out)} {L_ZH}（Σ 体积×酒精度）；"
                  f"申报损耗 {_fmt(loss)} {L_ZH}，允差 {_fmt(row.limit)}% = {_fmt(tolerance)} {L_ZH}")
    if pure_in - pure_out > loss + tolerance:
        return Said(f"{OURS}: {balance}; {_fmt(pure_in - pure_out)} L unaccounted for",
                    f"{OURS_ZH}：{balance_zh}；有 {_fmt(pure_in - pure_out)} {L_ZH}纯酒精去向不明")
    if pure_out - pure_in > tolerance:
        return Said(f"{OURS}: {balance}; {_fmt(pure_out - pure_in)} L more alcohol out than in (an undeclared input?)",
                    f"{OURS_ZH}：{balance_zh}；产出的纯酒精比投入多 {_fmt(pure_out - pure_in)} {L_ZH}（是否有未申报的原料？）")
    return None


def _bottling_volume(p: Proposal) -> Said | None:
    if _process(_genesis(p)) not in BOTTLING:
        return None
    bottles, size = decimal(p.data.get("quantity")), decimal(p.data.get("bottle_ml"))
    if bottles is None or p.data.get("unit") != "bottle" or size is None or size <= 0:
        return Said(f"{OURS}: bottling records the bottle count (unit \"bottle\") and data.bottle_ml",
                    f"{OURS_ZH}：灌装须记录瓶数（单位为{BOTTLE_ZH}）和每瓶容量（{ML_ZH}）")
    drawn = Decimal(0)
    for item in _inputs(p):
        volume = decimal(item.get("quantity"))
        if volume is None or item.get("unit") not in LITRES:
            return Said(f"{OURS}: the blend drawn for bottling is measured in LTR (input {item.get('batch')})",
                        f"{OURS_ZH}：灌装领用的勾调酒须以{L_ZH}计量（原料批次 {item.get('batch')}）")
        drawn += volume
    bottled = bottles * size / 1000
    if bottled > drawn:
        return Said(f"{OURS}: {_fmt(bottles)} bottles × {_fmt(size)} mL = {_fmt(bottled)} L > {_fmt(drawn)} L of blend drawn",
                    f"{OURS_ZH}：{_fmt(bottles)} {BOTTLE_ZH} × {_fmt(size)} {ML_ZH} = {_fmt(bottled)} {L_ZH}，"
                    f"多于领用的勾调酒 {_fmt(drawn)} {L_ZH}")
    return None


def _ageing_start(bodies: Sequence[Body]) -> date | None:
    starts = []
    for body in _of(bodies, "stored"):
        start, when = _day(_data(body).get("start")), _when(body)
        starts.append(start or (when.date() if when else None))
    known = [s for s in starts if s is not None]
    return min(known) if known else None


def _aged(bodies: Sequence[Body], years: int, cutoff: date) -> bool:
    """Whether a batch is at least `years` old at `cutoff`'s anniversary: a checked claim, or ageing start."""
    claimed = decimal(_data(bodies[0]).get("age_claim")) if bodies and bodies[0].get("type") == "transform" else None
    if claimed is not None and claimed >= years:
        return True
    start = _ageing_start(bodies)
    return start is not None and start <= cutoff


def _age_claim(p: Proposal) -> Said | None:
    label = p.data.get("label")
    claim = (label.get("age_claim") if isinstance(label, Mapping) else None) if p.type == "packed" \
        else p.data.get("age_claim")
    if claim is None:
        return None
    if not isinstance(claim, str) or not COUNT.match(claim):
        return Said(f'{OURS}: an age claim is whole years as a string, e.g. "5", got {claim!r}',
                    f"{OURS_ZH}：年份声明须为整数年数（如 “5”），实际为 {_shown(claim)}")
    years, on = int(claim), p.at.date()
    cutoff = _years_before(on, years)
    if p.type == "transform":
        for batch, bodies in p.inputs.items():
            if not _aged(bodies, years, cutoff):
                start = _ageing_start(bodies)
                return Said(f"{OURS}: age claim {years} 年 needs every input's ageing to start by {cutoff}; input {batch} "
                            + (f"started {start}" if start else "has no ageing record (stored)"),
                            f"{OURS_ZH}：{years} 年的年份声明要求每个原料最迟于 {cutoff} 开始贮存；原料批次 {batch} "
                            + (f"于 {start} 才开始贮存" if start else "没有贮存记录"))
        return None
    if p.batch is None or not _aged(p.history, years, cutoff):
        return Said(f"{OURS}: label claims {years} 年 but this batch's liquor is not shown to be aged since {cutoff}",
                    f"{OURS_ZH}：标签声明 {years} 年，但没有记录表明本批酒自 {cutoff} 起已贮存")
    return None


def _label(p: Proposal) -> Mapping[str, Any]:
    label = p.data.get("label")
    return label if isinstance(label, Mapping) else {}


def _label_rule(p: Proposal) -> Said | None:
    label = _label(p)
    if not label:
        return Said(f"{HEALTH}: a packed liquor records its label (data.label) with alcohol %vol and the warning",
                    f"{HEALTH}：包装的酒须记录标签，标示酒精度（%vol）和警示语")
    if decimal(label.get("abv")) is None or label.get("abv_unit") != "%vol":
        return Said(f"{HEALTH}: the label states alcohol content in %vol; got {label.get('abv')!r} "
                    f"{label.get('abv_unit')!r}",
                    f"{HEALTH}：标签须以 %vol 标示酒精度，实际为 {_shown(label.get('abv'))} {_shown(label.get('abv_unit'))}")
    warning = label.get("warning")
    if not isinstance(warning, str) or WARNING not in warning:
        return Said(f"{HEALTH}: the label carries the warning \"{WARNING}\"", f"{HEALTH}：标签须标注警示语“{WARNING}”")
    return None


def _category(p: Proposal) -> Said | None:
    """Solid-state (固态法) baijiu uses no edible alcohol and no additives; with additives it is 配制酒,
    with edible alcohol 固液法/液态法 (GB/T 17204-2021 in force 2022-06-01; GB/T 10781.1-2021 from 2022-04-01)."""
    label = _label(p)
    standard, category = str(label.get("standard", "")), label.get("category")
    solid = category == "solid_state" or any(standard.replace(" ", "").startswith(s.replace(" ", ""))
                                             for s in SOLID_STATE_STANDARDS)
    items = [str(i) for i in label.get("ingredients", [])] if isinstance(label.get("ingredients"), list) else []
    alcohol = [i for i in items if any(w in i.lower() for w in EDIBLE_ALCOHOL)]
    added = [i for i in items if any(w in i.lower() for w in ADDITIVES)]
    if solid and (alcohol or added):
        found = alcohol + added
        return Said(f"{CATEGORY_RULE}: solid-state baijiu ({standard or 'solid_state'}) uses no edible alcohol or "
                    f"additives; the label lists {', '.join(found)}",
                    f"{CATEGORY_RULE}：固态法白酒（{standard or '固态法'}）不得使用食用酒精或食品添加剂；标签配料含"
                    f"{'、'.join(found)}")
    if added and category not in (None, "prepared"):
        return Said(f"{CATEGORY_RULE}: a liquor with additives ({', '.join(added)}) is 配制酒, not "
                    f"{CATEGORIES[str(category)][1] if category in CATEGORIES else category}",
                    f"{CATEGORY_RULE}：添加了{'、'.join(added)}的酒属于配制酒，不能标为"
                    f"{CATEGORIES[str(category)][0] if category in CATEGORIES else category}")
    return None


def _sc_licence(p: Proposal) -> Said | None:
    number = _label(p).get("sc")
    match = SC_LICENCE.match(number) if isinstance(number, str) else None
    if match is None:
        return Said(f"{LICENCE}: the label names a 食品生产许可证 number (SC + 14 digits), got {number!r}",
                    f"{LICENCE}：标签须标注食品生产许可证编号（SC 加 14 位数字），实际为 {_shown(number)}")
    if match.group(1) != LIQUOR_CATEGORY:
        return Said(f"{LICENCE}: licence {number} is for food category {match.group(1)}, not {LIQUOR_CATEGORY} (liquor)",
                    f"{LICENCE}：许可证 {number} 的食品类别为 {match.group(1)}，不是 {LIQUOR_CATEGORY}（酒类）")
    return sc_not_on_record(number, p.orgs[p.org].licences.get("sc") if p.org in p.orgs else None)


def _strength(p: Proposal) -> Said | None:
    label = _label(p)
    strength, abv = label.get("strength"), decimal(label.get("abv"))
    if strength not in ("high", "low") or abv is None:
        return None
    row = _row("baijiu.strength", "ethanol", p.at.date(), category=str(strength))
    if row is None or row.limit is None or row.high is None:
        return None
    if not row.holds(abv) or (strength == "high" and abv == row.limit):
        low = "> " if strength == "high" else "≥ "
        return Said(f"{row.standard}: {strength}-strength baijiu is {low}{_fmt(row.limit)} and ≤ {_fmt(row.high)} %vol; "
                    f"label states {_fmt(abv)} %vol",
                    f"{row.standard}：{STRENGTHS[str(strength)][0]}的酒精度须 {low}{_fmt(row.limit)}%vol 且 "
                    f"≤ {_fmt(row.high)}%vol；标签标示为 {_fmt(abv)}%vol")
    return None


def _serial_range(data: Mapping[str, Any]) -> tuple[str, int, int] | None:
    first, last = data.get("first_serial"), data.get("last_serial")
    a = SERIAL.match(first) if isinstance(first, str) else None
    b = SERIAL.match(last) if isinstance(last, str) else None
    return (a.group(1), int(a.group(2)), int(b.group(2))) if a and b else None


def _serials(p: Proposal) -> Said | None:
    mine = _serial_range(p.data)
    if mine is None:
        return None
    total = mine[2] - mine[1] + 1
    for body in _of(p.history, "commissioned"):
        other = _serial_range(_data(body))
        if other is None:
            continue
        total += other[2] - other[1] + 1
        if other[0] == mine[0] and mine[1] <= other[2] and other[1] <= mine[2]:
            mine_text = f"{p.data.get('first_serial')}–{p.data.get('last_serial')}"
            other_text = f"{_data(body).get('first_serial')}–{_data(body).get('last_serial')}"
            return Said(f"{OURS}: serials {mine_text} overlap {other_text}; one serial once",
                        f"{OURS_ZH}：序列号 {mine_text} 与已赋码的 {other_text} 重叠；每个序列号只能赋码一次")
    held = p.batch.quantity if p.batch is not None else None
    if held is not None and total > held:
        return Said(f"{OURS}: {total} serials commissioned for {_fmt(held)} bottles",
                    f"{OURS_ZH}：已赋码 {total} 个序列号，但本批次只有 {_fmt(held)} {BOTTLE_ZH}")
    return None


HARD_RULES: tuple[Rule, ...] = (
    Rule("baijiu.contaminants", frozenset({"packed", "ship", "sell", "transform"}), _contaminants, None,
         "GB 2757-2012; GB 2762-2022"),
    Rule("baijiu.blend_balance", frozenset({"transform"}), _blend_balance, "data.abv", OURS),
    Rule("baijiu.bottling_volume", frozenset({"transform"}), _bottling_volume, "data.quantity", OURS),
    Rule("baijiu.age_claim", frozenset({"transform", "packed"}), _age_claim, "data.age_claim", OURS),
    Rule("baijiu.label", frozenset({"packed"}), _label_rule, "data.label", HEALTH),
    Rule("baijiu.sc_licence", frozenset({"packed"}), _sc_licence, "data.label.sc", LICENCE),
    Rule("baijiu.strength", frozenset({"packed"}), _strength, "data.label.abv", QUALITY),
    Rule("baijiu.serials", frozenset({"commissioned"}), _serials, "data.first_serial", OURS),
    Rule("baijiu.category", frozenset({"packed"}), _category, "data.label.category", CATEGORY_RULE),
)


# ---- soft rules ----------------------------------------------------------------------------------------------

def _distillation_abv(p: Proposal) -> Said | None:
    if _process(_genesis(p)) not in DISTILLATION:
        return None
    row = _row("baijiu.distillation_abv", "ethanol", p.at.date())
    abv = decimal(p.data.get("abv"))
    if row is None or row.limit is None or row.high is None:
        return None
    if abv is None:
        return Said(f"{row.standard}: a distillate records its %vol at 20 °C (data.abv)",
                    f"{_std_zh(row.standard)}：基酒须记录 20 °C 时的酒精度（%vol）")
    if not row.holds(abv):
        return Said(f"{row.standard}: distillate at {_fmt(abv)} %vol is outside {_fmt(row.limit)}–{_fmt(row.high)} %vol",
                    f"{_std_zh(row.standard)}：基酒酒精度 {_fmt(abv)}%vol，不在 {_fmt(row.limit)}–{_fmt(row.high)}%vol 范围内")
    return None


def _label_abv(p: Proposal) -> Said | None:
    stated = decimal(_label(p).get("abv"))
    measured = _ethanol(_of(p.history, "test"))
    measured = measured if measured is not None else next(
        (m for b in p.inputs.values() if (m := _ethanol(_of(b, "test"))) is not None), None)
    row = _row("baijiu.label_abv", "ethanol_deviation", p.at.date())
    if stated is None or measured is None or row is None or row.limit is None:
        return None
    if abs(measured - stated) > row.limit:
        return Said(f"{row.standard}: measured {_fmt(measured)} %vol differs from the label's {_fmt(stated)} %vol "
                    f"by {_fmt(abs(measured - stated))} > ±{_fmt(row.limit)} %vol",
                    f"{_std_zh(row.standard)}：实测酒精度 {_fmt(measured)}%vol 与标签标示的 {_fmt(stated)}%vol "
                    f"相差 {_fmt(abs(measured - stated))}%vol，超过 ±{_fmt(row.limit)}%vol")
    return None


def _blend_volume(p: Proposal) -> Said | None:
    if _process(_genesis(p)) not in BLENDING:
        return None
    on = p.at.date()
    shrink, gain = _row("baijiu.blend_volume", "volume_contraction", on), _row("baijiu.blend_volume", "volume_gain", on)
    volumes = [decimal(item.get("quantity")) for item in _inputs(p) if item.get("unit") in LITRES]
    out = decimal(p.data.get("quantity"))
    if shrink is None or gain is None or shrink.limit is None or gain.limit is None or out is None or None in volumes:
        return None
    raw = sum((v for v in volumes if v is not None), Decimal(0)) + (decimal(p.data.get("water")) or Decimal(0))
    if out > raw * (100 + gain.limit) / 100:
        return Said(f"{gain.standard}: blend of {_fmt(out)} L from {_fmt(raw)} L of inputs and water; ethanol–water "
                    "volumes contract, they do not grow",
                    f"{_std_zh(gain.standard)}：{_fmt(raw)} {L_ZH}原料酒和加浆水勾调出 {_fmt(out)} {L_ZH}；"
                    "酒精与水混合后体积只会收缩，不会增加")
    if out < raw * (100 - shrink.limit) / 100:
        return Said(f"{shrink.standard}: blend of {_fmt(out)} L from {_fmt(raw)} L shrank by more than "
                    f"{_fmt(shrink.limit)} %; record the loss",
                    f"{_std_zh(shrink.standard)}：{_fmt(raw)} {L_ZH}勾调成 {_fmt(out)} {L_ZH}，收缩超过 "
                    f"{_fmt(shrink.limit)}%；请记录损耗")
    return None


SOFT_RULES: tuple[Rule, ...] = (
    Rule("baijiu.distillation_abv", frozenset({"transform"}), _distillation_abv, "data.abv", "farmtrace rule"),
    Rule("baijiu.label_abv", frozenset({"packed"}), _label_abv, "data.label.abv", QUALITY),
    Rule("baijiu.blend_volume", frozenset({"transform"}), _blend_volume, "data.quantity", "farmtrace rule"),
)

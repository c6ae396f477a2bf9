"""Carbon: activity data on events and their emissions in kg CO2e (domain.md §7, docs/carbon.md).

Pure food knowledge: no database. Any event may carry an optional `activity` KDE, a list of items
`{"kind", "amount", "unit", ...qualifiers}` with decimal strings, never floats:

| kind        | unit         | qualifier (required unless said)                                   |
|-------------|--------------|--------------------------------------------------------------------|
| electricity | kWh          | `grid` (optional): sichuan, southwest, national; else by the org's county |
| fuel        | L or kg      | `fuel`: diesel, petrol, lpg, natural_gas, coal                     |
| transport   | TKM (t·km)   | `mode`: road, rail, water; `refrigerated` (optional): true/false   |
| fertiliser  | kg           | `nutrient`: N, P2O5, K2O                                           |
| feed        | kg           | `feed`: maize, soybean_meal, compound                              |
| refrigerant | kg           | `gas`: R134a, R404A, R410A, R22, R290, R717                        |
| packaging   | kg           | `material`: glass, pet, paper, plastic, steel, aluminium           |
| waste       | kg           | `treatment`: landfill, compost, incineration                       |

A `transform` may also say how its inputs' emissions are shared among the outputs of one consume:
`allocation` = `mass` (default) or `economic`, with the output's `value` in yuan when economic.

Factors come from the versioned table `carbon_factors.csv` beside this module (shipped as package
data). Every row names its source and its status (`verified` = confirmed against a published text or
a reliable reproduction of it; `unverified` = believed right, or a placeholder, and said so). A
factor is chosen by the event's date (`at`, its date part as written): the table version valid on
that date, then for electricity the grid (the item's `grid`, else Sichuan when the org's county
code starts with 51, else national) and the data year equal to the event's year, falling back to
the latest year published before it (flagged `fallback`). Electricity factors are published about
two years late, so most electricity lines are fallbacks and their results estimates.

Unverified in this module: every row marked so in the table; the grid choice by the org's county
(not by the place of the event); mixing the Sichuan provincial CO2 factor (no provincial carbon
footprint factor is published) with the national carbon footprint factor.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any

from farmtrace.ledger.errors import InvalidEventError, Said
from farmtrace.rules.declare import Kde, Words

TABLE_FILE = Path(__file__).with_name("carbon_factors.csv")
GRAM = Decimal("0.001")
METHOD = "farmtrace carbon method 1 (GB/T 24067-2024, mass allocation)"
METHOD_ECONOMIC = "farmtrace carbon method 1 (GB/T 24067-2024, mass allocation; economic allocation where declared)"
_GB = "GB/T 24067-2024 (ISO 14067:2018)"
_DECIMAL = re.compile(r"^(0|[1-9][0-9]{0,17})(\.[0-9]{1,9})?$")

# ---- what activity data may say ---------------------------------------------------------------

KIND_WORDS: dict[str, Words] = {
    "electricity": ("电力", "electricity"), "fuel": ("燃料", "fuel"), "transport": ("运输", "transport"),
    "fertiliser": ("化肥", "fertiliser"), "feed": ("饲料", "feed"), "refrigerant": ("制冷剂", "refrigerant"),
    "packaging": ("包装材料", "packaging"), "waste": ("废弃物", "waste"),
}
UNITS_OF: dict[str, dict[str, str]] = {  # kind -> unit as written -> unit of the factor table
    "electricity": {"kWh": "kWh", "KWH": "kWh"},
    "fuel": {"L": "L", "LTR": "L", "kg": "kg", "KGM": "kg"},
    "transport": {"TKM": "TKM"},
    **{k: {"kg": "kg", "KGM": "kg"} for k in ("fertiliser", "feed", "refrigerant", "packaging", "waste")},
}
UNIT_WORDS: dict[str, Words] = {"kWh": ("千瓦时", "kWh"), "L": ("升", "L"), "kg": ("千克", "kg"),
                                "TKM": ("吨公里", "t·km")}
QUALIFIER: dict[str, str] = {  # kind -> the qualifier that picks its factor (electricity's grid is optional)
    "electricity": "grid", "fuel": "fuel", "transport": "mode", "fertiliser": "nutrient", "feed": "feed",
    "refrigerant": "gas", "packaging": "material", "waste": "treatment",
}
CHOICES: dict[str, dict[str, Words]] = {
    "grid": {"sichuan": ("四川电网", "Sichuan grid"), "southwest": ("西南电网", "Southwest grid"),
             "national": ("全国电网平均", "national grid average")},
    "fuel": {"diesel": ("柴油", "diesel"), "petrol": ("汽油", "petrol"), "lpg": ("液化石油气", "LPG"),
             "natural_gas": ("天然气", "natural gas"), "coal": ("煤", "coal")},
    "mode": {"road": ("公路", "road"), "rail": ("铁路", "rail"), "water": ("水运", "water")},
    "nutrient": {"N": ("氮肥（纯氮）", "nitrogen (N)"), "P2O5": ("磷肥（P₂O₅）", "phosphate (P₂O₅)"),
                 "K2O": ("钾肥（K₂O）", "potash (K₂O)")},
    "feed": {"maize": ("玉米", "maize"), "soybean_meal": ("豆粕", "soybean meal"),
             "compound": ("配合饲料", "compound feed")},
    "gas": {"R134a": ("四氟乙烷 R134a", "R134a (HFC-134a)"), "R404A": ("混合制冷剂 R404A", "R404A"),
            "R410A": ("混合制冷剂 R410A", "R410A"), "R22": ("二氟一氯甲烷 R22", "R22 (HCFC-22)"),
            "R290": ("丙烷 R290", "R290 (propane)"), "R717": ("氨 R717", "R717 (ammonia)")},
    "material": {"glass": ("玻璃", "glass"), "pet": ("PET 塑料", "PET"), "paper": ("纸", "paper"),
                 "plastic": ("塑料", "plastic"), "steel": ("钢", "steel"), "aluminium": ("铝", "aluminium")},
    "treatment": {"landfill": ("填埋", "landfill"), "compost": ("堆肥", "compost"),
                  "incineration": ("焚烧", "incineration")},
}
ALLOCATIONS: dict[str, Words] = {"mass": ("按质量分配", "by mass"), "economic": ("按经济价值分配", "by economic value")}
MAX_ITEMS = 50


def _said(field: str, en: str, zh: str) -> InvalidEventError:
    return InvalidEventError(Said(f"{field}: {en} ({_GB} activity data)", f"{field}：{zh}（{_GB} 活动数据）"),
                             field=field)


def _amount(value: Any, field: str, *, positive: bool = False) -> Decimal:
    if not isinstance(value, str) or not _DECIMAL.match(value):
        if isinstance(value, str) and value.startswith("-"):
            raise _said(field, "must not be negative", "不能为负数")
        raise _said(field, f'must be a decimal string such as "120.5", got {value!r}',
                    f"须为十进制数字字符串，如 \"120.5\"，收到 {value!r}")
    number = Decimal(value)
    if positive and number <= 0:
        raise _said(field, "must be greater than zero", "须大于零")
    return number


def check_activity(data: Mapping[str, Any], name: str) -> None:
    """Refuse activity data that is not a list of known kinds, in their units, with decimal amounts ≥ 0."""
    items = data.get(name)
    where = f"data.{name}"
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_ITEMS:
        raise _said(where, f"must list 1-{MAX_ITEMS} items {{kind, amount, unit, ...}}",
                    f"须列出 1–{MAX_ITEMS} 项 {{kind, amount, unit, ...}}")
    for i, item in enumerate(items):
        at = f"{where}[{i}]"
        if not isinstance(item, dict):
            raise _said(at, "must be an object", "须为对象")
        kind = item.get("kind")
        if kind not in KIND_WORDS:
            named = "、".join(w[0] for w in KIND_WORDS.values())
            raise _said(f"{at}.kind", f"must be one of {', '.join(KIND_WORDS)}, got {kind!r}",
                        f"须为以下之一：{named}，" + ("未填写" if kind is None else f"收到 {kind!r}"))
        _amount(item.get("amount"), f"{at}.amount")
        unit = item.get("unit")
        if unit not in UNITS_OF[kind]:
            allowed = " or ".join(sorted(set(UNITS_OF[kind])))
            raise _said(f"{at}.unit", f"{kind} is measured in {allowed}, got {unit!r}",
                        f"{KIND_WORDS[kind][0]}的单位须为 {allowed.replace(' or ', ' 或 ')}，收到 {unit!r}")
        qualifier = QUALIFIER[kind]
        known = {"kind", "amount", "unit", "note", qualifier} | ({"refrigerated"} if kind == "transport" else set())
        for key in item:
            if key not in known:
                raise _said(f"{at}.{key}", f"is not a field of {kind} activity data (fields: {', '.join(sorted(known))})",
                            f"不是{KIND_WORDS[kind][0]}活动数据的字段（可用：{', '.join(sorted(known))}）")
        if qualifier in item or kind != "electricity":
            value = item.get(qualifier)
            if value not in CHOICES[qualifier]:
                named = "、".join(w[0] for w in CHOICES[qualifier].values())
                raise _said(f"{at}.{qualifier}", f"must be one of {', '.join(CHOICES[qualifier])}, got {value!r}",
                            f"须为以下之一：{named}，" + ("未填写" if value is None else f"收到 {value!r}"))
        if qualifier in item or kind != "electricity":
            priced = {u for (_v, k, key, u) in factor_table().index if k == kind and key == key_of(item, None)}
            if UNITS_OF[kind][unit] not in priced:
                allowed = " or ".join(sorted(priced))
                raise _said(f"{at}.unit", f"{kind} {item.get(qualifier)} has emission factors in {allowed} only, "
                            f"got {unit!r}", f"{CHOICES[qualifier][item[qualifier]][0]}的排放因子只按 "
                            f"{allowed.replace(' or ', ' 或 ')} 计，收到 {unit!r}")
        if "refrigerated" in item and not isinstance(item["refrigerated"], bool):
            raise _said(f"{at}.refrigerated", "must be true or false", "须为 true 或 false")
        if "note" in item and (not isinstance(item["note"], str) or len(item["note"]) > 200):
            raise _said(f"{at}.note", "must be a text of at most 200 characters", "须为不超过 200 字的文字")


def check_allocation(data: Mapping[str, Any], name: str) -> None:
    """A transform's allocation: mass (default) or economic, the latter with the output's value in yuan."""
    method = data.get("allocation")
    if method not in ALLOCATIONS:
        raise _said("data.allocation", f"must be mass or economic, got {method!r}",
                    f"须为 mass（按质量）或 economic（按经济价值），收到 {method!r}")
    if method == "economic":
        if "value" not in data:
            raise _said("data.value", "is required with economic allocation: the output's value in yuan",
                        "按经济价值分配时须填写本产出的产值（元）")
        _amount(data.get("value"), "data.value", positive=True)


def _check_value(data: Mapping[str, Any], name: str) -> None:
    if data.get("allocation") != "economic":
        raise _said("data.value", "is only recorded with economic allocation (allocation: economic)",
                    "只有按经济价值分配（allocation: economic）时才填写产值")


ITEM_KDES: tuple[Kde, ...] = (
    Kde("kind", "choice", "类别", "Kind", choices=KIND_WORDS),
    Kde("amount", "decimal", "用量", "Amount", unit_kde="unit"),
    Kde("unit", "text", "单位", "Unit", max_len=8),
    *(Kde(q, "choice", zh, en, required=False, choices=CHOICES[q]) for q, zh, en in (
        ("grid", "电网", "Grid"), ("fuel", "燃料", "Fuel"), ("mode", "运输方式", "Mode"),
        ("nutrient", "养分", "Nutrient"), ("feed", "饲料", "Feed"), ("gas", "制冷剂", "Gas"),
        ("material", "材料", "Material"), ("treatment", "处置方式", "Treatment"))),
    Kde("refrigerated", "bool", "冷藏", "Refrigerated", required=False),
    Kde("note", "text", "备注", "Note", required=False),
)
ACTIVITY = Kde("activity", "items", "活动数据（碳排放）", "Activity data (carbon)", required=False, check=check_activity,
               items=ITEM_KDES, help_zh="用电、燃料、运输、化肥、饲料、制冷剂、包装、废弃物的用量，如 120 千瓦时",
               help_en="electricity, fuel, transport, fertiliser, feed, refrigerant, packaging, waste; e.g. 120 kWh")
"""The activity KDE every event type may carry (registered in declare.COMMON_KDES by steps.py)."""
ALLOCATION = Kde("allocation", "choice", "碳排放分配方法", "Carbon allocation", required=False, check=check_allocation,
                 choices=ALLOCATIONS)
VALUE = Kde("value", "decimal", "产值", "Economic value", required=False, check=_check_value, unit="CNY")
"""A transform's allocation and its output's value (yuan), for splitting its inputs' footprint."""


# ---- the factor table -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Factor:
    """One row of the emission-factor table."""

    row_id: str
    table_version: str
    valid_from: date
    valid_to: date | None
    kind: str
    key: str
    unit: str
    kg_co2e_per_unit: Decimal
    year: int | None
    source: str
    status: str  # verified | unverified


@dataclass(frozen=True)
class FactorTable:
    rows: tuple[Factor, ...]
    versions: tuple[tuple[str, date, date | None], ...]      # (version, valid_from, valid_to), oldest first
    index: Mapping[tuple[str, str, str, str], tuple[Factor, ...]]  # (version, kind, key, unit) -> rows by year
    chosen: dict[tuple[str, str, str, str], tuple[str, Factor, bool]] = field(
        default_factory=dict, compare=False, repr=False)  # (day, kind, key, unit) -> (version, row, fallback)

    def choose(self, day: str, kind: str, key: str, unit: str) -> tuple[str, Factor, bool]:
        """(version, factor row, fallback) for an item of `kind`/`key`/`unit` on `day` (YYYY-MM-DD)."""
        found = self.chosen.get((day, kind, key, unit))
        if found is None:
            when = date.fromisoformat(day)
            version = self.version_on(when)
            rows = self.index.get((version, kind, key, unit))
            if rows is None:  # `check_activity` refuses items no version prices; this serves an event validated
                # against an older table that has since dropped the row: the newest version that has it
                rows = next(self.index[(v, kind, key, unit)] for v, *_ in reversed(self.versions)
                            if (v, kind, key, unit) in self.index)
                version = rows[0].table_version
            row, fallback = _pick(rows, when.year)
            fallback = fallback or version != self.version_on(when)
            found = self.chosen[(day, kind, key, unit)] = (version, row, fallback)
        return found

    def version_on(self, day: date) -> str:
        """The table version valid on `day`: the latest-starting one whose range holds it (a newer version
        overrides an open-ended older one from its valid_from on); the oldest for a day before every version."""
        chosen = self.versions[0][0]
        for version, start, end in self.versions:  # oldest first
            if start <= day and (end is None or day <= end):
                chosen = version
        return chosen


def _row(raw: Mapping[str, str]) -> Factor:
    return Factor(raw["row_id"], raw["table_version"], date.fromisoformat(raw["valid_from"]),
                  date.fromisoformat(raw["valid_to"]) if raw["valid_to"] else None, raw["kind"], raw["key"],
                  raw["unit"], Decimal(raw["kg_co2e_per_unit"]), int(raw["year"]) if raw["year"] else None,
                  raw["source"], raw["status"])


def load_table(text: str) -> FactorTable:
    """Parse the factor table (CSV text); raise ValueError for a row without source or status."""
    rows = tuple(_row(r) for r in csv.DictReader(text.splitlines()))
    for row in rows:
        if not row.source.strip() or row.status not in ("verified", "unverified"):
            raise ValueError(f"factor row {row.row_id}: every row names its source and status")
    versions: dict[str, tuple[str, date, date | None]] = {}
    index: dict[tuple[str, str, str, str], list[Factor]] = {}
    for row in rows:
        versions.setdefault(row.table_version, (row.table_version, row.valid_from, row.valid_to))
        index.setdefault((row.table_version, row.kind, row.key, row.unit), []).append(row)
    return FactorTable(rows, tuple(sorted(versions.values(), key=lambda v: v[1])),
                       {k: tuple(sorted(v, key=lambda r: r.year or 0)) for k, v in index.items()})


@lru_cache(maxsize=1)
def factor_table() -> FactorTable:
    """The table shipped with the package."""
    return load_table(TABLE_FILE.read_text(encoding="utf-8"))


# ---- emissions of one event --------------------------------------------------------------------------

@dataclass(frozen=True)
class Line:
    """One activity item converted: amount × factor = kg CO2e, with the factor row that was used."""

    kind: str
    key: str
    amount: Decimal
    unit: str
    factor: Decimal
    factor_row_id: str
    table_version: str
    kg_co2e: Decimal
    status: str            # the factor row's: verified | unverified
    fallback: bool = False  # an electricity factor of an earlier year than the event's


@dataclass(frozen=True)
class Emissions:
    kg_co2e: Decimal
    lines: tuple[Line, ...]
    estimate: bool  # an unverified factor or a fallback year was used

    def to_json(self) -> dict[str, Any]:
        return {"kg_co2e": str(self.kg_co2e), "estimate": self.estimate,
                "lines": [{"kind": ln.kind, "key": ln.key, "amount": str(ln.amount), "unit": ln.unit,
                           "factor": str(ln.factor), "factor_row_id": ln.factor_row_id,
                           "table_version": ln.table_version, "kg_co2e": str(ln.kg_co2e), "status": ln.status,
                           "fallback": ln.fallback} for ln in self.lines]}


NONE = Emissions(Decimal(0), (), False)


def grid_of(item: Mapping[str, Any], province: str | None) -> str:
    """The grid of an electricity item: as written, else Sichuan for an org in Sichuan (51), else national."""
    grid = item.get("grid")
    if isinstance(grid, str):
        return grid
    return "sichuan" if province == "51" else "national"


def key_of(item: Mapping[str, Any], province: str | None) -> str:
    kind = item["kind"]
    if kind == "electricity":
        return grid_of(item, province)
    if kind == "transport":
        return str(item["mode"]) + ("_refrigerated" if item.get("refrigerated") is True else "")
    return str(item[QUALIFIER[kind]])


def _pick(rows: Sequence[Factor], year: int) -> tuple[Factor, bool]:
    """The row of `year`, else of the latest year before it (fallback), else the earliest (fallback)."""
    if rows[0].year is None:
        return rows[0], False
    earlier = [r for r in rows if r.year is not None and r.year <= year]
    if earlier:
        return earlier[-1], earlier[-1].year != year
    return rows[0], True


def event_emissions(type_: str, family: str | None, data: Mapping[str, Any], at: str, *,
                    province: str | None, table: FactorTable | None = None) -> Emissions:
    """The kg CO2e of one event's activity data, by the factor table valid on the event's date.

    Args:
        type_, family: the event type and the batch's family (kept for family-specific factors later).
        data: the event's `data` (already validated: `check_activity`).
        at: the event's `at` (RFC 3339); its date part as written chooses the table version and year.
        province: the first two digits of the acting org's county code (GB/T 2260), e.g. "51".
    Raises:
        StopIteration: an item no table version prices (`check_activity` refuses those).
    """
    items = data.get("activity")
    if not isinstance(items, list) or not items:
        return NONE
    table = table or factor_table()
    day = at[:10]
    lines = []
    total, estimate = Decimal(0), False
    for item in items:
        kind = item["kind"]
        unit = UNITS_OF[kind][item["unit"]]
        key = key_of(item, province)
        version, row, fallback = table.choose(day, kind, key, unit)
        amount = Decimal(item["amount"])
        kg = amount * row.kg_co2e_per_unit
        total += kg
        estimate = estimate or fallback or row.status != "verified"
        lines.append(Line(kind, key, amount, unit, row.kg_co2e_per_unit, row.row_id, version, kg, row.status,
                          fallback))
    return Emissions(total, tuple(lines), estimate)


def to_gram(kg: Decimal) -> Decimal:
    """Kilograms rounded to the gram, for presentation only."""
    return kg.quantize(GRAM)


def decimal_or_none(value: Any) -> Decimal | None:
    """A stored decimal string as a Decimal; None when absent or malformed."""
    if not isinstance(value, str):
        return None
    try:
        return Decimal(value)
    except InvalidOperation:
        return None

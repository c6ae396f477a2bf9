"""A batch's carbon footprint as pages show it (method: docs/carbon.md).

`shown` turns a `farmtrace.services.footprint.Footprint` into the words and numbers of
templates/_footprint.html: kilograms of CO₂e rounded to the gram, the figure per unit of product
with the unit in words, each stage's share as a bar length, the activity kinds by name.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from farmtrace.rules.carbon import CHOICES, KIND_WORDS, METHOD, METHOD_ECONOMIC, QUALIFIER, UNIT_WORDS
from farmtrace.rules.declare import number_text, pick, unit_name
from farmtrace.services.footprint import Footprint, MonthRow
from farmtrace.services.footprint_audit import AuditLine

GRAM = Decimal("0.001")
METHOD_WORDS = {  # the method string results record, in words
    METHOD: ("farmtrace 碳足迹方法第 1 版（GB/T 24067-2024，按质量分配）", METHOD),
    METHOD_ECONOMIC: ("farmtrace 碳足迹方法第 1 版（GB/T 24067-2024，按质量分配；声明处按经济价值分配）", METHOD_ECONOMIC),
}
PER_UNIT = {  # the functional unit in words: "per kilogram", "per litre", "per bottle"
    "KGM": ("千克", "kg"), "LTR": ("升", "litre"), "bottle": ("瓶", "bottle"), "XBO": ("瓶", "bottle"),
    "H87": ("件", "piece"), "HEA": ("头", "head"),
}


def kg(value: Decimal) -> str:
    """Kilograms to the gram, as a plain decimal string: Decimal("16.848") -> "16.848"."""
    return number_text(value.quantize(GRAM, rounding=ROUND_HALF_EVEN))


def per_unit_text(value: Decimal) -> str:
    """Per-unit figures are small: three significant figures below 1 kg, grams above."""
    if value == 0 or abs(value) >= 1:
        return kg(value)
    return number_text(Decimal(f"{value:.3g}")) if abs(value) >= Decimal("0.001") else f"{value:.2g}"


@dataclass(frozen=True)
class StageShown:
    product: str
    org_name: str
    value: str
    share: str        # percent of the total, one decimal
    percent: str      # bar length, 0-100


@dataclass(frozen=True)
class KindShown:
    name: str
    share: str


@dataclass(frozen=True)
class FootprintShown:
    total: str
    per_unit: str | None
    unit_word: str
    quantity_words: str
    stages: list[StageShown]
    kinds: list[KindShown]
    method: str
    versions: str
    estimate: bool
    allocation: str
    raw: Footprint


def _share(part: Decimal, whole: Decimal) -> Decimal:
    return (part / whole * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_EVEN) if whole else Decimal(0)


def shown(fp: Footprint, lang: str) -> FootprintShown:
    """The footprint in the page's language; shares of a zero total are zero."""
    top = max((s.kg_co2e for s in fp.stages), default=Decimal(0))
    stages = [StageShown(s.product, s.org_name, kg(s.kg_co2e), number_text(_share(s.kg_co2e, fp.total_kg)),
                         number_text(_share(s.kg_co2e, top)))
              for s in fp.stages]
    kinds = [KindShown(pick(KIND_WORDS.get(k, (k, k)), lang), number_text(_share(v, fp.total_kg)))
             for k, v in sorted(fp.by_kind.items(), key=lambda kv: -kv[1]) if v]
    unit_word = pick(PER_UNIT[fp.unit], lang) if fp.unit in PER_UNIT else unit_name(fp.unit, lang)
    quantity = f"{number_text(fp.quantity)} {unit_name(fp.unit, lang)}".strip() if fp.quantity is not None else ""
    allocation = "economic" if "economic" in fp.method else "mass"
    return FootprintShown(kg(fp.total_kg), None if fp.per_unit_kg is None else per_unit_text(fp.per_unit_kg),
                          unit_word, quantity, stages, kinds, pick(METHOD_WORDS.get(fp.method, (fp.method, fp.method)), lang),
                          (", " if lang == "en" else "、").join(fp.table_versions) or "—",
                          fp.estimate, allocation, fp)


@dataclass(frozen=True)
class MonthShown:
    month: str
    total: str
    quantity: str
    per_unit: str
    percent: str      # bar length against the highest month of the same unit, 0-100


def months_shown(rows: list[MonthRow], lang: str) -> list[MonthShown]:
    """The org's monthly emissions per unit of product, with bar lengths compared within one unit."""
    top: dict[str, Decimal] = {}
    for r in rows:
        if r.per_unit_kg is not None:
            top[str(r.unit)] = max(top.get(str(r.unit), Decimal(0)), r.per_unit_kg)
    shown_rows = []
    for r in rows:
        per = r.per_unit_kg
        percent = _share(per, top[str(r.unit)]) if per is not None and top.get(str(r.unit)) else Decimal(0)
        quantity = f"{number_text(r.quantity)} {unit_name(r.unit, lang)}".strip() if r.quantity is not None else "—"
        per_text = "—" if per is None else f"{per_unit_text(per)} / {pick(PER_UNIT[r.unit], lang) if r.unit in PER_UNIT else unit_name(r.unit, lang)}"
        shown_rows.append(MonthShown(r.month, kg(r.kg_co2e), quantity, per_text, number_text(percent)))
    return shown_rows


CSV_HEADER = {
    "zh": ("月份", "排放量（千克二氧化碳当量）", "产量", "产量单位", "单位产品排放（千克二氧化碳当量）"),
    "en": ("month", "emissions (kg CO2e)", "quantity produced", "unit", "emissions per unit (kg CO2e)"),
}


def months_csv(rows: list[MonthRow], lang: str) -> str:
    """The monthly report as CSV, with a byte-order mark so spreadsheet programs read the Chinese right."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER["en" if lang == "en" else "zh"])
    for r in rows:
        writer.writerow((r.month, kg(r.kg_co2e), "" if r.quantity is None else number_text(r.quantity),
                         unit_name(r.unit, lang) if r.unit else "",
                         "" if r.per_unit_kg is None else number_text(r.per_unit_kg.quantize(Decimal("0.000001")))))
    return "\ufeff" + out.getvalue()


@dataclass(frozen=True)
class LineShown:
    batch: str
    product: str
    seq: int
    type: str
    at: str
    kind_words: str
    amount_words: str
    factor: str
    unit: str
    table_version: str
    row: str
    status: str
    source: str
    kg: str
    share: str


def activity_words(kind: str, key: str, lang: str) -> str:
    """"运输 · 公路（冷藏）": an activity kind and the factor key it used, in words."""
    refrigerated = kind == "transport" and key.endswith("_refrigerated")
    key = key.removesuffix("_refrigerated") if refrigerated else key
    words = CHOICES.get(QUALIFIER.get(kind, ""), {}).get(key)
    named = pick(words, lang) if words else key
    if refrigerated:
        named += "（冷藏）" if lang != "en" else " (refrigerated)"
    return f"{pick(KIND_WORDS.get(kind, (kind, kind)), lang)} · {named}"


def lines_shown(lines: tuple[AuditLine, ...], lang: str) -> list[LineShown]:
    """Audit lines in words: the activity by name, the amount with its unit, the share as a percent."""
    out = []
    for ln in lines:
        unit = pick(UNIT_WORDS[ln.unit], lang) if ln.unit in UNIT_WORDS else unit_name(ln.unit, lang)
        out.append(LineShown(ln.batch, ln.product, ln.seq, ln.type, ln.at, activity_words(ln.kind, ln.key, lang),
                             f"{number_text(ln.amount)} {unit}".strip(), number_text(ln.factor), unit, ln.table_version, ln.row, ln.status, ln.source, kg(ln.kg_co2e),
                             f"{number_text(_share(ln.share, Decimal(1)))}%"))
    return out

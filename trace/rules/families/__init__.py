"""Product families: their event types, key data elements and compliance rules (domain.md).

Each family module (`produce`, `pork`, `baijiu`, `water`) exposes the same names, so
`rules_for(family)` is a lookup, not a chain of ifs:

    FAMILY: str                          # "produce" | "pork" | "baijiu" | "water"
    DECLARATIONS: tuple[Declaration, ...]  # one per event type: KDEs, labels, units (rules/declare.py)
    EVENT_TYPES: tuple[EventType, ...]   # the same types, as `declare` registered them with the envelope
    HARD_RULES: tuple[Rule, ...]         # a violation refuses the event (RuleViolationError)
    SOFT_RULES: tuple[Rule, ...]         # a violation is recorded as a warning the regulator sees
    THRESHOLDS: tuple[Threshold, ...]    # limits as data: the rule picks the row valid on the event's date

A rule sees a `Proposal`: the event about to be appended (type, data, time, acting org) and the
batch's state and history (bodies of its earlier events, and for a transformation each input
batch's history). It returns None when satisfied, or a message that cites its standard with the
edition, e.g. "GB 2757-2012: methanol 0.71 g/L > 0.6 g/L". Rules run at append time and again in
verification; they never touch the database.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from farmtrace.ledger.events import EventType
from farmtrace.rules.carbon import decimal_or_none
from farmtrace.rules.declare import Declaration, Said, unit_name

FAMILY_MODULES = ("produce", "pork", "baijiu", "water")


@dataclass(frozen=True)
class BatchState:
    """What a rule may know about the batch an event is appended to."""

    id: str
    family: str
    product: str
    lot: str
    holder: str
    quantity: Decimal | None
    unit: str | None
    status: str  # held | in_transit | consumed | recalled


@dataclass(frozen=True)
class OrgFacts:
    """What a rule may know about an org: its kind, its county (GB/T 2260) and its licence numbers by kind
    (`org_licences`: sc, jy, slaughter, animal_epidemic). Today's record, not the record at the event's time."""

    kind: str
    county: str | None = None
    licences: Mapping[str, str] = field(default_factory=dict)


SICHUAN = "51"  # GB/T 2260 province prefix of Sichuan


def in_sichuan(county: str | None) -> bool | None:
    """Whether a county code lies in Sichuan (51xxxx); None when no county is known."""
    if not isinstance(county, str) or not re.match(r"^[1-9][0-9]{5}$", county):
        return None
    return county.startswith(SICHUAN)


@dataclass(frozen=True)
class Proposal:
    """The event under judgement and what is already known about its batch."""

    type: str
    data: Mapping[str, Any]
    at: datetime
    org: str
    org_kind: str
    batch: BatchState | None                     # None for a batch's first event
    history: Sequence[Mapping[str, Any]] = ()    # bodies of the batch's earlier events, oldest first
    inputs: Mapping[str, Sequence[Mapping[str, Any]]] = field(default_factory=dict)  # input batch -> its bodies
    orgs: Mapping[str, OrgFacts] = field(default_factory=dict)  # the acting org and a ship's receiver, when known
    # the 动物检疫合格证明 numbers recorded on the lots this batch was made from (the direct inputs of its own
    # genesis `transform`), gathered by the service with `quarantine_numbers`, so that rules stay database-free
    source_certificates: frozenset[str] = frozenset()

    def earlier(self, *types: str) -> list[Mapping[str, Any]]:
        """Earlier events of this batch of the given types, oldest first."""
        return [body for body in self.history if body.get("type") in types]


@dataclass(frozen=True)
class Rule:
    """One compliance rule: an id, the event types it judges, and its check."""

    id: str
    applies_to: frozenset[str]
    check: Callable[[Proposal], str | None]
    field: str | None = None     # the data field the message is about, e.g. "data.value"
    standard: str = ""           # e.g. "GB 2762-2022"


@dataclass(frozen=True)
class Threshold:
    """A limit from a standard, valid for a date range (domain.md §0: thresholds live in data)."""

    rule_id: str
    analyte: str
    category: str
    comparator: str              # "<=" | ">=" | "<" | ">" | "range" | "not_detected"
    limit: Decimal | None        # for "range": the low end
    high: Decimal | None         # for "range": the high end
    unit: str
    standard: str                # with edition: "GB 2762-2022"
    valid_from: date
    valid_to: date | None = None
    status: str = "unverified"   # "confirmed" (✔ in domain.md) | "unverified"

    def holds(self, value: Decimal) -> bool:
        """Whether a measured value meets this limit (a value equal to a "<=" limit passes)."""
        if self.comparator == "<=":
            return self.limit is not None and value <= self.limit
        if self.comparator == "<":
            return self.limit is not None and value < self.limit
        if self.comparator == ">":
            return self.limit is not None and value > self.limit
        if self.comparator == ">=":
            return self.limit is not None and value >= self.limit
        if self.comparator == "range":
            return self.limit is not None and self.high is not None and self.limit <= value <= self.high
        if self.comparator == "not_detected":
            return value == 0
        raise ValueError(f"unknown comparator {self.comparator!r}")


def threshold_for(table: Sequence[Threshold], rule_id: str, on: date, *, category: str | None = None) -> Threshold | None:
    """The row of `table` for `rule_id` (and category) valid on `on`, or None."""
    for row in table:
        if row.rule_id == rule_id and (category is None or row.category == category) and row.valid_from <= on and (
                row.valid_to is None or on < row.valid_to):
            return row
    return None


def valid_on(row: Threshold, on: date) -> bool:
    """Whether a threshold row is in force on `on`."""
    return row.valid_from <= on and (row.valid_to is None or on < row.valid_to)


def limit_text(row: Threshold, lang: str = "en") -> str:
    """A limit as people read it: "0.04–0.30 mg/kg", "≤ 0.2 mg/kg", "not detected" (未检出); in
    Chinese with the unit's Chinese name ("≤ 4 °C", "≤ 0.2 毫克/千克")."""
    unit = row.unit if lang == "en" else unit_name(row.unit, lang)
    if row.comparator == "range":
        return f"{row.limit}–{row.high} {unit}"
    if row.comparator == "not_detected":
        return "未检出" if lang != "en" else "not detected"
    return f"{row.comparator.replace('<=', '≤').replace('>=', '≥')} {row.limit} {unit}"


ANALYTE_NAMES: dict[str, str] = {  # analyte (as rules name it) -> Chinese, for messages
    "selenium": "硒", "cadmium": "镉", "lead": "铅", "mercury": "汞", "inorganic arsenic": "无机砷",
    "arsenic": "砷", "moisture": "水分", "methanol": "甲醇", "cyanide": "氰化物", "bromate": "溴酸盐",
    "nitrate": "硝酸盐", "nitrite": "亚硝酸盐", "ractopamine": "莱克多巴胺", "clenbuterol": "克伦特罗",
    "salbutamol": "沙丁胺醇", "metasilicic acid": "偏硅酸", "strontium": "锶", "zinc": "锌", "lithium": "锂",
    "iodide": "碘化物", "free carbon dioxide": "游离二氧化碳", "dissolved solids": "溶解性总固体",
    "coliforms": "大肠菌群", "total coliforms": "大肠菌群", "escherichia coli": "大肠埃希氏菌",
    "pseudomonas aeruginosa": "铜绿假单胞菌", "faecal streptococci": "粪链球菌",
    "sulphite reducing clostridia": "产气荚膜梭菌", "total volatile basic nitrogen": "挥发性盐基氮",
    "tvb-n": "挥发性盐基氮", "ethyl caproate": "己酸乙酯", "total acid": "总酸", "total ester": "总酯",
}


def analyte_zh(name: str) -> str:
    """An analyte's Chinese name for a message (as written when none is known)."""
    return ANALYTE_NAMES.get(name.lower(), name)


def compare_result(row: Threshold, data: Mapping[str, Any], name: str,
                   factor: Decimal | None) -> tuple[bool | None, Said]:
    """Whether a lab result meets `row` (None: not comparable) and a message citing the standard.

    `factor` converts the result's unit into the row's (None: the units do not compare). A null
    value with an `lod` is "not detected": it meets a "≤"/"not detected" limit only if the LOD does.
    """
    std, zh, unit_zh = row.standard, analyte_zh(name), unit_name(row.unit, "zh")
    if factor is None:
        return None, Said(f"{std}: {name} in {data.get('unit')!r} cannot be compared with a limit in {row.unit}",
                          f"{std}：{zh}的单位 {unit_name(data.get('unit'), 'zh')} 无法与限量单位 {unit_zh} 比较")
    if data.get("value") is None:
        lod = decimal(data.get("lod"))
        if lod is None:
            return None, Said(f"{std}: {name} has neither a value nor a LOD", f"{std}：{zh}既无结果也无检出限")
        lod = lod * factor
        shown = f"{name} not detected (LOD {lod.normalize():f} {row.unit})"
        shown_zh = f"{zh}未检出（检出限 {lod.normalize():f} {unit_zh}）"
        if row.comparator in ("<=", "<", "not_detected"):
            ok = row.limit is None or lod <= row.limit
            return ok, Said(f"{std}: {shown} {'meets' if ok else 'cannot show'} {limit_text(row)}",
                            f"{std}：{shown_zh}，{'符合' if ok else '无法证明符合'} {limit_text(row, 'zh')}")
        return False, Said(f"{std}: {shown} is below {limit_text(row)}",
                           f"{std}：{shown_zh}，低于 {limit_text(row, 'zh')}")
    value = decimal(data.get("value"))
    if value is None:
        return None, Said(f"{std}: {name} value {data.get('value')!r} is not a number",
                          f"{std}：{zh}的结果 {data.get('value')} 不是数字")
    value = value * factor
    ok = row.holds(value)
    shown = f"{name} {value.normalize():f} {row.unit}"
    shown_zh = f"{zh} {value.normalize():f} {unit_zh}"
    if row.comparator == "range":
        return ok, Said(f"{std}: {shown} {'within' if ok else 'outside'} {limit_text(row)}",
                        f"{std}：{shown_zh}，{'在' if ok else '不在'} {limit_text(row, 'zh')} 范围内")
    if row.comparator == "not_detected":
        return ok, Said(f"{std}: {shown} {'not detected' if ok else 'detected; must not be detected'}",
                        f"{std}：{shown_zh}，{'未检出' if ok else '检出；不得检出'}")
    sign = {"<=": ("≤", ">"), "<": ("<", "≥"), ">=": ("≥", "<"), ">": (">", "≤")}[row.comparator]
    mark = sign[0] if ok else sign[1]
    return ok, Said(f"{std}: {shown} {mark} {row.limit} {row.unit}", f"{std}：{shown_zh} {mark} {row.limit} {unit_zh}")


def judge_safety(rows: Sequence[Threshold], compare: Callable[[Threshold], tuple[bool | None, Said]]
                 ) -> tuple[str, Said]:
    """A lab result against every safety limit of its category: "fail" at the first limit it breaks,
    "info" where a limit cannot be compared, else "pass" with every limit's words."""
    messages: list[Said] = []
    for row in rows:
        ok, message = compare(row)
        if ok is None:
            return "info", message
        if not ok:
            return "fail", message
        messages.append(message)
    return "pass", Said("; ".join(messages), "；".join(m.zh for m in messages))


Body = Mapping[str, Any]
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_day(value: Any) -> date | None:
    """A YYYY-MM-DD string as a date (None when it is not one)."""
    if not isinstance(value, str) or not ISO_DATE.match(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def body_time(body: Body) -> datetime | None:
    """When an event happened (its `at`), or None when unreadable."""
    at = body.get("at")
    if isinstance(at, datetime):
        return at
    if isinstance(at, str):
        try:
            return datetime.fromisoformat(at.replace("Z", "+00:00"))
        except ValueError:
            return None
    return None


def fmt_decimal(value: Decimal) -> str:
    """A decimal for a message: at most 3 places, no trailing zeros (round only for display)."""
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -3:
        value = value.quantize(Decimal("0.001"))
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def bodies_of(bodies: Iterable[Body], *types: str) -> list[Body]:
    """The bodies of the given event types, in order."""
    return [body for body in bodies if body.get("type") in types]


def quarantine_numbers(bodies: Iterable[Body]) -> set[str]:
    """The 动物检疫合格证明 numbers a lot's records carry: a `quarantined` event's certificate_no and the
    certificate a `receive` recorded arriving with (quarantine_certificate)."""
    found: set[str] = set()
    for body in bodies:
        data = body.get("data")
        if not isinstance(data, Mapping):
            continue
        number = data.get("certificate_no") if body.get("type") == "quarantined" else (
            data.get("quarantine_certificate") if body.get("type") == "receive" else None)
        if isinstance(number, str) and number.strip():
            found.add(number.strip())
    return found


def genesis_inputs(history: Sequence[Body]) -> list[str]:
    """The input batches of the `transform` that made a batch (its first event), or [] for any other batch."""
    data = history[0].get("data") if history and history[0].get("type") == "transform" else None
    items = data.get("inputs") if isinstance(data, Mapping) else None
    if not isinstance(items, list):
        return []
    return [str(i["batch"]) for i in items if isinstance(i, Mapping) and isinstance(i.get("batch"), str)]


def proposal_inputs(p: Proposal) -> list[Mapping[str, Any]]:
    """A transformation's `data.inputs` items that are objects."""
    items = p.data.get("inputs")
    return [item for item in items if isinstance(item, Mapping)] if isinstance(items, list) else []


def body_day(body: Body) -> date | None:
    """The date an event happened on, or None when its `at` is unreadable."""
    moment = body_time(body)
    return None if moment is None else moment.date()


def claims_of(data: Mapping[str, Any]) -> set[str]:
    """The label claims an event names (`data.claims`: one text or a list)."""
    claims = data.get("claims")
    if isinstance(claims, str):
        return {claims}
    return {c for c in claims if isinstance(c, str)} if isinstance(claims, list) else set()


def convert_units(value: Decimal, unit: Any, to: str,
                  units: Mapping[str, tuple[str, Decimal]]) -> Decimal | None:
    """`value` in `unit` expressed in `to` using `units` (name -> (dimension, factor)); None if they do not compare."""
    if not isinstance(unit, str):
        return None
    src, dst = unit.replace(" ", "").lower(), to.replace(" ", "").lower()
    if src == dst:
        return value
    if src in units and dst in units and units[src][0] == units[dst][0]:
        return value * units[src][1] / units[dst][1]
    return None


decimal = decimal_or_none  # a decimal string as Decimal (None when absent or not a number)


JudgeTest = Callable[[Mapping[str, Any], date, "str | None"], "tuple[str, str | None]"]


@dataclass(frozen=True)
class Family:
    name: str
    event_types: tuple[EventType, ...]
    hard_rules: tuple[Rule, ...]
    soft_rules: tuple[Rule, ...]
    thresholds: tuple[Threshold, ...]
    judge_test: JudgeTest | None = None
    declarations: tuple[Declaration, ...] = ()  # one per event type of the family (farmtrace.rules.declare)  # a lab result's verdict: ("pass" | "fail" | "info", message)


_LOADED: dict[str, Family] = {}


def rules_for(family: str) -> Family:
    """The family module's declarations (importing it registers its event types)."""
    if family not in _LOADED:
        if family not in FAMILY_MODULES:
            raise LookupError(f"no product family {family!r}")
        module = importlib.import_module(f"{__name__}.{family}")
        # the 承诺达标合格证 is one event type for every family; its rules (scope first) run in each
        from farmtrace.rules.families.certificate import CERTIFICATE_RULES
        _LOADED[family] = Family(module.FAMILY, tuple(module.EVENT_TYPES), tuple(module.HARD_RULES) + CERTIFICATE_RULES,
                                 tuple(module.SOFT_RULES), tuple(module.THRESHOLDS),
                                 getattr(module, "judge_test", None), tuple(getattr(module, "DECLARATIONS", ())))
    return _LOADED[family]


def family_or_none(family: str) -> Family | None:
    """The family's declarations, or None while its module is not written yet."""
    try:
        return rules_for(family)
    except ModuleNotFoundError as err:
        if err.name != f"{__name__}.{family}":
            raise
        return None


def load_all() -> list[Family]:
    """Import every family module that exists yet."""
    return [family for name in FAMILY_MODULES if (family := family_or_none(name)) is not None]

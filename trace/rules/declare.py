"""One declaration per event type: its key data elements (KDEs) and the words people read.

A `Declaration` names an event type in Chinese and English and lists its KDEs, each with its kind,
unit, whether it is required, its allowed values and its label and help text in zh_CN and en.
Everything reads it, so there is no second list anywhere:

- validation: `declare()` registers the type with the envelope (farmtrace.ledger.events) and its
  validator checks each KDE in declaration order, then the declaration's cross-field `check`;
- pages: `describe()` turns an event's data into labelled values with units, in one language;
- the OpenAPI schema and the producer app's forms: `json_schema()` and the KDEs themselves;
- exports: column headings are KDE labels.

Messages keep the wording the validators always had ("data.x is required", ...): the API answers
exactly as before; only what pages show is new.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from farmtrace.ledger.errors import InvalidEventError
from farmtrace.ledger.errors import Said as Said  # re-exported: families write their messages with it
from farmtrace.ledger.events import EventType, register, require_decimal, require_text

Words = tuple[str, str]  # (zh_CN, en)

# ---- names of units and common values ---------------------------------------------------------

UNITS: dict[str, Words] = {  # UN/ECE Rec 20 codes and the symbols our records use -> (zh, en)
    "KGM": ("千克", "kg"), "kg": ("千克", "kg"), "TNE": ("吨", "t"), "t": ("吨", "t"), "GRM": ("克", "g"),
    "g": ("克", "g"), "LTR": ("升", "L"), "L": ("升", "L"), "l": ("升", "L"), "MLT": ("毫升", "mL"),
    "mL": ("毫升", "mL"), "ml": ("毫升", "mL"), "MTQ": ("立方米", "m³"), "m3": ("立方米", "m³"),
    "CEL": ("°C", "°C"), "°C": ("°C", "°C"), "H87": ("件", "pieces"), "EA": ("个", "each"),
    "HEA": ("头", "head"), "head": ("头", "head"), "bottle": ("瓶", "bottles"), "bottles": ("瓶", "bottles"),
    "XBO": ("瓶", "bottles"), "XBX": ("箱", "boxes"), "box": ("箱", "boxes"), "bag": ("袋", "bags"),
    "XBG": ("袋", "bags"), "mu": ("亩", "mu"), "ha": ("公顷", "ha"), "HAR": ("公顷", "ha"),
    "%": ("%", "%"), "%vol": ("%vol", "% vol"), "mg/kg": ("毫克/千克", "mg/kg"), "µg/kg": ("微克/千克", "µg/kg"),
    "μg/kg": ("微克/千克", "µg/kg"), "ug/kg": ("微克/千克", "µg/kg"), "mg/L": ("毫克/升", "mg/L"),
    "mg/l": ("毫克/升", "mg/L"), "µg/L": ("微克/升", "µg/L"), "μg/L": ("微克/升", "µg/L"), "ug/L": ("微克/升", "µg/L"),
    "g/L": ("克/升", "g/L"), "g/l": ("克/升", "g/L"), "CFU/mL": ("CFU/毫升", "CFU/mL"), "CFU/g": ("CFU/克", "CFU/g"),
    "CFU/250mL": ("CFU/250毫升", "CFU/250 mL"), "MPN/100mL": ("MPN/100毫升", "MPN/100 mL"), "NTU": ("NTU", "NTU"),
    "mL/head": ("毫升/头", "mL/head"), "ml/head": ("毫升/头", "mL/head"), "mg/head": ("毫克/头", "mg/head"),
    "dose": ("剂", "doses"), "doses": ("剂", "doses"), "mL/mu": ("毫升/亩", "mL/mu"), "g/mu": ("克/亩", "g/mu"),
    "kg/mu": ("千克/亩", "kg/mu"), "mS/cm": ("毫西门子/厘米", "mS/cm"), "µS/cm": ("微西门子/厘米", "µS/cm"),
    "pH": ("pH", "pH"), "day": ("天", "days"), "days": ("天", "days"), "year": ("年", "years"), "h": ("小时", "h"),
    "km": ("公里", "km"), "kWh": ("千瓦时", "kWh"), "1": ("", ""), "d": ("天", "d"), "Ct": ("Ct 值", "Ct"),
    "mg/100 g": ("毫克/100克", "mg/100 g"), "mg/100g": ("毫克/100克", "mg/100 g"),
    "TKM": ("吨公里", "t·km"), "KWH": ("千瓦时", "kWh"), "CNY": ("元", "yuan"),
    "copies/µL": ("拷贝/微升", "copies/µL"), "copies/μL": ("拷贝/微升", "copies/µL"), "Bq/L": ("贝可/升", "Bq/L"),
}

COUNTIES: dict[str, Words] = {  # GB/T 2260 codes of Bazhong's districts and counties
    "511902": ("巴州区", "Bazhou District"), "511903": ("恩阳区", "Enyang District"),
    "511921": ("通江县", "Tongjiang County"), "511922": ("南江县", "Nanjiang County"),
    "511923": ("平昌县", "Pingchang County"),
}

YES_NO: dict[bool, Words] = {True: ("是", "yes"), False: ("否", "no")}


def pick(words: Words, lang: str) -> str:
    """The words in `lang` ("en", else Chinese)."""
    return words[1] if lang == "en" else words[0]


def unit_name(code: Any, lang: str) -> str:
    """A unit code as people read it: KGM -> 千克 / kg; an unknown unit is shown as written."""
    if not isinstance(code, str):
        return ""
    words = UNITS.get(code) or UNITS.get(code.strip())
    return code if words is None else pick(words, lang)


# ---- declarations ------------------------------------------------------------------------------

KINDS = ("text", "decimal", "count", "choice", "date", "time", "hash", "org", "batch", "county", "list",
         "items", "bool", "object")


@dataclass(frozen=True)
class Kde:
    """One key data element of an event type.

    `kind` says what it holds and how it is shown: text, decimal (a decimal string), count (whole
    number as a string or integer), choice (one of `choices`), date (YYYY-MM-DD), time (RFC 3339),
    hash (an event hash), org (an org id: shown by name), batch (a batch id), county (GB/T 2260
    code: shown by name), list (of texts), items (list of objects described by `items`), bool,
    object (shown as its labelled parts, `items`).
    `unit` is a fixed unit (a key of UNITS); `unit_kde` names the KDE that holds the unit instead.
    `check(data, name)` replaces the kind's standard check where a family words it its own way.
    """

    name: str
    kind: str
    zh: str
    en: str
    required: bool = True
    unit: str | None = None
    unit_kde: str | None = None
    choices: Mapping[str, Words] = field(default_factory=dict)
    max_len: int = 200
    positive: bool = False
    help_zh: str = ""
    help_en: str = ""
    items: tuple[Kde, ...] = ()
    check: Callable[[Mapping[str, Any], str], Any] | None = None
    hidden: bool = False  # kept in the record, not shown on pages (e.g. a personal-data reference)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"KDE {self.name}: unknown kind {self.kind!r}")

    def label(self, lang: str) -> str:
        return self.en if lang == "en" else self.zh

    def help(self, lang: str) -> str:
        return self.help_en if lang == "en" else self.help_zh


@dataclass(frozen=True)
class Declaration:
    """An event type: its names, its KDEs in validation order, and a check across KDEs."""

    type: str
    zh: str
    en: str
    kdes: tuple[Kde, ...] = ()
    check: Callable[[Mapping[str, Any]], None] | None = None
    family: str | None = None
    genesis: bool = False
    by_non_holder: bool = False
    open: bool = False  # other data fields are allowed (families add KDEs of their own: `extend`)
    help_zh: str = ""
    help_en: str = ""
    example: Mapping[str, Any] | None = None  # a valid `data` (OpenAPI example, form preview, tests)

    def name(self, lang: str) -> str:
        return self.en if lang == "en" else self.zh

    def kde(self, name: str) -> Kde | None:
        return next((k for k in self.kdes if k.name == name), None)


DECLARATIONS: dict[str, Declaration] = {}
EXTRA_KDES: dict[str, dict[str, tuple[Kde, ...]]] = {}  # type -> family -> KDEs a family adds to a shared type
STEP_NAMES: dict[str, Words] = {}    # values of `observe`'s data.step and similar step words -> names
VALUE_NAMES: dict[str, Words] = {}   # enumerated values used across families (processes, routes, ...)
COMMON_KDES: list[Kde] = []          # optional KDEs any event type may carry (activity data: rules/carbon.py)
TAKES_CUSTODY = {"receive"}          # the one type signed by a non-holder who becomes the holder by it


def validate_kdes(kdes: Iterable[Kde], data: Mapping[str, Any]) -> None:
    """Check each KDE of `data` in order, with the messages the validators always gave."""
    for kde in kdes:
        if kde.check is not None:
            if kde.required or kde.name in data:
                kde.check(data, kde.name)
            continue
        if not kde.required and kde.name not in data:
            continue
        if kde.kind == "text":
            require_text(data, kde.name, max_len=kde.max_len)
        elif kde.kind == "decimal":
            require_decimal(data, kde.name, positive=kde.positive)
        elif kde.kind == "choice":
            if not isinstance(data.get(kde.name), str) or data[kde.name] not in kde.choices:
                raise InvalidEventError(f"data.{kde.name} must be one of {', '.join(kde.choices)}, got "
                                        f"{data.get(kde.name)!r}", field=f"data.{kde.name}")
        elif kde.kind == "bool":
            if not isinstance(data.get(kde.name), bool):
                raise InvalidEventError(f"data.{kde.name} must be true or false", field=f"data.{kde.name}")
        elif kde.kind == "list":
            value = data.get(kde.name)
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise InvalidEventError(f"data.{kde.name} must be a list of texts", field=f"data.{kde.name}")
        # other kinds carry their own `check` (hash, org, date, ...) or are free-form by design


def declare(decl: Declaration) -> Declaration:
    """Register `decl` as an event type the envelope accepts, validated from its KDEs."""
    kdes, check = decl.kdes, decl.check

    def validate(data: Mapping[str, Any]) -> None:
        validate_kdes(kdes, data)
        common = [k for k in COMMON_KDES if k.name in data and decl.kde(k.name) is None]
        if common and decl.by_non_holder and decl.type not in TAKES_CUSTODY:
            name = common[0].name  # a lab's test or a regulator's recall would add to another org's footprint
            raise InvalidEventError(Said(
                f"data.{name}: a {decl.en.lower()} is signed by someone other than the batch's holder, so it "
                "carries no activity data: only the holder records what handling the batch emitted",
                f"data.{name}：{decl.zh}由批次持有方以外的机构签名，不能附带活动数据：只有持有方记录本批次的排放"),
                field=f"data.{name}")
        validate_kdes(common, data)
        if check is not None:
            check(data)

    register(EventType(decl.type, validate, genesis=decl.genesis, family=decl.family,
                       by_non_holder=decl.by_non_holder))
    DECLARATIONS[decl.type] = decl
    return decl


def extend(type_name: str, family: str, kdes: Sequence[Kde]) -> None:
    """A family's own KDEs on a shared step (e.g. moisture on produce's `stored`): shown and
    described with the step; their checks are the family's rules."""
    EXTRA_KDES.setdefault(type_name, {})[family] = tuple(kdes)


def declaration_of(type_name: str) -> Declaration | None:
    return DECLARATIONS.get(type_name)


def kdes_of(type_name: str, family: str | None = None) -> tuple[Kde, ...]:
    """Every KDE an event of this type may carry in `family` (its own, then the family's additions)."""
    decl = DECLARATIONS.get(type_name)
    own = decl.kdes if decl else ()
    extra = EXTRA_KDES.get(type_name, {})
    added = extra.get(family, ()) if family else tuple(k for ks in extra.values() for k in ks)
    mine = {k.name: k for k in added}  # a family's own words for a shared KDE win (e.g. its categories by name)
    listed = tuple(mine.pop(k.name, k) for k in own) + tuple(mine.values())
    names = {k.name for k in listed}
    return listed + tuple(k for k in COMMON_KDES if k.name not in names)


def type_name(type_: str, lang: str, data: Mapping[str, Any] | None = None) -> str:
    """An event type as people read it; an `observe` is named by its step."""
    if data is not None and type_ == "observe" and isinstance(data.get("step"), str):
        step = data["step"]
        words = STEP_NAMES.get(step)
        if words is None and step in DECLARATIONS:
            words = (DECLARATIONS[step].zh, DECLARATIONS[step].en)
        return pick(words, lang) if words else step
    decl = DECLARATIONS.get(type_)
    if decl is None:
        words = STEP_NAMES.get(type_)  # the log's own entry types (key_added, key_revoked)
        return pick(words, lang) if words else type_
    return decl.name(lang)


# ---- showing an event's data -------------------------------------------------------------------

@dataclass(frozen=True)
class Shown:
    """One labelled value of an event, in one language, ready for a page."""

    name: str      # the KDE (kept for tests and anchors, never printed)
    label: str
    value: str


def _text(value: Any, lang: str) -> str:
    if isinstance(value, bool):
        return pick(YES_NO[value], lang)
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return ("、" if lang != "en" else ", ").join(_text(v, lang) for v in value)
    if isinstance(value, Mapping):
        return ("；" if lang != "en" else "; ").join(f"{_text(v, lang)}" for v in value.values())
    return "" if value is None else str(value)


def number_text(value: Any) -> str:
    """A decimal string as written, without trailing zeros after a point ("12.50" -> "12.5")."""
    if not isinstance(value, str):
        return _text(value, "zh")
    try:
        number = Decimal(value)
    except InvalidOperation:
        return value
    text = format(number, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def value_text(kde: Kde, data: Mapping[str, Any], lang: str, *, orgs: Mapping[str, str] | None = None) -> str:
    """One KDE's value in words: numbers with their unit, choices and counties by name, orgs by name."""
    value = data.get(kde.name)
    if kde.name == "value" and value is None and "lod" in data:
        return "未检出" if lang != "en" else "not detected"
    if kde.kind in ("decimal", "count"):
        unit = kde.unit if kde.unit is not None else (data.get(kde.unit_kde) if kde.unit_kde else None)
        shown = unit_name(unit, lang) if unit is not None else ""
        text = number_text(value) if isinstance(value, str) else _text(value, lang)
        return f"{text} {shown}".strip() if shown not in ("%", "%vol", "°C") else f"{text}{shown}"
    if kde.kind == "choice":
        words = kde.choices.get(value) if isinstance(value, str) else None
        return pick(words, lang) if words else _text(value, lang)
    if kde.kind == "county":
        words = COUNTIES.get(value) if isinstance(value, str) else None
        return pick(words, lang) if words else _text(value, lang)
    if kde.kind == "org":
        names = orgs or {}
        if isinstance(value, list):
            return ("、" if lang != "en" else ", ").join(names.get(v, v) for v in value if isinstance(v, str))
        return names.get(value, _text(value, lang)) if isinstance(value, str) else _text(value, lang)
    if kde.kind == "hash":
        return f"#{value[:12]}" if isinstance(value, str) else _text(value, lang)
    if kde.kind == "list":
        if kde.choices and isinstance(value, list):
            return ("、" if lang != "en" else ", ").join(
                pick(kde.choices[v], lang) if isinstance(v, str) and v in kde.choices else _text(v, lang) for v in value)
        if isinstance(value, str) and kde.choices:
            return pick(kde.choices[value], lang) if value in kde.choices else value
        return _text(value, lang)
    if kde.kind in ("items", "object"):
        parts = value if isinstance(value, list) else [value]
        rows = []
        for part in parts:
            if not isinstance(part, Mapping):
                rows.append(_text(part, lang))
                continue
            folded = {k.unit_kde for k in kde.items if k.unit_kde}
            rows.append(" ".join(f"{k.label(lang)} {value_text(k, part, lang, orgs=orgs)}"
                                 for k in kde.items if k.name in part and not k.hidden and k.name not in folded))
        return ("；" if lang != "en" else "; ").join(r for r in rows if r)
    if kde.kind == "text" and isinstance(value, str):
        words = kde.choices.get(value) or VALUE_NAMES.get(value) or VALUE_NAMES.get(value.lower())
        if words:
            return pick(words, lang)
    return _text(value, lang)


def describe(type_: str, data: Mapping[str, Any], lang: str, *, family: str | None = None,
             orgs: Mapping[str, str] | None = None, skip: Iterable[str] = ()) -> list[Shown]:
    """An event's data as labelled values in `lang`, in declaration order.

    A unit KDE is shown with its value, not on its own line. Data fields no declaration names are
    shown under a neutral label ("其他记录" / "Other record"), never by their key.
    """
    kdes = kdes_of(type_, family)
    units = {k.unit_kde for k in kdes if k.unit_kde}
    skipped = set(skip) | units | {"step"}
    shown = [Shown(k.name, k.label(lang), value_text(k, data, lang, orgs=orgs))
             for k in kdes if k.name in data and k.name not in skipped and not k.hidden]
    known = {k.name for k in kdes} | skipped | {"personal"}
    for name, value in data.items():
        if name not in known and value not in (None, "", [], {}):
            shown.append(Shown(name, "其他记录" if lang != "en" else "Other record", _text(value, lang)))
    return [s for s in shown if s.value != ""]


# ---- JSON Schema (for OpenAPI and forms) -------------------------------------------------------

def json_schema(decl: Declaration, family: str | None = None) -> dict[str, Any]:
    """The `data` object of an event type as JSON Schema, with titles in Chinese and English."""
    props: dict[str, Any] = {}
    for kde in kdes_of(decl.type, family):
        prop: dict[str, Any] = {"title": kde.zh, "description": kde.en + (f" — {kde.help_en}" if kde.help_en else "")}
        if kde.kind in ("decimal",):
            prop.update(type="string", pattern=r"^-?(0|[1-9][0-9]{0,17})(\.[0-9]{1,9})?$")
        elif kde.kind == "choice":
            prop["enum"] = list(kde.choices)
        elif kde.kind == "bool":
            prop["type"] = "boolean"
        elif kde.kind == "list":
            prop.update(type="array", items={"type": "string"})
        elif kde.kind == "items":
            prop.update(type="array", items={"type": "object"})
        elif kde.kind == "object":
            prop["type"] = "object"
        elif kde.kind == "count":
            prop["type"] = ["string", "integer"]
        else:
            prop["type"] = "string"
            if kde.kind == "text":
                prop["maxLength"] = kde.max_len
        if kde.unit:
            prop["x-unit"] = kde.unit
        props[kde.name] = prop
    schema: dict[str, Any] = {"type": "object", "title": decl.zh, "description": decl.en, "properties": props,
                              "required": [k.name for k in decl.kdes if k.required],
                              "additionalProperties": True}  # personal-data refs and family KDEs may be added
    return schema


# ---- rule messages in both languages ----------------------------------------------------------

def said_in(message: str, lang: str) -> str:
    """A message in `lang`: a Said's Chinese on Chinese pages; a plain text as it is."""
    return message.in_lang(lang) if isinstance(message, Said) else message


def registered(decls: Iterable[Declaration]) -> tuple[EventType, ...]:
    """The envelope's event types for these declarations (a family module's EVENT_TYPES)."""
    from farmtrace.ledger.events import EVENT_TYPES
    return tuple(EVENT_TYPES[d.type] for d in decls)

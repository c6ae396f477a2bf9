"""Pork (猪肉, "一块肉"): live pigs from ear tagging to retail cuts (domain.md §3).

Event types of this family (registered on import), with their key data elements:
- `animal_tagged` (starts the animal or pen lot): product, lot, family "pork", quantity (whole
  head), unit "head", tags (one 15-digit ear tag `^1\\d{14}$` per head), birth_or_arrival
  (YYYY-MM-DD), breed; optional origin_doc, sex.
- `fed`: feed, supplier, lot, kg, additives (list, may be empty).
- `immunised`: vaccine, manufacturer, batch, dose, dose_unit, vet.
- `treated`: drug, approval_no, dose, dose_unit, route, start, end (dates), withdrawal_days.
- `quarantined`: certificate_no (动物检疫合格证明), issuer, head, tags covered.
Generic types judged here: ship, receive, sell, packed, transform (process "slaughter" | "cutting"
| other), test, inspected, temperature_logged, stored.

Hard rules (the event is refused; the message cites the standard and its edition):
- pork.ear_tag: tags unique, one per head, county part a GB/T 2260 code; a certificate covers only
  tags of the batch (畜禽标识和养殖档案管理办法 2006).
- pork.banned_additive: no β-agonist in `fed` additives (农业农村部公告第250号 2019).
- pork.quarantine_certificate: live pigs are shipped only with a `quarantined` certificate issued
  since they last arrived, covering the head shipped (动物检疫管理办法 2022).
- pork.commitment_certificate: from 2026-02-01 a producer's ship of live pigs, a receive of live
  pigs, and a mix of ≥ 2 live lots carry a 承诺达标合格证 number as data.certificate_no, the key
  produce uses (农业农村部令2025年第4号).
- pork.withdrawal: last treatment end + withdrawal days (at least the 农业部公告第278号 2003 period
  for listed drugs) must not fall after a ship of live pigs or their slaughter.
- pork.slaughter_entry: every pig lot slaughtered has a certificate covering its head (生猪屠宰管理条例 2021).
- pork.slaughter_balance: Σ hot carcass kg < Σ live weight; pork.cutting_balance: cuts kg ≤ input kg.
- pork.asf_negative: no product of a slaughter batch is shipped, sold or packed before a negative
  ASF PCR result, and never after a positive one (农业农村部公告第119号 2019).
- pork.beta_agonist: a detected clenbuterol / ractopamine / salbutamol stops shipping, selling,
  packing and slaughter (农业农村部公告第250号 2019).
- pork.residue_limits: a failing lead / cadmium / TVB-N result stops them too (GB 2762-2022, GB 2707-2016).
- pork.two_certificates: meat leaves (ship, sell) only with "两证两章": an `inspected` event carrying
  the quarantine certificate and the meat-quality certificate numbers (生猪屠宰管理条例 2021).
- pork.chilled_excursion: meat whose readings stayed above 8 °C for more than 2 h is not shipped,
  sold or packed (our rule; GB/T 24616-2019 puts chilled food below 8 °C).
Soft rules (a warning the regulator sees):
- pork.chilled_reading: a chilled reading above 4 °C (our rule, industry practice 0–4 °C).
- pork.frozen_reading: a frozen reading above −18 °C (GB/T 24616-2019).
- pork.cutting_room: a cutting-room air reading above 12 °C (GB 12694-2016).

Evidence across a transformation. The engine gives a rule the histories of a transformation's
direct inputs only, so a slaughter or cutting `transform` may carry its inputs' evidence forward:
`asf_reports` (report numbers of negative ASF results) and `meat_certificates`
([{"quarantine": no, "quality": no}]). Both are checked against the direct inputs when the
transformation is appended, and later events of the output batch trust them.

Temperature readings: `temperature_logged` data {device, value, unit "CEL", probe, location
("air" | "core" | "cutting_room"), regime ("chilled" (default) | "frozen" | "chilling" while the
carcass is being chilled (排酸), not judged)}; a `stored` event may carry `temperature` and `regime`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from farmtrace.ledger.errors import InvalidEventError
from farmtrace.ledger import events
from farmtrace.rules.steps import validate_new_batch
from farmtrace.ledger.events import EventType, register, require_decimal, require_text
from farmtrace.rules.families import (Proposal, Rule, Threshold, bodies_of, body_time, convert_units, decimal, fmt_decimal, parse_day,
                proposal_inputs, threshold_for)

FAMILY = "pork"

Body = Mapping[str, Any]

TAG = re.compile(r"^1\d{14}$")
COUNT = re.compile(r"^[1-9]\d{0,6}$")
DAYS = re.compile(r"^(0|[1-9]\d{0,3})$")
# GB/T 2260 province-level prefixes: the first two digits of any real county code.
PROVINCES = frozenset({"11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
                       "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64",
                       "65", "71", "81", "82"})
SLAUGHTER = frozenset({"slaughter", "屠宰"})
CUTTING = frozenset({"cutting", "分割"})
WEIGHT_UNITS = frozenset({"KGM", "kg"})
BETA_AGONISTS = ("clenbuterol", "ractopamine", "salbutamol")
ANALYTES = {  # what labs write -> our analyte name
    "asf": "asfv", "asfv": "asfv", "非洲猪瘟": "asfv", "非洲猪瘟病毒": "asfv", "african swine fever virus": "asfv",
    "clenbuterol": "clenbuterol", "克伦特罗": "clenbuterol", "盐酸克伦特罗": "clenbuterol",
    "ractopamine": "ractopamine", "莱克多巴胺": "ractopamine",
    "salbutamol": "salbutamol", "沙丁胺醇": "salbutamol",
    "lead": "lead", "pb": "lead", "铅": "lead", "cadmium": "cadmium", "cd": "cadmium", "镉": "cadmium",
    "tvb-n": "tvb-n", "tvbn": "tvb-n", "挥发性盐基氮": "tvb-n",
}
COMMITMENT_FROM = date(2026, 2, 1)  # 承诺达标合格证管理办法 in force (domain.md §1.4 ✔)
COMMITMENT = "承诺达标合格证管理办法 (农业农村部令2025年第4号)"
ASF = "农业农村部公告第119号 (2019)"
BANNED = "农业农村部公告第250号 (2019)"
TAGS = "畜禽标识和养殖档案管理办法 (2006)"
QUARANTINE = "动物检疫管理办法 (2022)"
SLAUGHTER_RULES = "生猪屠宰管理条例 (2021)"
WITHDRAWAL = "农业部公告第278号 (2003)"
OURS = "farmtrace rule (domain.md §3)"
OUR_RULES_FROM = date(2000, 1, 1)  # our own rules apply to every event in the ledger

# ---- thresholds (domain.md §3.2); rows are picked by the date of the event they judge ------------------

THRESHOLDS: tuple[Threshold, ...] = (
    # lab results: for "not_detected", `limit` is the highest LOD the lab may report (None: any)
    Threshold("pork.asf_negative", "asfv", "pig", "not_detected", None, None, "Ct", ASF,
              date(2019, 2, 1), status="confirmed"),
    *(Threshold("pork.beta_agonist", name, "pork", "not_detected", Decimal("0.5"), None, "µg/kg", BANNED,
                date(2019, 12, 27), status="unverified") for name in BETA_AGONISTS),
    Threshold("pork.residue_limits", "lead", "pork", "<=", Decimal("0.2"), None, "mg/kg", "GB 2762-2022",
              date(2023, 6, 30), status="confirmed"),
    Threshold("pork.residue_limits", "cadmium", "pork", "<=", Decimal("0.1"), None, "mg/kg", "GB 2762-2022",
              date(2023, 6, 30), status="unverified"),
    Threshold("pork.residue_limits", "tvb-n", "pork", "<=", Decimal("15"), None, "mg/100 g", "GB 2707-2016",
              date(2017, 6, 23), status="unverified"),
    # withdrawal periods (休药期) the declared withdrawal_days may not undercut
    Threshold("pork.withdrawal", "乙酰甲喹片", "pig", ">=", Decimal("35"), None, "d", WITHDRAWAL,
              date(2003, 5, 22), status="confirmed"),
    Threshold("pork.withdrawal", "土霉素注射液", "pig", ">=", Decimal("28"), None, "d", WITHDRAWAL,
              date(2003, 5, 22), status="confirmed"),
    Threshold("pork.withdrawal", "土霉素片", "pig", ">=", Decimal("7"), None, "d", WITHDRAWAL,
              date(2003, 5, 22), status="confirmed"),
    # cold chain (GB/T 24616-2019's in-force date is unverified: its limits are applied to the whole ledger)
    Threshold("pork.chilled_reading", "temperature", "chilled", "<=", Decimal("4"), None, "CEL",
              "farmtrace rule (industry practice 0–4 °C)", OUR_RULES_FROM, status="unverified"),
    Threshold("pork.chilled_excursion", "temperature", "chilled", "<=", Decimal("8"), None, "CEL",
              "GB/T 24616-2019", OUR_RULES_FROM, status="confirmed"),
    Threshold("pork.chilled_excursion", "duration", "chilled", "<=", Decimal("2"), None, "h",
              "farmtrace rule", OUR_RULES_FROM, status="unverified"),
    Threshold("pork.frozen_reading", "temperature", "frozen", "<=", Decimal("-18"), None, "CEL",
              "GB/T 24616-2019", OUR_RULES_FROM, status="confirmed"),
    Threshold("pork.cutting_room", "temperature", "cutting_room", "<=", Decimal("12"), None, "CEL",
              "GB 12694-2016", date(2017, 12, 23), status="unverified"),
    Threshold("pork.carcass_core", "temperature", "carcass_core", "<=", Decimal("7"), None, "CEL",
              "GB 12694-2016", date(2017, 12, 23), status="unverified"),  # data only: chilling is not judged yet
)
LAB_RULES = frozenset({"pork.asf_negative", "pork.beta_agonist", "pork.residue_limits"})


# ---- validators of this family's event types ---------------------------------------------------------

def _require_date(data: Mapping[str, Any], name: str, *, optional: bool = False) -> date | None:
    if name not in data and optional:
        return None
    value = data.get(name)
    day = _day(value)
    if day is None:
        raise InvalidEventError(f"data.{name} must be a date such as 2026-03-15, got {value!r}", field=f"data.{name}")
    return day


def _require_count(data: Mapping[str, Any], name: str) -> int:
    value = data.get(name)
    if not isinstance(value, str) or not COUNT.match(value):
        raise InvalidEventError(f'data.{name} must be a whole number of head as a string, e.g. "12", got {value!r}',
                                field=f"data.{name}")
    return int(value)


def _require_list(data: Mapping[str, Any], name: str, *, allow_empty: bool = False) -> list[str]:
    value = data.get(name)
    if not isinstance(value, list) or (not value and not allow_empty) or len(value) > 1000 or not all(
            isinstance(item, str) and item.strip() and len(item) <= 200 for item in value):
        raise InvalidEventError(f"data.{name} must be a list of non-empty texts", field=f"data.{name}")
    return list(value)


def _require_tags(data: Mapping[str, Any], name: str, head: int) -> None:
    tags = _require_list(data, name)
    for i, tag in enumerate(tags):
        if not TAG.match(tag):
            raise InvalidEventError(f"data.{name}[{i}] must be a 15-digit pig ear tag (1 + 6-digit county code + "
                                    f"8-digit sequence), got {tag!r}", field=f"data.{name}[{i}]")
    if len(tags) != head:
        raise InvalidEventError(f"data.{name} lists {len(tags)} ear tags for {head} head; one tag per animal",
                                field=f"data.{name}")


def _animal_tagged(data: Mapping[str, Any]) -> None:
    validate_new_batch(data)
    if data["family"] != FAMILY:
        raise InvalidEventError(f'data.family must be "{FAMILY}"', field="data.family")
    if data["unit"] != "head":
        raise InvalidEventError('data.unit must be "head" for tagged animals', field="data.unit")
    _require_tags(data, "tags", _require_count(data, "quantity"))
    _require_date(data, "birth_or_arrival")
    require_text(data, "breed", max_len=64)
    require_text(data, "origin_doc", max_len=100, optional=True)
    require_text(data, "sex", max_len=16, optional=True)


def _fed(data: Mapping[str, Any]) -> None:
    for name in ("feed", "supplier", "lot"):
        require_text(data, name, max_len=100)
    require_decimal(data, "kg", positive=True)
    _require_list(data, "additives", allow_empty=True)


def _immunised(data: Mapping[str, Any]) -> None:
    for name in ("vaccine", "manufacturer", "batch"):
        require_text(data, name, max_len=100)
    require_decimal(data, "dose", positive=True)
    require_text(data, "dose_unit", max_len=16)
    require_text(data, "vet", max_len=100)


def _treated(data: Mapping[str, Any]) -> None:
    for name in ("drug", "approval_no"):
        require_text(data, name, max_len=100)
    require_decimal(data, "dose", positive=True)
    require_text(data, "dose_unit", max_len=16)
    require_text(data, "route", max_len=32)
    start, end = _require_date(data, "start"), _require_date(data, "end")
    if start and end and end < start:
        raise InvalidEventError(f"data.end ({end}) is before data.start ({start})", field="data.end")
    value = data.get("withdrawal_days")
    if not isinstance(value, str) or not DAYS.match(value):
        raise InvalidEventError(f'data.withdrawal_days must be whole days as a string, e.g. "28", got {value!r}',
                                field="data.withdrawal_days")


def _quarantined(data: Mapping[str, Any]) -> None:
    require_text(data, "certificate_no", max_len=64)
    require_text(data, "issuer", max_len=100)
    _require_tags(data, "tags", _require_count(data, "head"))


EVENT_TYPES: tuple[EventType, ...] = (
    register(EventType("animal_tagged", _animal_tagged, family=FAMILY, genesis=True)),
    register(EventType("fed", _fed, family=FAMILY)),
    register(EventType("immunised", _immunised, family=FAMILY)),
    register(EventType("treated", _treated, family=FAMILY)),
    register(EventType("quarantined", _quarantined, family=FAMILY)),
)


# ---- reading bodies -----------------------------------------------------------------------------------

def _data(body: Body) -> Mapping[str, Any]:
    data = body.get("data")
    return data if isinstance(data, Mapping) else {}


_when = body_time


_day = parse_day


_fmt = fmt_decimal


_of = bodies_of


def _genesis(p: Proposal) -> Body | None:
    kind = events.EVENT_TYPES.get(p.type)
    if p.batch is None or (kind is not None and kind.genesis):
        return {"type": p.type, "at": p.at, "data": p.data}
    return p.history[0] if p.history else None


def _genesis_of(bodies: Sequence[Body]) -> Body | None:
    return bodies[0] if bodies else None


def _unit(p: Proposal) -> str | None:
    if p.batch is not None and p.batch.unit is not None:
        return p.batch.unit
    genesis = _genesis(p)
    unit = _data(genesis).get("unit") if genesis else None
    return unit if isinstance(unit, str) else None


def _is_live(bodies: Sequence[Body], unit: str | None) -> bool:
    """Live pigs: a lot that started with ear tagging, or any lot counted in head."""
    genesis = _genesis_of(bodies)
    return unit == "head" or (genesis is not None and genesis.get("type") == "animal_tagged")


def _is_meat(p: Proposal) -> bool:
    """A product of slaughter: in this family, any lot not counted in head — including one simply created
    in kg, so meat cannot be minted without a slaughter record and its tests."""
    genesis = _genesis(p)
    return genesis is not None and _unit(p) != "head"


def _process(body: Body | None) -> str:
    return str(_data(body).get("process", "")).strip().lower() if body else ""


_inputs = proposal_inputs


def _input_quantity(p: Proposal, batch: str) -> tuple[Decimal | None, str | None]:
    for item in _inputs(p):
        if item.get("batch") == batch:
            unit = item.get("unit")
            return decimal(item.get("quantity")), unit if isinstance(unit, str) else None
    return None, None


def _visible(p: Proposal) -> list[Body]:
    """This batch's history and whatever input histories the engine supplied."""
    return [*p.history, *(body for bodies in p.inputs.values() for body in bodies)]


# ---- lab results ----------------------------------------------------------------------------------------

_UNITS = {  # unit -> (dimension, factor to the dimension's base unit)
    "mg/kg": ("mass", Decimal(1)), "µg/kg": ("mass", Decimal("0.001")), "μg/kg": ("mass", Decimal("0.001")),
    "ug/kg": ("mass", Decimal("0.001")), "g/kg": ("mass", Decimal(1000)),
    "mg/l": ("volume", Decimal(1)), "g/l": ("volume", Decimal(1000)), "µg/l": ("volume", Decimal("0.001")),
    "μg/l": ("volume", Decimal("0.001")), "ug/l": ("volume", Decimal("0.001")),
    "mg/100g": ("per100g", Decimal(1)),
}


def _convert(value: Decimal, unit: Any, to: str) -> Decimal | None:
    """`value` in `unit` expressed in `to`, or None when the units do not compare."""
    return convert_units(value, unit, to, _UNITS)


def analyte_of(data: Mapping[str, Any]) -> str:
    raw = str(data.get("analyte", "")).strip()
    return ANALYTES.get(raw.lower(), ANALYTES.get(raw, raw.lower()))


def judge_row(row: Threshold, data: Mapping[str, Any], name: str, value: Decimal | None = None,
              note: str = "") -> tuple[str, str]:
    """Judge one lab result against one threshold row (a value equal to a "<=" limit passes)."""
    unit = data.get("unit")
    if value is None and data.get("value") is None:
        lod = decimal(data.get("lod"))
        if lod is None:
            return "info", f"{row.standard}: {name} has neither a value nor an LOD"
        if row.limit is None and row.comparator == "not_detected":
            return "pass", f"{row.standard}: {name} not detected (LOD {data.get('lod')} {unit})"
        bound = row.limit if row.limit is not None else Decimal(0)
        lod_in = _convert(lod, unit, row.unit)
        if lod_in is None:
            return "info", f"{row.standard}: {name} LOD is in {unit}, the limit in {row.unit}; cannot compare"
        if lod_in <= bound:
            return "pass", f"{row.standard}: {name} not detected (LOD {data.get('lod')} {unit} ≤ {_fmt(bound)} {row.unit})"
        return "info", (f"{row.standard}: {name} not detected, but LOD {data.get('lod')} {unit} is above "
                        f"{_fmt(bound)} {row.unit}; not conclusive")
    measured = value if value is not None else decimal(data.get("value"))
    if measured is None:
        return "info", f"{row.standard}: {name} value is not a number"
    if row.comparator == "not_detected":
        if measured == 0:
            return "pass", f"{row.standard}: {name} not detected"
        return "fail", f"{row.standard}: {name} detected ({data.get('value')} {unit}); must not be detected"
    converted = measured if value is not None else _convert(measured, unit, row.unit)
    if converted is None:
        return "info", f"{row.standard}: {name} is in {unit}, the limit in {row.unit}; cannot compare"
    shown = f"{name} {_fmt(converted)} {row.unit}{note}"
    if row.holds(converted):
        return "pass", f"{row.standard}: {shown} within {row.comparator} {_fmt(row.limit or Decimal(0))} {row.unit}"
    return "fail", f"{row.standard}: {shown} > {_fmt(row.limit or Decimal(0))} {row.unit}"


def judge_test(data: Mapping[str, Any], on: date, category: str | None = None) -> tuple[str, str | None]:
    """The verdict on a lab `test` body's data: ("pass" | "fail" | "info", message citing the standard).

    A null value with an `lod` means "not detected": it passes a must-not-be-detected rule (β-agonists,
    ASF PCR) when the LOD is at or below the row's required LOD. "info": no threshold applies.
    """
    name = analyte_of(data)
    rows = [row for row in THRESHOLDS if row.rule_id in LAB_RULES and row.analyte == name]
    if category is not None and any(row.category == category for row in rows):
        rows = [row for row in rows if row.category == category]
    row = threshold_for(rows, rows[0].rule_id, on) if rows else None
    if row is None:
        return "info", None
    return judge_row(row, data, name)


def _verdicts(bodies: Iterable[Body], analytes: Iterable[str]) -> list[tuple[str, str, Body]]:
    """(verdict, message, body) of every test of the given analytes."""
    wanted = set(analytes)
    out = []
    for body in _of(bodies, "test"):
        data = _data(body)
        when = _when(body)
        if analyte_of(data) in wanted and when is not None:  # the envelope always has `at`; rules stay deterministic
            verdict, message = judge_test(data, when.date())
            out.append((verdict, message or "", body))
    return out


# ---- hard rules ---------------------------------------------------------------------------------------------

def _ear_tags(p: Proposal) -> str | None:
    tags = [t for t in p.data.get("tags", []) if isinstance(t, str)]
    for tag in tags:
        if tag[1:3] not in PROVINCES:
            return f"{TAGS}: ear tag {tag} has county part {tag[1:7]}, not a GB/T 2260 county code"
    if len(set(tags)) != len(tags):
        twice = sorted({t for t in tags if tags.count(t) > 1})
        return f"{TAGS}: one tag per animal, never reused; {', '.join(twice)} listed twice"
    if p.type == "quarantined":
        own = {t for body in _of(p.history, "animal_tagged") for t in _data(body).get("tags", [])}
        stranger = [t for t in tags if own and t not in own]
        if stranger:
            return f"{TAGS}: certificate {p.data.get('certificate_no')} names tags not in this lot: {', '.join(stranger)}"
    return None


def _banned_additive(p: Proposal) -> str | None:
    for additive in p.data.get("additives", []):
        text = str(additive).lower()
        for alias, name in ANALYTES.items():
            if name in BETA_AGONISTS and alias in text:
                return f"{BANNED}: {additive} ({name}, a β-agonist) is banned in food animals"
    return None


def _certificate_for(bodies: Sequence[Body], since_last_receive: bool) -> Body | None:
    start = 0
    if since_last_receive:
        for i, body in enumerate(bodies):
            if body.get("type") == "receive":
                start = i
    certificates = _of(bodies[start:], "quarantined")
    return certificates[-1] if certificates else None


def _quarantine_certificate(p: Proposal) -> str | None:
    if p.batch is None or not _is_live(p.history, _unit(p)):
        return None
    shipped = decimal(p.data.get("quantity"))
    certificate = _certificate_for(p.history, since_last_receive=True)
    if certificate is None:
        return (f"{QUARANTINE}: live pigs leave only with a 动物检疫合格证明; no `quarantined` event "
                "since the lot last arrived")
    head = decimal(_data(certificate).get("head"))
    if shipped is not None and head is not None and head < shipped:
        return (f"{QUARANTINE}: certificate {_data(certificate).get('certificate_no')} covers {head} head, "
                f"{shipped} shipped")
    return None


def _commitment_certificate(p: Proposal) -> str | None:
    if p.at.date() < COMMITMENT_FROM:
        return None
    number = p.data.get("certificate_no")
    has_number = isinstance(number, str) and number.strip() != ""
    if p.type == "transform":
        if p.data.get("unit") == "head" and len(p.data.get("inputs", []) or []) >= 2 and not has_number:
            return f"{COMMITMENT}: mixing live lots issues a new 承诺达标合格证; record data.certificate_no"
        return None
    if p.batch is None or not _is_live(p.history, _unit(p)):
        return None
    if p.type == "ship" and p.org_kind == "producer" and not has_number:
        return f"{COMMITMENT}: a producer ships live pigs with a 承诺达标合格证 per lot; record data.certificate_no"
    if p.type == "receive":
        if not has_number:
            return f"{COMMITMENT}: the purchaser records the collected 承诺达标合格证; record data.certificate_no"
        ships = _of(p.history, "ship")
        issued = _data(ships[-1]).get("certificate_no") if ships else None
        if isinstance(issued, str) and issued != number:
            return f"{COMMITMENT}: received certificate {number} is not the one shipped ({issued})"
    return None


def _row(rule_id: str, analyte: str, on: date) -> Threshold | None:
    return threshold_for([row for row in THRESHOLDS if row.analyte == analyte], rule_id, on)


def _withdrawal_days(treatment: Mapping[str, Any], on: date) -> tuple[int, str]:
    """The withdrawal period to apply: the declared one, or the listed one when that is longer."""
    declared = int(str(treatment.get("withdrawal_days", "0")))
    listed = _row("pork.withdrawal", str(treatment.get("drug", "")).strip(), on)
    if listed is not None and listed.limit is not None and int(listed.limit) > declared:
        return int(listed.limit), f"the listed period for {treatment.get('drug')}"
    return declared, "declared withdrawal"


def _withdrawal_breach(bodies: Iterable[Body], on: date, what: str) -> str | None:
    for body in _of(bodies, "treated"):
        data = _data(body)
        end = _day(data.get("end"))
        if end is None or not DAYS.match(str(data.get("withdrawal_days", ""))):
            continue
        days, basis = _withdrawal_days(data, on)
        clear = end + timedelta(days=days)
        if clear > on:
            return (f"{WITHDRAWAL}: {data.get('drug')} treatment ended {end}; {basis} {days} d runs to {clear}, "
                    f"after the {what} on {on}")
    return None


def _withdrawal(p: Proposal) -> str | None:
    on = p.at.date()
    if p.type == "transform":
        for batch, bodies in p.inputs.items():
            if _is_live(bodies, None):
                breach = _withdrawal_breach(bodies, on, f"slaughter of {batch}")
                if breach:
                    return breach
        return None
    if p.batch is None or not _is_live(p.history, _unit(p)):
        return None
    return _withdrawal_breach(p.history, on, "shipment")


def _slaughter_entry(p: Proposal) -> str | None:
    if _process(_genesis(p)) not in SLAUGHTER:
        return None
    for batch, bodies in p.inputs.items():
        if not _is_live(bodies, _input_quantity(p, batch)[1]):
            continue
        certificate = _certificate_for(bodies, since_last_receive=False)
        if certificate is None:
            return f"{SLAUGHTER_RULES}: input {batch} has no 动物检疫合格证明 (`quarantined`); refuse the pigs"
        head, (taken, _) = decimal(_data(certificate).get("head")), _input_quantity(p, batch)
        if head is not None and taken is not None and taken > head:
            return (f"{SLAUGHTER_RULES}: certificate {_data(certificate).get('certificate_no')} covers {head} head "
                    f"of {batch}, {taken} slaughtered")
    return None


def _live_weight(p: Proposal) -> Decimal | None:
    declared = decimal(p.data.get("live_weight"))
    if declared is not None:
        return declared
    total = Decimal(0)
    for item in _inputs(p):
        quantity, unit = decimal(item.get("quantity")), item.get("unit")
        if quantity is not None and unit in WEIGHT_UNITS:
            total += quantity
            continue
        bodies = p.inputs.get(str(item.get("batch")), ())
        weighed = [decimal(_data(b).get("live_weight")) for b in _of(bodies, "receive", "ship", "inspected")]
        known = [w for w in weighed if w is not None]
        if not known:
            return None
        total += known[-1]
    return total


def _slaughter_balance(p: Proposal) -> str | None:
    if _process(_genesis(p)) not in SLAUGHTER:
        return None
    carcass = decimal(p.data.get("quantity"))
    if p.data.get("unit") not in WEIGHT_UNITS or carcass is None:
        return f"{SLAUGHTER_RULES}: record hot carcass weight in KGM, got unit {p.data.get('unit')!r}"
    live = _live_weight(p)
    if live is None:
        return (f"{SLAUGHTER_RULES}: live weight unknown; record data.live_weight (KGM) or the live weight "
                "on each input's receive")
    if carcass >= live:
        return f"{SLAUGHTER_RULES}: hot carcass weight {_fmt(carcass)} kg is not below live weight {_fmt(live)} kg"
    return None


def _cutting_balance(p: Proposal) -> str | None:
    if _process(_genesis(p)) not in CUTTING:
        return None
    out = decimal(p.data.get("quantity"))
    weights = [(decimal(item.get("quantity")), item.get("unit")) for item in _inputs(p)]
    if out is None or p.data.get("unit") not in WEIGHT_UNITS or any(u not in WEIGHT_UNITS for _, u in weights):
        return f"{OURS}: cutting inputs and outputs are weighed in KGM"
    total = sum((q for q, _ in weights if q is not None), Decimal(0))
    if out > total:
        return f"{OURS}: cuts {_fmt(out)} kg exceed the {_fmt(total)} kg cut"
    return None


def _asf_reports(bodies: Sequence[Body]) -> tuple[set[str], list[str]]:
    """(report numbers that clear this lot, messages of positive results) from its bodies."""
    cleared, positives = set(), []
    for verdict, message, body in _verdicts(bodies, ("asfv",)):
        if verdict == "pass":
            cleared.add(str(_data(body).get("report_no")))
        elif verdict == "fail":
            positives.append(f"{message} (report {_data(body).get('report_no')})")
    genesis = _genesis_of(bodies)
    if genesis is not None and genesis.get("type") == "transform":
        cited = _data(genesis).get("asf_reports")
        if isinstance(cited, list):
            cleared.update(str(r) for r in cited)
    return cleared, positives


def _asf_negative(p: Proposal) -> str | None:
    if p.type == "transform":
        for batch, bodies in p.inputs.items():
            positives = _asf_reports(bodies)[1]
            if positives:
                return f"{positives[0]}: input {batch} may not be slaughtered or processed"
        cited = p.data.get("asf_reports")
        if cited is None:
            return None
        if not isinstance(cited, list) or not cited or not all(isinstance(r, str) for r in cited):
            return f"{ASF}: data.asf_reports must list report numbers of negative ASF results"
        for batch, bodies in p.inputs.items():
            if not _asf_reports(bodies)[0] & set(cited):
                return f"{ASF}: none of the cited ASF reports {', '.join(cited)} is a negative result of input {batch}"
        known = set().union(*(_asf_reports(bodies)[0] for bodies in p.inputs.values()))
        stray = [r for r in cited if r not in known]
        if stray:
            return f"{ASF}: cited ASF report {', '.join(stray)} is not a negative result of any input"
        return None
    if not _is_meat(p):
        return None
    cleared, positives = _asf_reports(p.history)
    for bodies in p.inputs.values():
        more = _asf_reports(bodies)
        cleared |= more[0]
        positives += more[1]
    if positives:
        return f"{positives[0]}; no product of this slaughter batch may leave"
    if not cleared:
        return (f"{ASF}: no product of a slaughter batch leaves before a negative ASF PCR result; none is on record "
                "for this lot (record it here, or cite it in the transformation as data.asf_reports)")
    return None


def _failing(p: Proposal, analytes: Iterable[str], bodies: Iterable[Body]) -> str | None:
    for verdict, message, body in _verdicts(bodies, analytes):
        if verdict == "fail":
            return f"{message} (report {_data(body).get('report_no')})"
    return None


def _beta_agonist(p: Proposal) -> str | None:
    failing = _failing(p, BETA_AGONISTS, _visible(p))
    return f"{failing}; this lot may not be shipped, sold, packed or slaughtered" if failing else None


def _residue_limits(p: Proposal) -> str | None:
    failing = _failing(p, ("lead", "cadmium", "tvb-n"), _visible(p))
    return f"{failing}; this lot may not be shipped, sold, packed or processed" if failing else None


def _certificate_pairs(bodies: Sequence[Body]) -> set[tuple[str, str]]:
    pairs = set()
    for body in _of(bodies, "inspected"):
        data = _data(body)
        quarantine, quality = data.get("quarantine_certificate"), data.get("quality_certificate")
        if isinstance(quarantine, str) and quarantine.strip() and isinstance(quality, str) and quality.strip():
            pairs.add((quarantine, quality))
    genesis = _genesis_of(bodies)
    if genesis is not None and genesis.get("type") == "transform":
        pairs |= _cited_pairs(_data(genesis).get("meat_certificates")) or set()
    return pairs


def _cited_pairs(value: Any) -> set[tuple[str, str]] | None:
    if not isinstance(value, list) or not value:
        return None
    pairs = set()
    for item in value:
        if not isinstance(item, Mapping) or not all(
                isinstance(item.get(k), str) and item[k].strip() for k in ("quarantine", "quality")):
            return None
        pairs.add((str(item["quarantine"]), str(item["quality"])))
    return pairs


def _two_certificates(p: Proposal) -> str | None:
    if p.type == "transform":
        if "meat_certificates" not in p.data:
            return None
        cited = _cited_pairs(p.data["meat_certificates"])
        if cited is None:
            return (f"{SLAUGHTER_RULES}: data.meat_certificates must list "
                    '{"quarantine": 检疫合格证明 no., "quality": 肉品品质检验合格证 no.}')
        known: set[tuple[str, str]] = set()
        for batch, bodies in p.inputs.items():
            pairs = _certificate_pairs(bodies)
            if not pairs & cited:
                return f"{SLAUGHTER_RULES}: no cited certificate pair is on record for input {batch}"
            known |= pairs
        stray = sorted(cited - known)
        if stray:
            return f"{SLAUGHTER_RULES}: cited certificates {stray[0][0]} / {stray[0][1]} are not on record for any input"
        return None
    if not _is_meat(p):
        return None
    if _certificate_pairs(p.history) or any(_certificate_pairs(b) for b in p.inputs.values()):
        return None
    return (f"{SLAUGHTER_RULES}: meat leaves only with 两证两章; no `inspected` event carries both the quarantine "
            "certificate (quarantine_certificate) and the meat-quality certificate (quality_certificate)")


def _reading(body: Body) -> tuple[datetime, Decimal, str, str] | None:
    """(time, °C, regime, location) of a temperature reading, or None."""
    data = _data(body)
    raw = data.get("value") if body.get("type") == "temperature_logged" else data.get("temperature")
    value, when = decimal(raw), _when(body)
    if value is None or when is None or data.get("unit", "CEL") != "CEL":
        return None
    return when, value, str(data.get("regime", "chilled")), str(data.get("location", "air"))


def _chilled_excursion(p: Proposal) -> str | None:
    if not _is_meat(p):
        return None
    on = p.at.date()
    limit, hours = _row("pork.chilled_excursion", "temperature", on), _row("pork.chilled_excursion", "duration", on)
    if limit is None or limit.limit is None or hours is None or hours.limit is None:
        return None
    span = timedelta(hours=float(hours.limit))
    readings = sorted(r for b in _of(p.history, "temperature_logged", "stored") if (r := _reading(b))
                      and r[2] != "chilling" and r[3] != "cutting_room")
    first: datetime | None = None
    for when, value, _, _ in readings:
        if value <= limit.limit:
            first = None
            continue
        first = first or when
        if when - first > span:
            return (f"{limit.standard} / farmtrace rule: readings above {_fmt(limit.limit)} °C from {first.isoformat()} "
                    f"to {when.isoformat()}, longer than {_fmt(hours.limit)} h; the lot may not be released")
    return None


HARD_RULES: tuple[Rule, ...] = (
    Rule("pork.ear_tag", frozenset({"animal_tagged", "quarantined"}), _ear_tags, "data.tags", TAGS),
    Rule("pork.banned_additive", frozenset({"fed"}), _banned_additive, "data.additives", BANNED),
    Rule("pork.quarantine_certificate", frozenset({"ship"}), _quarantine_certificate, "data.quantity", QUARANTINE),
    Rule("pork.commitment_certificate", frozenset({"ship", "receive", "transform"}), _commitment_certificate,
         "data.certificate_no", COMMITMENT),
    Rule("pork.withdrawal", frozenset({"ship", "transform"}), _withdrawal, "at", WITHDRAWAL),
    Rule("pork.slaughter_entry", frozenset({"transform"}), _slaughter_entry, "data.inputs", SLAUGHTER_RULES),
    Rule("pork.slaughter_balance", frozenset({"transform"}), _slaughter_balance, "data.quantity", SLAUGHTER_RULES),
    Rule("pork.cutting_balance", frozenset({"transform"}), _cutting_balance, "data.quantity", OURS),
    Rule("pork.asf_negative", frozenset({"ship", "sell", "packed", "transform"}), _asf_negative, None, ASF),
    Rule("pork.beta_agonist", frozenset({"ship", "sell", "packed", "transform"}), _beta_agonist, None, BANNED),
    Rule("pork.residue_limits", frozenset({"ship", "sell", "packed", "transform"}), _residue_limits, None,
         "GB 2762-2022; GB 2707-2016"),
    Rule("pork.two_certificates", frozenset({"ship", "sell", "transform"}), _two_certificates, None, SLAUGHTER_RULES),
    Rule("pork.chilled_excursion", frozenset({"ship", "sell", "packed"}), _chilled_excursion, None, "GB/T 24616-2019"),
)


# ---- soft rules ----------------------------------------------------------------------------------------------

def _reading_over(p: Proposal, rule_id: str, regime: str | None, location: str | None, what: str) -> str | None:
    reading = _reading({"type": p.type, "at": p.at, "data": p.data})
    if reading is None:
        return None
    _, value, got_regime, got_location = reading
    if (regime is not None and got_regime != regime) or (location is not None and got_location != location):
        return None
    if location is None and got_location == "cutting_room":
        return None
    row = _row(rule_id, "temperature", p.at.date())
    if row is None or row.limit is None or value <= row.limit:
        return None
    return f"{row.standard}: {what} at {_fmt(value)} °C > {_fmt(row.limit)} °C"


def _chilled_reading(p: Proposal) -> str | None:
    return _reading_over(p, "pork.chilled_reading", "chilled", None, "chilled pork")


def _frozen_reading(p: Proposal) -> str | None:
    return _reading_over(p, "pork.frozen_reading", "frozen", None, "frozen pork")


def _cutting_room(p: Proposal) -> str | None:
    return _reading_over(p, "pork.cutting_room", None, "cutting_room", "cutting room")


READINGS = frozenset({"temperature_logged", "stored"})
SOFT_RULES: tuple[Rule, ...] = (
    Rule("pork.chilled_reading", READINGS, _chilled_reading, "data.value", "farmtrace rule"),
    Rule("pork.frozen_reading", READINGS, _frozen_reading, "data.value", "GB/T 24616-2019"),
    Rule("pork.cutting_room", READINGS, _cutting_room, "data.value", "GB 12694-2016"),
)

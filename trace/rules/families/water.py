"""Bottled water (包装饮用水 / 饮用天然矿泉水), "一瓶水" (domain.md §5).

Batches:
- A source is a batch of its own, started by `source_registered` (genesis). Its quantity is the
  water its extraction permit (取水许可) allows, in LTR; source-monitoring `test`s go on its
  chain. Why a batch and not an org record: monitoring results need a chain to live on, and a
  production run's `transform` then sees the source's registration and tests in `inputs`.
- A production run is the generic `transform` (source water -> run lot; process, line,
  treatment such as filtration | ozone | UV; lot `L2-20260315-0800`). Filling and capping is
  `packed` (size_ml, count, cap_lot, gtin, claims); the release is the `ship` after it.

Event types (registered on import; KDEs in `data`):
- `source_registered` (genesis): product, lot, family, quantity, unit (LTR) + source_id, kind
  (mineral | groundwater | surface | municipal), permit_no; optional protection_zone, county
  (6-digit code), latitude, longitude, temperature (CEL), survey_ref (GB/T 13727 survey report),
  indicators ({analyte: value in mg/L} at registration).

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
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from farmtrace.ledger.errors import InvalidEventError
from farmtrace.rules.steps import validate_new_batch
from farmtrace.ledger.events import DECIMAL, EventType, register, require_decimal, require_text
from farmtrace.rules.families import (Proposal, Rule, Threshold, body_day, claims_of, compare_result, decimal, limit_text, threshold_for,
                valid_on)

FAMILY = "water"

SOURCE_KINDS = ("mineral", "groundwater", "surface", "municipal")
CATEGORIES = ("drinking_water", "distilled_water", "mineral_water")
COUNTY = re.compile(r"^[1-9][0-9]{5}$")
LOT_CODE = re.compile(r"^[A-Za-z0-9]{1,4}-\d{8}-\d{4}$")
MINERAL_CLAIMS = frozenset({"矿泉水", "天然矿泉水", "mineral", "mineral_water"})
OZONE_WORDS = ("ozone", "臭氧", "o3")

# ---- event types ------------------------------------------------------------------------------


def _require_range(data: Mapping[str, Any], name: str, low: Decimal, high: Decimal) -> None:
    require_decimal(data, name, optional=True)
    value = decimal(data.get(name))
    if value is not None and not low <= value <= high:
        raise InvalidEventError(f"data.{name} must be from {low} to {high}, got {value}", field=f"data.{name}")


def _source_registered(data: Mapping[str, Any]) -> None:
    validate_new_batch(data)
    require_text(data, "source_id", max_len=64)
    if data.get("kind") not in SOURCE_KINDS:
        raise InvalidEventError(f"data.kind must be one of {', '.join(SOURCE_KINDS)}, got {data.get('kind')!r}",
                                field="data.kind")
    require_text(data, "permit_no", max_len=64)
    require_text(data, "protection_zone", max_len=200, optional=True)
    if "county" in data and (not isinstance(data["county"], str) or not COUNTY.match(data["county"])):
        raise InvalidEventError("data.county must be a 6-digit county code (GB/T 2260)", field="data.county")
    _require_range(data, "latitude", Decimal(-90), Decimal(90))
    _require_range(data, "longitude", Decimal(-180), Decimal(180))
    _require_range(data, "temperature", Decimal(-5), Decimal(100))
    require_text(data, "survey_ref", max_len=64, optional=True)
    indicators = data.get("indicators", {})
    if not isinstance(indicators, dict):
        raise InvalidEventError("data.indicators must map analyte to a decimal string", field="data.indicators")
    for name, value in indicators.items():
        if not isinstance(value, str) or not DECIMAL.match(value) or value.startswith("-"):
            raise InvalidEventError(f"data.indicators.{name} must be a decimal string in mg/L, got {value!r}",
                                    field=f"data.indicators.{name}")


EVENT_TYPES = (
    register(EventType("source_registered", _source_registered, family=FAMILY, genesis=True)),
)

# ---- thresholds --------------------------------------------------------------------------------

_D = Decimal
_EPOCH = date(2000, 1, 1)
_GB19298, _GB8537 = "GB 19298-2014", "GB 8537-2018"
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
    _row("water.mineral_bromate", "bromate", "mineral_water", "<=", "0.01", "mg/L", _GB8537, "unverified"),
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
    _row("water.indicator_stability", "indicator", "source", "<=", "20", "%", "farmtrace rule (domain.md §5.1)",
         "unverified"),
)

_SAFETY_IDS = ("water.gb19298", "water.radioactivity", "water.lead", "water.micro", "water.mineral_micro",
               "water.mineral_selenium", "water.mineral_bromate")
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


def compare(row: Threshold, data: Mapping[str, Any]) -> tuple[bool | None, str]:
    """Whether a test body's data meets `row` (None: units not comparable) and a message citing it."""
    return compare_result(row, data, analyte_of(data).replace("_", " "), _factor(data.get("unit"), row.unit))


def _qualifies(data: Mapping[str, Any], on: date) -> tuple[bool | None, str] | None:
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
        return True, f"{message} (qualifying indicator)"
    warm = threshold_for(THRESHOLDS, "water.warm_source", on, category="mineral_water")
    temperature = decimal(data.get("water_temperature"))
    if warm is None or (temperature is not None and warm.holds(temperature)):
        return True, f"{message} (qualifying indicator, source {temperature} °C)"
    return False, (f"{row.standard}: {analyte.replace('_', ' ')} below {any_temp.limit} {any_temp.unit} qualifies "
                   f"only from a source ≥ {warm.limit} °C; data.water_temperature is {temperature or 'missing'}")


def judge_test(data: Mapping[str, Any], on: date, category: str | None = None) -> tuple[str, str | None]:
    """Judge a lab `test` body's data against THRESHOLDS valid on `on`.

    Safety limits give "pass" or "fail"; a mineral-water qualifying indicator alone gives "pass"
    (met) or "info" (not met). An analyte with no row gives ("info", None); so does a category with none.
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
            return "info", f"{analyte}: set data.category ({', '.join(categories)}) to judge it against its limit"
        category = categories[0]
    safety = [r for r in rows if r.category == category and r.rule_id in _SAFETY_IDS]
    if safety:
        messages = []
        for row in safety:
            ok, message = compare(row, data)
            if ok is None:
                return "info", message
            if not ok:
                return "fail", message
            messages.append(message)
        return "pass", "; ".join(messages)
    if category != "mineral_water":
        return "info", None
    qualified = _qualifies(data, on)
    if qualified is None:
        return "info", None
    ok, message = qualified
    return ("pass", message) if ok else ("info", f"{message}: not a qualifying indicator")


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

def _check_source_survey(p: Proposal) -> str | None:
    if p.data.get("kind") != "mineral" or isinstance(p.data.get("survey_ref"), str):
        return None
    return f"{_GB8537}: a mineral-water source is registered with its GB/T 13727 survey report (data.survey_ref)"


def _check_mineral_source(p: Proposal) -> str | None:
    if _proposal_category(p) != "mineral_water":
        return None
    if not p.inputs:
        return f"{_GB8537}: 饮用天然矿泉水 is filled from a registered mineral-water source; no input names one"
    for batch, bodies in p.inputs.items():
        kind = _source_kind(bodies)
        if kind == "mineral" or (kind is None and _batch_category(bodies) == "mineral_water"):
            continue
        found = f"a {kind} source" if kind else "not a registered source"
        return f"{_GB8537}: 饮用天然矿泉水 is filled from a registered mineral-water source; input {batch} is {found}"
    return None


def _check_no_trucking(p: Proposal) -> str | None:
    if _source_kind(p.history) != "mineral":
        return None
    return f"{_GB8537}: mineral raw water may not be carried in containers to another site for filling"


def _check_fill_volume(p: Proposal) -> str | None:
    if "size_ml" not in p.data and "count" not in p.data:
        return None  # aggregation (bottle -> case -> pallet), not filling
    size, count = decimal(p.data.get("size_ml")), decimal(p.data.get("count"))
    if size is None or count is None or size <= 0 or count <= 0 or count != count.to_integral_value():
        return ('farmtrace rule (domain.md §5.1): filling records data.size_ml and a whole data.count, '
                'e.g. "550", "24000"')
    if p.batch is None or p.batch.quantity is None:
        return None
    fills = [_data(b) for b in p.earlier("packed") if "size_ml" in _data(b)] + [p.data]
    if p.batch.unit == "LTR":
        litres = sum(((decimal(f.get("size_ml")) or _D(0)) * (decimal(f.get("count")) or _D(0)) / 1000
                      for f in fills), _D(0))
        if litres > p.batch.quantity:
            return (f"farmtrace rule (domain.md §5.1): {litres.normalize():f} L filled (count × size) > run volume "
                    f"{p.batch.quantity} L")
        return None
    if p.batch.unit in ("bottle", "bottles"):
        bottles = sum((decimal(f.get("count")) or _D(0) for f in fills), _D(0))
        if bottles > p.batch.quantity:
            return f"farmtrace rule (domain.md §5.1): {bottles} bottles filled > the run's {p.batch.quantity}"
        return None
    return f"farmtrace rule (domain.md §5.1): a filled run's volume is in LTR (or bottle), not {p.batch.unit}"


def _check_mineral_claim(p: Proposal) -> str | None:
    if not (_claims(p.data) & MINERAL_CLAIMS) and _proposal_category(p) != "mineral_water":
        return None
    reasons = []
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
    return (f"{_GB8537}: a 矿泉水 label needs a test meeting at least one qualifying indicator "
            f"(Li, Sr, Zn, H₂SiO₃, Se, free CO₂, TDS); {found}")


def _check_safety_fail(p: Proposal) -> str | None:
    category = _proposal_category(p)
    for body in p.earlier("test"):
        on, data = _at(body), _data(body)
        if on is None:
            continue
        verdict, message = judge_test(data, on, data.get("category") if data.get("category") in CATEGORIES
                                      else category)
        if verdict == "fail":
            verb = {"ship": "released", "packed": "packed", "sell": "sold"}.get(p.type, p.type)
            return f"{message}; this batch failed its test and cannot be {verb}"
    return None


def _check_release(p: Proposal) -> str | None:
    category = _proposal_category(p)
    if category is None:
        return None  # a source batch (see water.no_trucking) or not water
    on = p.at.date()
    needed = sorted({r.analyte for r in THRESHOLDS if r.rule_id in _MICRO_IDS and r.category == category
                     and valid_on(r, on)})
    if _is_ozone_line(p.history):
        needed.append("bromate")
    tests = p.earlier("test")
    for analyte in needed:
        results = [b for b in tests if analyte_of(_data(b)) == analyte]
        if not results:
            return (f"{_standard(category)}: release needs a passing {analyte.replace('_', ' ')} test"
                    f"{' (ozone line)' if analyte == 'bromate' else ''}; none is recorded")
        latest = results[-1]
        verdict, message = judge_test(_data(latest), _at(latest) or on, category)
        if verdict != "pass":
            return f"{message or _standard(category)}: release needs a passing {analyte.replace('_', ' ')} test"
    return None


HARD_RULES = (
    Rule("water.source_survey", frozenset({"source_registered"}), _check_source_survey, "data.survey_ref",
         _GB8537),
    Rule("water.mineral_source", frozenset({"transform"}), _check_mineral_source, "data.inputs", _GB8537),
    Rule("water.no_trucking", frozenset({"ship"}), _check_no_trucking, "batch", _GB8537),
    Rule("water.fill_volume", frozenset({"packed"}), _check_fill_volume, "data.count",
         "farmtrace rule (domain.md §5.1)"),
    Rule("water.mineral_claim", frozenset({"packed"}), _check_mineral_claim, "data.claims", _GB8537),
    Rule("water.safety_fail", frozenset({"packed", "ship", "sell"}), _check_safety_fail, "batch",
         f"{_GB19298} / {_GB8537}"),
    Rule("water.release", frozenset({"ship"}), _check_release, "batch", f"{_GB19298} / {_GB8537}"),
)

# ---- soft rules -----------------------------------------------------------------------------------


def _warn_indicator_stability(p: Proposal) -> str | None:
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
    return (f"{row.standard}: {analyte.replace('_', ' ')} {(value * factor).normalize():f} mg/L is "
            f"{drift.quantize(_D('0.1'))} % from the {base} mg/L registered (more than ±{row.limit} %)")


def _warn_lot_code(p: Proposal) -> str | None:
    lot = p.data.get("lot")
    if _proposal_category(p) is None or not isinstance(lot, str) or LOT_CODE.match(lot):
        return None
    return f"farmtrace rule (domain.md §5.1): a run lot is line-date-time, e.g. L2-20260315-0800; got {lot!r}"


SOFT_RULES = (
    Rule("water.indicator_stability", frozenset({"test"}), _warn_indicator_stability, "data.value",
         "farmtrace rule (domain.md §5.1)"),
    Rule("water.lot_code", frozenset({"transform"}), _warn_lot_code, "data.lot", "farmtrace rule (domain.md §5.1)"),
)

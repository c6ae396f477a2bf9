"""Selenium-rich produce (富硒农产品): rice, tea, tremella and others (domain.md §2, §1.4).

Event types (registered on import; KDEs in `data`):
- `plot_registered`: plot_id, county (6-digit GB/T 2260 code; Bazhong's are named in
  COUNTY_NAMES), area + area_unit (mu | ha); optional soil_se (mg/kg), soil_se_ref, land_use
  (paddy | dryland). A plot is a batch of its own, started with the generic `create`
  (lot = plot id, quantity = area), so its `input_applied` events have a chain to live on.
- `input_applied`: product_name, active_ingredient, dose + dose_unit, date (YYYY-MM-DD),
  phi_days (whole days as a string, "0" for none); optional registration_no (农药登记证), area,
  operator.
- `harvested` (genesis: creates the lot): product, lot, family, quantity, unit, plot, crop;
  optional variety, moisture (%).

Hard rules (refuse the event; the message cites standard and edition):
- produce.phi: `harvested` within an input's pre-harvest interval of its application date.
- produce.se_claim: `packed` with a 富硒 claim needs the batch's latest selenium `test` inside
  the range for its category (GB/T 22499 rice, NY/T 600-2002 tea, GH/T 1135-2017 others).
- produce.se_nutrition_claim: `packed` with a 富含硒 claim needs selenium ≥ 0.18 mg/kg (GB 28050-2011).
- produce.safety_fail: `ship`, `packed`, `sell` of a batch, or a `transform` of inputs, whose
  history holds a `test` judged "fail" on a safety limit (Cd, Pb, Hg, iAs; GB 2762-2022).
- produce.certificate: from 2026-02-01, a `ship` by a producer of a mandatory product (茶鲜叶,
  vegetables, fruit, fungi) carries data.certificate_no (承诺达标合格证).
- produce.mix_certificate: from 2026-02-01, a `transform` mixing ≥ 2 lots of a mandatory product
  issues a new 合格证 (data.certificate_no).

Soft rules (warnings the regulator sees):
- produce.se_range: a selenium `test` outside the 富硒 range for its category (claim at risk).
- produce.milling_yield: milled rice out of a `transform` with process "milling" is not
  0.55–0.75 of the paddy in (our rule).
- produce.storage_moisture: `stored` with moisture above the safe-storage level for its category.
- produce.soil_se: `plot_registered` with soil selenium below the selenium-rich level (research).

Decisions where domain.md is silent:
- The product category (rice, brown_rice, paddy, tea, tea_leaves, fungi, ...) comes from
  data.category when given, else from words in the product name (CATEGORY_WORDS). A lab `test`
  should carry data.category; without it, and with limits in several categories, the verdict is
  "info". Paddy (稻谷) is judged against the brown-rice contaminant limits (GB 2762 measures 稻谷
  as 糙米) and against 富硒稻谷 for selenium.
- The selenium test behind a 富硒 claim must be in the packed batch's own history: GB/T 22499
  measures selenium on the milled rice, so a milled lot is tested after milling. A later test
  replaces an earlier one; a failing safety test is never cleared by a later one.
- The PHI rule reads `input_applied` bodies from the history and the inputs the caller hands it
  (the plot batch's bodies). The ledger gives a genesis `harvested` neither yet: until
  custody builds `inputs` from data.plot, this rule only bites in verification and tests.
- A "not detected" result passes a "≤" limit only when its LOD is at or below the limit; a
  method too blunt to show compliance is a fail. Pesticide MRLs are not tabulated (domain.md
  gives no numbers), so pesticide tests are "info".
- Status "confirmed" only where domain.md's ✔ covers the cited edition: GB 2762 values
  confirmed for older editions are "unverified" under GB 2762-2022. The GB/T 22499-2025 range
  is a placeholder copied from the 2008 edition (domain.md: range unverified, switch by date).
- Moisture limits for storage are not in domain.md: taken from the grain and tea product
  standards and marked unverified.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from farmtrace.ledger.errors import InvalidEventError
from farmtrace.rules.steps import validate_new_batch
from farmtrace.ledger.events import EventType, register, require_decimal, require_text
from farmtrace.rules.families import (Proposal, Rule, Threshold, body_day, claims_of, compare_result, decimal, limit_text, threshold_for,
                valid_on)

FAMILY = "produce"

COUNTY_NAMES = {"511902": "巴州区", "511903": "恩阳区", "511921": "通江县", "511922": "南江县", "511923": "平昌县"}
COUNTY = re.compile(r"^[1-9][0-9]{5}$")
DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
WHOLE_DAYS = re.compile(r"^(0|[1-9][0-9]{0,3})$")
AREA_UNITS = ("mu", "ha")
LAND_USES = ("paddy", "dryland")
CERTIFICATE_FROM = date(2026, 2, 1)  # 承诺达标合格证管理办法 (农业农村部令 2025 年第 4 号) in force
CERTIFICATE_RULE = "承诺达标合格证管理办法 (农业农村部令 2025 年第 4 号)"
SE_CLAIMS = frozenset({"富硒", "se_rich"})
SE_NUTRITION_CLAIMS = frozenset({"富含硒", "rich_in_selenium"})
MANDATORY = frozenset({"tea_leaves", "vegetables", "fruit", "fungi"})  # §1.4: not rice, grain or potatoes
SAFETY_ANALYTES = ("cadmium", "lead", "mercury", "inorganic_arsenic")

# ---- event types -------------------------------------------------------------------------


def _require_choice(data: Mapping[str, Any], name: str, choices: Sequence[str], *, optional: bool = False) -> None:
    if optional and name not in data:
        return
    if data.get(name) not in choices:
        raise InvalidEventError(f"data.{name} must be one of {', '.join(choices)}, got {data.get(name)!r}",
                                field=f"data.{name}")


def _require_day(data: Mapping[str, Any], name: str) -> None:
    value = data.get(name)
    if not isinstance(value, str) or not DAY.match(value) or _day(value) is None:
        raise InvalidEventError(f"data.{name} must be a date such as 2026-07-02, got {value!r}", field=f"data.{name}")


def _require_percent(data: Mapping[str, Any], name: str) -> None:
    require_decimal(data, name, optional=True)
    value = decimal(data.get(name))
    if value is not None and not Decimal(0) <= value <= Decimal(100):
        raise InvalidEventError(f"data.{name} is a percentage from 0 to 100, got {value}", field=f"data.{name}")


def _plot_registered(data: Mapping[str, Any]) -> None:
    require_text(data, "plot_id", max_len=64)
    county = data.get("county")
    if not isinstance(county, str) or not COUNTY.match(county):
        raise InvalidEventError("data.county must be a 6-digit county code (GB/T 2260), e.g. 511922 南江县",
                                field="data.county")
    require_decimal(data, "area", positive=True)
    _require_choice(data, "area_unit", AREA_UNITS)
    require_decimal(data, "soil_se", optional=True)
    require_text(data, "soil_se_ref", max_len=64, optional=True)
    _require_choice(data, "land_use", LAND_USES, optional=True)


def _input_applied(data: Mapping[str, Any]) -> None:
    require_text(data, "product_name", max_len=100)
    require_text(data, "registration_no", max_len=32, optional=True)
    require_text(data, "active_ingredient", max_len=100)
    require_decimal(data, "dose", positive=True)
    require_text(data, "dose_unit", max_len=16)
    _require_day(data, "date")
    phi = data.get("phi_days")
    if not isinstance(phi, str) or not WHOLE_DAYS.match(phi):
        raise InvalidEventError(f'data.phi_days must be whole days as a string, e.g. "14", got {phi!r}',
                                field="data.phi_days")
    require_decimal(data, "area", positive=True, optional=True)
    require_text(data, "operator", max_len=64, optional=True)


def _harvested(data: Mapping[str, Any]) -> None:
    validate_new_batch(data)
    require_text(data, "plot", max_len=64)
    require_text(data, "crop", max_len=64)
    require_text(data, "variety", max_len=64, optional=True)
    _require_percent(data, "moisture")


EVENT_TYPES = (
    register(EventType("plot_registered", _plot_registered, family=FAMILY)),
    register(EventType("input_applied", _input_applied, family=FAMILY)),
    register(EventType("harvested", _harvested, family=FAMILY, genesis=True)),
)

# ---- thresholds ----------------------------------------------------------------------------

_D = Decimal
_EPOCH = date(2000, 1, 1)
_GB2762 = "GB 2762-2022"


def _row(rule_id: str, analyte: str, category: str, comparator: str, limit: str | None, high: str | None,
         unit: str, standard: str, status: str, valid_from: date = _EPOCH, valid_to: date | None = None) -> Threshold:
    return Threshold(rule_id, analyte, category, comparator, None if limit is None else _D(limit),
                     None if high is None else _D(high), unit, standard, valid_from, valid_to, status)


THRESHOLDS: tuple[Threshold, ...] = (
    # contaminants, GB 2762-2022 (values confirmed for older editions only; 稻谷 is measured as 糙米)
    *(_row("produce.cd", "cadmium", c, "<=", "0.2", None, "mg/kg", _GB2762, "unverified")
      for c in ("rice", "brown_rice", "paddy")),
    *(_row("produce.pb", "lead", c, "<=", "0.2", None, "mg/kg", _GB2762, "unverified")
      for c in ("rice", "brown_rice", "paddy", "cereals")),
    *(_row("produce.hg", "mercury", c, "<=", "0.02", None, "mg/kg", _GB2762, "unverified")
      for c in ("rice", "brown_rice", "paddy")),
    _row("produce.ias", "inorganic_arsenic", "rice", "<=", "0.2", None, "mg/kg", _GB2762, "unverified"),
    *(_row("produce.ias", "inorganic_arsenic", c, "<=", "0.35", None, "mg/kg", _GB2762, "unverified")
      for c in ("brown_rice", "paddy")),
    _row("produce.pb", "lead", "tea", "<=", "5.0", None, "mg/kg", _GB2762, "unverified"),
    # 富硒 claims: the specific product standards
    *(_row("produce.se_rich", "selenium", c, "range", "0.04", "0.30", "mg/kg", "GB/T 22499-2008", "confirmed",
           valid_to=date(2026, 7, 1)) for c in ("rice", "paddy")),
    # GB/T 22499-2025 from 2026-07-01: its range is unverified; the 2008 range stands in until checked
    *(_row("produce.se_rich", "selenium", c, "range", "0.04", "0.30", "mg/kg", "GB/T 22499-2025", "unverified",
           valid_from=date(2026, 7, 1)) for c in ("rice", "paddy")),
    _row("produce.se_rich", "selenium", "tea", "range", "0.25", "4.00", "mg/kg", "NY/T 600-2002", "confirmed"),
    # 富硒 agri-products in general (dry weight for tubers, vegetables, fungi)
    *(_row("produce.se_rich_general", "selenium", c, "range", low, high, "mg/kg", "GH/T 1135-2017", "confirmed")
      for c, low, high in (("cereals", "0.10", "0.50"), ("beans", "0.10", "1.00"), ("tubers", "0.10", "1.00"),
                           ("vegetables", "0.10", "1.00"), ("fungi", "0.10", "5.00"), ("meat", "0.15", "0.50"),
                           ("eggs", "0.15", "0.50"), ("tea", "0.25", "4.00"))),
    # "富含硒" on a prepackaged food: ≥ 30 % NRV (60 µg) per 100 g
    _row("produce.se_nutrition", "selenium", "any", ">=", "0.18", None, "mg/kg", "GB 28050-2011", "confirmed"),
    # selenium-rich soil: a research proposal (CAGS 2021), plot information only
    _row("produce.soil_se", "soil_selenium", "paddy", ">=", "0.40", None, "mg/kg", "CAGS study 2021", "confirmed"),
    _row("produce.soil_se", "soil_selenium", "dryland", ">=", "0.30", None, "mg/kg", "CAGS study 2021", "confirmed"),
    # our rules and product-standard moisture levels (not in domain.md)
    _row("produce.milling_yield", "yield", "rice", "range", "0.55", "0.75", "1", "farmtrace rule (domain.md §2.1)",
         "unverified"),
    _row("produce.moisture", "moisture", "paddy", "<=", "14.5", None, "%", "GB 1350-2009", "unverified"),
    _row("produce.moisture", "moisture", "rice", "<=", "15.5", None, "%", "GB/T 1354-2018", "unverified"),
    _row("produce.moisture", "moisture", "tea", "<=", "7.0", None, "%", "GB/T 14456.1-2017", "unverified"),
)

_SAFETY_IDS = ("produce.cd", "produce.pb", "produce.hg", "produce.ias")
_CLAIM_IDS = ("produce.se_rich", "produce.se_rich_general")
_CLAIM_NAMES = {"rice": "富硒稻谷", "paddy": "富硒稻谷", "tea": "富硒茶"}

# ---- lab results -----------------------------------------------------------------------------

ANALYTES = {
    "selenium": ("se", "selenium", "硒", "总硒"),
    "cadmium": ("cd", "cadmium", "镉"),
    "lead": ("pb", "lead", "铅"),
    "mercury": ("hg", "mercury", "total mercury", "total_mercury", "总汞", "汞"),
    "inorganic_arsenic": ("ias", "inorganic arsenic", "inorganic_arsenic", "无机砷"),
    "moisture": ("moisture", "水分"),
}
_ALIASES = {alias: name for name, aliases in ANALYTES.items() for alias in aliases}
_UNITS = {"mg/kg": ("kg", _D(1)), "µg/kg": ("kg", _D("0.001")), "μg/kg": ("kg", _D("0.001")),
          "ug/kg": ("kg", _D("0.001")), "mg/l": ("L", _D(1)), "µg/l": ("L", _D("0.001")),
          "μg/l": ("L", _D("0.001")), "ug/l": ("L", _D("0.001"))}


def analyte_of(data: Mapping[str, Any]) -> str:
    """The canonical analyte name of a test body's data ("Cd", "镉" -> "cadmium")."""
    raw = str(data.get("analyte", "")).strip()
    return _ALIASES.get(raw.lower(), raw.lower())


def _factor(unit: Any, to: str) -> Decimal | None:
    """Multiply a value in `unit` by this to get it in `to` (None: not comparable)."""
    if not isinstance(unit, str):
        return None
    if unit == to:
        return _D(1)
    have, want = _UNITS.get(unit.lower()), _UNITS.get(to.lower())
    if have is None or want is None or have[0] != want[0]:
        return None
    return have[1] / want[1]


def compare(row: Threshold, data: Mapping[str, Any]) -> tuple[bool | None, str]:
    """Whether a test body's data meets `row` (None: units not comparable) and a message citing it."""
    return compare_result(row, data, analyte_of(data).replace("_", " "), _factor(data.get("unit"), row.unit))


def judge_test(data: Mapping[str, Any], on: date, category: str | None = None) -> tuple[str, str | None]:
    """Judge a lab `test` body's data against THRESHOLDS valid on `on`.

    Safety limits give "pass" or "fail"; a 富硒 range alone gives "pass" (the claim holds) or
    "info" (it does not). An analyte with no row gives ("info", None); so does a category with none.
    """
    analyte = analyte_of(data)
    rows = [r for r in THRESHOLDS if r.analyte == analyte and r.rule_id in _SAFETY_IDS + _CLAIM_IDS and valid_on(r, on)]
    if not rows:
        return "info", None
    category = category or _known_category(data.get("category"))
    if category is None:
        categories = sorted({r.category for r in rows})
        if len(categories) > 1:
            return "info", f"{analyte}: set data.category ({', '.join(categories)}) to judge it against its limit"
        category = categories[0]
    rows = [r for r in rows if r.category == category]
    safety = [r for r in rows if r.rule_id in _SAFETY_IDS]
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
    claim = next((r for rid in _CLAIM_IDS for r in rows if r.rule_id == rid), None)
    if claim is None:
        return "info", None
    ok, message = compare(claim, data)
    label = _CLAIM_NAMES.get(category, "富硒")
    return ("pass", f"{message} ({label})") if ok else ("info", f"{message}: not {label}")


# ---- categories and history helpers -----------------------------------------------------------

CATEGORY_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (  # first match wins: keep specific words first
    ("tea_leaves", ("茶鲜叶", "鲜叶", "fresh tea", "tea leaves", "tea leaf")),
    ("tea", ("茶", "tea")),
    ("brown_rice", ("糙米", "brown rice")),
    ("paddy", ("稻谷", "水稻", "paddy")),
    ("cereals", ("玉米", "小米", "小麦", "荞麦", "maize", "corn", "wheat", "millet", "buckwheat")),
    ("rice", ("大米", "米", "rice")),
    ("fungi", ("银耳", "木耳", "香菇", "菌", "菇", "tremella", "mushroom", "fungi", "fungus")),
    ("tubers", ("马铃薯", "土豆", "红薯", "potato", "tuber")),
    ("beans", ("大豆", "豆", "bean", "soy")),
    ("fruit", ("水果", "猕猴桃", "柑", "橘", "桃", "梨", "fruit", "kiwi", "apple")),
    ("vegetables", ("蔬菜", "芦笋", "菜", "vegetable", "asparagus")),
    ("eggs", ("蛋", "egg")),
    ("meat", ("肉", "meat")),
)
CATEGORIES = tuple(name for name, _ in CATEGORY_WORDS)


def _known_category(value: Any) -> str | None:
    return value if isinstance(value, str) and value in CATEGORIES else None


def category_of(product: Any) -> str | None:
    """The food category named by a product description ("南江富硒大米" -> "rice")."""
    if not isinstance(product, str):
        return None
    text = product.lower()
    return next((name for name, words in CATEGORY_WORDS if any(w in text for w in words)), None)


def _batch_category(bodies: Sequence[Mapping[str, Any]], product: str | None = None) -> str | None:
    """A batch's category: data.category or the product of its first event, else `product`."""
    first: Mapping[str, Any] = bodies[0].get("data", {}) if bodies else {}
    return _known_category(first.get("category")) or category_of(first.get("product")) or category_of(product)


def _proposal_category(p: Proposal) -> str | None:
    return (_known_category(p.data.get("category")) or _batch_category(p.history, p.batch.product if p.batch else None)
            or category_of(p.data.get("product")))


def _day(value: Any) -> date | None:
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


_at = body_day


_claims = claims_of


def _tests(bodies: Sequence[Mapping[str, Any]], analyte: str) -> list[Mapping[str, Any]]:
    return [b for b in bodies if b.get("type") == "test" and analyte_of(b.get("data", {})) == analyte]


def _kg(quantity: Any, unit: Any) -> Decimal | None:
    value = decimal(quantity)
    factor = {"KGM": _D(1), "TNE": _D(1000)}.get(str(unit))
    return None if value is None or factor is None else value * factor


def _has_text(data: Mapping[str, Any], name: str) -> bool:
    value = data.get(name)
    return isinstance(value, str) and bool(value.strip())


# ---- hard rules --------------------------------------------------------------------------------

def _check_phi(p: Proposal) -> str | None:
    harvest = p.at.date()
    bodies = [*p.history, *(b for bodies in p.inputs.values() for b in bodies)]
    for body in bodies:
        if body.get("type") != "input_applied":
            continue
        data = body.get("data", {})
        applied, phi = _day(data.get("date")), data.get("phi_days")
        if applied is None or not isinstance(phi, str) or not phi.isdigit() or applied > harvest:
            continue
        if (harvest - applied).days < int(phi):
            return (f"农产品质量安全法 (2022) and the pesticide label: harvest on {harvest} is "
                    f"{(harvest - applied).days} days after {data.get('product_name')} was applied on {applied}; "
                    f"its pre-harvest interval is {phi} days")
    return None


def _se_claim_row(category: str | None, on: date) -> Threshold | None:
    for rule_id in _CLAIM_IDS:
        row = threshold_for(THRESHOLDS, rule_id, on, category=category)
        if row is not None:
            return row
    return None


def _check_se_claim(p: Proposal) -> str | None:
    if not _claims(p.data) & SE_CLAIMS:
        return None
    category = _proposal_category(p)
    row = _se_claim_row(category, p.at.date())
    if row is None:
        return (f"GB/T 22499-2008, NY/T 600-2002, GH/T 1135-2017: a 富硒 claim needs a category with a selenium "
                f"range; {category or 'no category'} has none (set data.category)")
    return _latest_se_supports(p, row, "富硒")


def _latest_se_supports(p: Proposal, row: Threshold, claim: str) -> str | None:
    tests = _tests(p.history, "selenium")
    if not tests:
        return f"{row.standard}: a {claim} claim needs a selenium test (GB 5009.93) of this batch; none is recorded"
    ok, message = compare(row, tests[-1].get("data", {}))
    return None if ok else f"{message}: the {claim} claim is not supported"


def _check_se_nutrition_claim(p: Proposal) -> str | None:
    if not _claims(p.data) & SE_NUTRITION_CLAIMS:
        return None
    row = threshold_for(THRESHOLDS, "produce.se_nutrition", p.at.date(), category="any")
    return None if row is None else _latest_se_supports(p, row, "富含硒")


def _failed_safety_test(bodies: Sequence[Mapping[str, Any]], category: str | None) -> str | None:
    for body in bodies:
        data = body.get("data", {})
        if body.get("type") != "test" or analyte_of(data) not in SAFETY_ANALYTES:
            continue
        on = _at(body)
        if on is None:
            continue
        verdict, message = judge_test(data, on, _known_category(data.get("category")) or category)
        if verdict == "fail":
            return message
    return None


def _check_safety_fail(p: Proposal) -> str | None:
    if p.type == "transform":
        for batch, bodies in p.inputs.items():
            message = _failed_safety_test(bodies, _batch_category(bodies))
            if message:
                return f"{message}; input {batch} failed its test and cannot be transformed"
        return None
    message = _failed_safety_test(p.history, _proposal_category(p))
    verb = {"ship": "shipped", "packed": "packed", "sell": "sold"}.get(p.type, p.type)
    return f"{message}; this batch failed its test and cannot be {verb}" if message else None


def _check_certificate(p: Proposal) -> str | None:
    if p.at.date() < CERTIFICATE_FROM or p.org_kind != "producer" or _has_text(p.data, "certificate_no"):
        return None
    category = _proposal_category(p)
    if category not in MANDATORY:
        return None
    return (f"{CERTIFICATE_RULE}: a producer's ship of {category.replace('_', ' ')} carries a 承诺达标合格证 "
            "per lot (data.certificate_no)")


def _check_mix_certificate(p: Proposal) -> str | None:
    if p.at.date() < CERTIFICATE_FROM or _has_text(p.data, "certificate_no"):
        return None
    mandatory = [b for b, bodies in p.inputs.items() if _batch_category(bodies) in MANDATORY]
    output = _known_category(p.data.get("category")) or category_of(p.data.get("product"))
    if len(mandatory) < 2 or output not in MANDATORY:
        return None
    return (f"{CERTIFICATE_RULE}: mixing {len(mandatory)} lots ({', '.join(sorted(mandatory))}) issues a new "
            "承诺达标合格证 for the output (data.certificate_no)")


HARD_RULES = (
    Rule("produce.phi", frozenset({"harvested"}), _check_phi, None, "农产品质量安全法 (2022)"),
    Rule("produce.se_claim", frozenset({"packed"}), _check_se_claim, "data.claims",
         "GB/T 22499-2008 / NY/T 600-2002 / GH/T 1135-2017"),
    Rule("produce.se_nutrition_claim", frozenset({"packed"}), _check_se_nutrition_claim, "data.claims",
         "GB 28050-2011"),
    Rule("produce.safety_fail", frozenset({"ship", "packed", "sell", "transform"}), _check_safety_fail, "batch",
         _GB2762),
    Rule("produce.certificate", frozenset({"ship"}), _check_certificate, "data.certificate_no", CERTIFICATE_RULE),
    Rule("produce.mix_certificate", frozenset({"transform"}), _check_mix_certificate, "data.certificate_no",
         CERTIFICATE_RULE),
)

# ---- soft rules --------------------------------------------------------------------------------


def _warn_se_range(p: Proposal) -> str | None:
    if analyte_of(p.data) != "selenium":
        return None
    category = _known_category(p.data.get("category")) or _proposal_category(p)
    row = _se_claim_row(category, p.at.date())
    if row is None:
        return None
    ok, message = compare(row, p.data)
    return None if ok else f"{message}: a 富硒 claim on this batch is at risk"


def _warn_milling_yield(p: Proposal) -> str | None:
    if str(p.data.get("process", "")).lower() not in ("milling", "碾米") or \
            (_known_category(p.data.get("category")) or category_of(p.data.get("product"))) != "rice":
        return None
    row = threshold_for(THRESHOLDS, "produce.milling_yield", p.at.date(), category="rice")
    inputs = p.data.get("inputs")
    out = _kg(p.data.get("quantity"), p.data.get("unit"))
    if row is None or out is None or not isinstance(inputs, list):
        return None
    ins = [_kg(i.get("quantity"), i.get("unit")) for i in inputs if isinstance(i, dict)]
    if not ins or any(q is None for q in ins):
        return None
    total = sum((q for q in ins if q is not None), _D(0))
    if total == 0:
        return None
    milled = out / total
    if row.holds(milled):
        return None
    return (f"{row.standard}: milled-rice yield {milled.quantize(_D('0.001'))} ({out.normalize():f} of "
            f"{total.normalize():f} kg) outside {row.limit}–{row.high}")


def _warn_storage_moisture(p: Proposal) -> str | None:
    moisture = decimal(p.data.get("moisture"))
    row = threshold_for(THRESHOLDS, "produce.moisture", p.at.date(), category=_proposal_category(p))
    if moisture is None or row is None or row.holds(moisture):
        return None
    return f"{row.standard}: moisture {moisture}% > {row.limit}% for safe storage of {row.category}"


def _warn_soil_se(p: Proposal) -> str | None:
    soil = decimal(p.data.get("soil_se"))
    row = threshold_for(THRESHOLDS, "produce.soil_se", p.at.date(), category=str(p.data.get("land_use")))
    if soil is None or row is None or row.holds(soil):
        return None
    return (f"{row.standard} (research, not a standard): soil selenium {soil} mg/kg < {row.limit} mg/kg for "
            f"{row.category} land; 富硒 claims from this plot rest on crop tests alone")


SOFT_RULES = (
    Rule("produce.se_range", frozenset({"test"}), _warn_se_range, "data.value",
         "GB/T 22499-2008 / NY/T 600-2002 / GH/T 1135-2017"),
    Rule("produce.milling_yield", frozenset({"transform"}), _warn_milling_yield, "data.quantity",
         "farmtrace rule (domain.md §2.1)"),
    Rule("produce.storage_moisture", frozenset({"stored"}), _warn_storage_moisture, "data.moisture",
         "GB 1350-2009 / GB/T 1354-2018 / GB/T 14456.1-2017"),
    Rule("produce.soil_se", frozenset({"plot_registered"}), _warn_soil_se, "data.soil_se", "CAGS study 2021"),
)

"""Selenium-rich produce (富硒农产品): rice, tea, tremella and others (domain.md §2, §1.4).

Event types (one declaration each, DECLARATIONS, registered on import; KDEs in `data`):
- `plot_registered` (地块登记): plot_id, county (6-digit GB/T 2260 code; Bazhong's are named in
  COUNTY_NAMES), area + area_unit (mu | ha); optional soil_se (mg/kg), soil_se_ref, land_use
  (paddy | dryland). A plot is a batch of its own, started with the generic `create`
  (lot = plot id, quantity = area), so its `input_applied` events have a chain to live on.
- `input_applied` (投入品使用): product_name, active_ingredient, dose + dose_unit, date (YYYY-MM-DD),
  phi_days (whole days as a string, "0" for none); optional registration_no (农药登记证), area,
  operator.
- `harvested` (采收; genesis: creates the lot): product, lot, family, quantity, unit, plot, crop;
  optional variety, moisture (%), category, place.
KDEs the rules read on shared steps are added with `extend` (free-form there, judged by the rules):
category on create, stored, packed, transform, ship, sell; store, moisture (%), temperature (°C) on
stored; claims on packed; a "certified" `observe` carries the KDEs every family shares
(rules/certified.py). Rule messages are `Said`: the English as the API has always given it, and Chinese.

Hard rules (refuse the event; the message cites standard and edition):
- produce.phi: `harvested` within an input's pre-harvest interval of its application date.
- produce.se_claim: `packed` with a 富硒 claim needs the batch's latest selenium `test` inside
  the range for its category (GB/T 22499 rice, NY/T 600-2002 tea, GH/T 1135-2017 others).
- produce.se_nutrition_claim: `packed` with a 富含硒 claim needs selenium ≥ 0.18 mg/kg (GB 28050-2011).
- produce.safety_fail: `ship`, `packed`, `sell` of a batch, or a `transform` of inputs, whose
  history holds a `test` judged "fail" on a safety limit (Cd, Pb, Hg, iAs; GB 2762-2022).
- produce.certificate: from 2026-02-01, a `ship` by a producer of a mandatory product (茶鲜叶,
  vegetables, fruit, fungi; the scope table in families/certificate.py) carries data.certificate_no
  (承诺达标合格证) or the lot has a `certificate_issued`; a ship naming another number than the
  issued certificate's is refused.
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

National rules added 2026-12-01 (issue "National rules"; tests/rules/test_national_rules.py; values
marked unverified in domain.md's sense where the standard's own text was not read):
- produce.se_nutrition_claim (hard, GB 28050-2011): every selenium claim on `packed`; 富/高/富含 need
  ≥ 0.18 mg/kg, 含硒 ≥ 0.09 mg/kg (unverified); GB/T 22499 still applies to 富硒 rice and paddy.
- produce.se_claim (hard, GH/T 1135-2017): a claim resting on it needs the selenoamino-acid share
  (> 65 % plant, > 70 % meat and eggs, > 60 % tea; confirmed from the standard's table as quoted in
  中国农业科学 2019, 52(18): 3122, except fruit, which that table does not list: unverified).
- produce.storage_moisture (soft, GB 1350-2009): by `variety_type`, 籼 13.5 %, 粳 14.5 %.
- produce.banned_pesticide (hard): a versioned list (trace/rules/pesticides.py: 农业部公告第199号,
  the 2019 list, 农业农村部公告第736号 with its dates; tea's own bans).
- produce.residue_coverage (soft, 用什么药检什么药): a ship, pack or sell of a harvested lot whose tests
  cover no pesticide applied on its plot in the year before harvest.
- produce.receive_certificate (hard, 农业农村部令2025年第4号): a receive echoes the shipped 合格证 number;
  from 2026-02-01 a receive of tea leaves, vegetables, fruit or fungi records one.
- produce.sc_licence (hard) / produce.sc_missing (soft), 食品生产许可管理办法 (2020): the SC number's
  format, category (rice 101, tea 114) and the org's own SC licence.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

from farmtrace.ledger.errors import InvalidEventError
from farmtrace.ledger.events import require_decimal
from farmtrace.rules.declare import (STEP_NAMES, VALUE_NAMES, Declaration, Kde, Said, Words, declare, extend,
                                     registered, said_in, type_name, unit_name)
from farmtrace.rules.families import judge_safety
from farmtrace.rules.families import (Proposal, Rule, Threshold, analyte_zh, body_day, claims_of, compare_result,
                                      decimal, threshold_for, valid_on)
from farmtrace.rules.families.certificate import issued_number, mandatory_categories
from farmtrace.rules.licences import LICENCE_RULE, sc_problem
from farmtrace.rules.pesticides import banned_on, ingredient_names
from farmtrace.rules.steps import NEW_BATCH, PLACE, _free, validate_new_batch
from farmtrace.rules.certified import CERTIFIED_KDES, SCHEMES

FAMILY = "produce"

COUNTY_NAMES = {"511902": "巴州区", "511903": "恩阳区", "511921": "通江县", "511922": "南江县", "511923": "平昌县"}
COUNTY = re.compile(r"^[1-9][0-9]{5}$")
DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
WHOLE_DAYS = re.compile(r"^(0|[1-9][0-9]{0,3})$")
AREA_UNITS: dict[str, Words] = {"mu": ("亩", "mu"), "ha": ("公顷", "ha")}
LAND_USES: dict[str, Words] = {"paddy": ("水田", "paddy field"), "dryland": ("旱地", "dry land")}
CERTIFICATE_FROM = date(2026, 2, 1)  # 承诺达标合格证管理办法 (农业农村部令 2025 年第 4 号) in force
CERTIFICATE_RULE = "承诺达标合格证管理办法 (农业农村部令 2025 年第 4 号)"
SE_CLAIMS = frozenset({"富硒", "se_rich"})
SE_NUTRITION_CLAIMS = frozenset({"富含硒", "rich_in_selenium"})
SE_SOURCE_CLAIMS = frozenset({"含硒", "硒源", "source_of_selenium", "contains_selenium"})  # GB 28050: 含有/来源
SE_WORDS = ("硒", "selenium", "se_rich")
GB28050 = "GB 28050-2011"
VARIETY_TYPES: dict[str, Words] = {  # GB 1350-2009 classes of paddy: the moisture limit follows them
    "indica": ("籼稻", "indica"), "japonica": ("粳稻", "japonica"),
    "indica_glutinous": ("籼糯稻", "indica glutinous"), "japonica_glutinous": ("粳糯稻", "japonica glutinous"),
}
CLAIM_BASES: dict[str, Words] = {  # the standard a 富硒 claim rests on (data.claim_basis on `packed`)
    "GB/T 22499": ("GB/T 22499 富硒稻谷", "GB/T 22499 selenium-rich paddy"),
    "NY/T 600": ("NY/T 600 富硒茶", "NY/T 600 selenium-rich tea"),
    "GH/T 1135": ("GH/T 1135 富硒农产品", "GH/T 1135 selenium-rich agricultural products"),
}
PESTICIDE_REGISTRATION = re.compile(r"^(PD|PDN|LS|WP|WL)\d")  # 农药登记证号 prefixes
COVERAGE_WINDOW_DAYS = 365  # our rule: applications within a year before the harvest count
MANDATORY = mandatory_categories(FAMILY)  # §1.4, from the certificate's scope table: not rice, grain or potatoes
SAFETY_ANALYTES = ("cadmium", "lead", "mercury", "inorganic_arsenic")

CATEGORY_NAMES: dict[str, Words] = {  # the categories of CATEGORY_WORDS, as people read them
    "tea_leaves": ("茶鲜叶", "fresh tea leaves"), "tea": ("茶叶", "tea"), "brown_rice": ("糙米", "brown rice"),
    "paddy": ("稻谷", "paddy"), "cereals": ("谷物", "cereals"), "rice": ("大米", "rice"),
    "fungi": ("食用菌", "edible fungi"), "tubers": ("薯类", "tubers"), "beans": ("豆类", "beans"),
    "fruit": ("水果", "fruit"), "vegetables": ("蔬菜", "vegetables"), "eggs": ("蛋类", "eggs"),
    "meat": ("肉类", "meat"),
}
CLAIM_NAMES: dict[str, Words] = {  # label claims on a pack (data.claims)
    "富硒": ("富硒", "selenium-rich"), "se_rich": ("富硒", "selenium-rich"),
    "富含硒": ("富含硒", "rich in selenium"), "rich_in_selenium": ("富含硒", "rich in selenium"),
    "有机": ("有机产品", "organic"), "organic": ("有机产品", "organic"),
    "含硒": ("含硒", "source of selenium"), "source_of_selenium": ("含硒", "source of selenium"),
    "绿色食品": ("绿色食品", "green food"), "green_food": ("绿色食品", "green food"),
    "地理标志": ("地理标志产品", "geographical indication"), "gi": ("地理标志产品", "geographical indication"),
}
PROCESSES: dict[str, Words] = {  # transform processes of the family (data.process)
    "milling": ("碾米", "milling"), "碾米": ("碾米", "milling"), "hulling": ("砻谷", "hulling"),
    "withering": ("萎凋", "withering"), "fixing": ("杀青", "fixing"), "rolling": ("揉捻", "rolling"),
    "drying": ("干燥", "drying"), "withering, fixing, rolling, drying": ("萎凋、杀青、揉捻、干燥",
                                                                     "withering, fixing, rolling, drying"),
    "refining": ("精制", "refining"), "mixing": ("拼配", "mixing"),
}

# ---- event types -------------------------------------------------------------------------


def _require_county(data: Mapping[str, Any], name: str) -> None:
    county = data.get(name)
    if not isinstance(county, str) or not COUNTY.match(county):
        raise InvalidEventError("data.county must be a 6-digit county code (GB/T 2260), e.g. 511922 南江县",
                                field="data.county")


def _require_day(data: Mapping[str, Any], name: str) -> None:
    value = data.get(name)
    if not isinstance(value, str) or not DAY.match(value) or _day(value) is None:
        raise InvalidEventError(f"data.{name} must be a date such as 2026-07-02, got {value!r}", field=f"data.{name}")


def _require_whole_days(data: Mapping[str, Any], name: str) -> None:
    phi = data.get(name)
    if not isinstance(phi, str) or not WHOLE_DAYS.match(phi):
        raise InvalidEventError(f'data.phi_days must be whole days as a string, e.g. "14", got {phi!r}',
                                field="data.phi_days")


def _require_percent(data: Mapping[str, Any], name: str) -> None:
    require_decimal(data, name, optional=True)
    value = decimal(data.get(name))
    if value is not None and not Decimal(0) <= value <= Decimal(100):
        raise InvalidEventError(f"data.{name} is a percentage from 0 to 100, got {value}", field=f"data.{name}")


def _new_batch(data: Mapping[str, Any], name: str) -> None:
    validate_new_batch(data)


_HARVEST_BATCH = (replace(NEW_BATCH[0], check=_new_batch),  # checks all of NEW_BATCH first, as before
                  *(replace(kde, check=_free) for kde in NEW_BATCH[1:]))

CATEGORY = Kde("category", "text", "食品类别", "Food category", required=False, check=_free, choices=CATEGORY_NAMES,
               help_zh="判定限量所依据的类别；不填时按产品名称推断", help_en="the category limits are judged by; "
               "taken from the product name when absent")

PLOT_REGISTERED = declare(Declaration(
    "plot_registered", "地块登记", "Plot registered", kdes=(
        Kde("plot_id", "text", "地块编号", "Plot id", max_len=64, help_zh="如 CC-03", help_en="e.g. CC-03"),
        Kde("county", "county", "所在县（区）", "County", check=_require_county,
            help_zh="6 位行政区划代码 (GB/T 2260)，如 511922 南江县",
            help_en="6-digit county code (GB/T 2260), e.g. 511922 Nanjiang"),
        Kde("area", "decimal", "面积", "Area", positive=True, unit_kde="area_unit"),
        Kde("area_unit", "choice", "面积单位", "Area unit", choices=AREA_UNITS),
        Kde("soil_se", "decimal", "土壤硒含量", "Soil selenium", required=False, unit="mg/kg",
            help_zh="土壤全硒检测值", help_en="total selenium measured in the soil"),
        Kde("soil_se_ref", "text", "土壤检测报告编号", "Soil test report", required=False, max_len=64),
        Kde("land_use", "choice", "土地类型", "Land use", required=False, choices=LAND_USES)),
    family=FAMILY,
    help_zh="地块作为独立批次，先以“批次建立”登记（批号为地块编号，数量为面积）",
    help_en="a plot is a batch of its own, started with `create` (lot = plot id, quantity = area)",
    example={"plot_id": "CC-03", "county": "511922", "area": "48", "area_unit": "mu", "soil_se": "0.45",
             "soil_se_ref": "BZ-SE-2026-0311", "land_use": "paddy"}))

INPUT_APPLIED = declare(Declaration(
    "input_applied", "投入品使用", "Input applied", kdes=(
        Kde("product_name", "text", "投入品名称", "Product name", max_len=100, help_zh="农药、肥料等的商品名称",
            help_en="trade name of the pesticide, fertiliser ..."),
        Kde("registration_no", "text", "农药登记证号", "Pesticide registration no.", required=False, max_len=32,
            help_zh="如 PD20060010", help_en="e.g. PD20060010"),
        Kde("active_ingredient", "text", "有效成分", "Active ingredient", max_len=100),
        Kde("dose", "decimal", "用量", "Dose", positive=True, unit_kde="dose_unit"),
        Kde("dose_unit", "text", "用量单位", "Dose unit", max_len=16, help_zh="如 克/亩 (g/mu)、千克 (KGM)",
            help_en="e.g. g/mu, KGM"),
        Kde("date", "date", "施用日期", "Date applied", check=_require_day, help_zh="如 2026-07-02",
            help_en="e.g. 2026-07-02"),
        Kde("phi_days", "count", "安全间隔期", "Pre-harvest interval", unit="day", check=_require_whole_days,
            help_zh="农药标签上的安全间隔期（整天数），无则填 0", help_en='whole days from the label, "0" for none'),
        Kde("area", "decimal", "施用面积", "Area treated", required=False, positive=True,
            help_zh="与地块面积同一单位", help_en="in the plot's area unit"),
        Kde("operator", "text", "施用人", "Operator", required=False, max_len=64),
        Kde("crop", "text", "作物", "Crop", required=False, max_len=64, help_zh="如 茶、水稻；判定茶叶等作物的禁用农药",
            help_en="e.g. tea, rice; the crop-specific bans follow it")),
    family=FAMILY,
    example={"product_name": "吡虫啉 10% 可湿性粉剂", "registration_no": "PD20060010", "active_ingredient": "吡虫啉",
             "dose": "20", "dose_unit": "g/mu", "date": "2026-07-02", "phi_days": "21", "area": "48",
             "operator": "长赤镇植保队 3 组"}))

HARVESTED = declare(Declaration(
    "harvested", "采收", "Harvested", kdes=(
        *_HARVEST_BATCH,
        Kde("plot", "text", "地块", "Plot", max_len=64, help_zh="采收地块的编号", help_en="the plot harvested"),
        Kde("crop", "text", "作物", "Crop", max_len=64, help_zh="如 水稻、茶", help_en="e.g. rice, tea"),
        Kde("variety", "text", "品种", "Variety", required=False, max_len=64),
        Kde("variety_type", "choice", "稻谷类型", "Paddy type", required=False, choices=VARIETY_TYPES,
            help_zh="籼稻或粳稻 (GB 1350-2009)：安全水分随类型而定", help_en="indica or japonica (GB 1350-2009): "
            "the moisture limit follows it"),
        Kde("moisture", "decimal", "水分", "Moisture", required=False, unit="%", check=_require_percent,
            help_zh="0–100（谷物）", help_en="0-100 (grain)"),
        CATEGORY, PLACE),
    family=FAMILY, genesis=True,
    example={"product": "南江富硒稻谷", "lot": "NJP-2026-01", "family": "produce", "quantity": "1200", "unit": "KGM",
             "plot": "CC-03", "crop": "水稻", "variety": "宜香优2115", "moisture": "18.5",
             "place": "南江县 长赤镇 富硒稻田"}))

DECLARATIONS = (PLOT_REGISTERED, INPUT_APPLIED, HARVESTED)
EVENT_TYPES = registered(DECLARATIONS)

# KDEs the family's rules read on shared steps (free-form there: the rules judge them, the envelope does not)
extend("create", FAMILY, (CATEGORY,))
extend("stored", FAMILY, (
    Kde("store", "text", "仓库", "Store", required=False, check=_free),
    Kde("moisture", "decimal", "水分", "Moisture", required=False, check=_free, unit="%"),
    Kde("temperature", "decimal", "温度", "Temperature", required=False, check=_free, unit="CEL"),
    Kde("variety_type", "choice", "稻谷类型", "Paddy type", required=False, check=_free, choices=VARIETY_TYPES),
    CATEGORY))
extend("packed", FAMILY, (
    Kde("claims", "list", "标签声称", "Label claims", required=False, check=_free, choices=CLAIM_NAMES,
        help_zh="如 富硒、富含硒；每项声称须有检测或证书支持",
        help_en="e.g. 富硒, 富含硒; each needs its supporting record"),
    Kde("claim_basis", "choice", "富硒声称依据", "Selenium claim basis", required=False, check=_free,
        choices=CLAIM_BASES, help_zh="不填时按食品类别选用标准", help_en="taken from the category when absent"),
    Kde("sc_licence", "text", "食品生产许可证编号", "SC licence", required=False, check=_free,
        help_zh="加工食品标签上的 SC 编号（大米 101、茶叶 114）", help_en="SC number on a processed food's label "
        "(rice 101, tea 114)"),
    CATEGORY))
extend("receive", FAMILY, (
    Kde("certificate_no", "text", "收取的合格证编号", "Certificate collected", required=False, check=_free,
        help_zh="收购食用农产品时收取的承诺达标合格证编号", help_en="the 承诺达标合格证 collected with the produce"),))
extend("test", FAMILY, (
    Kde("covers", "list", "检测覆盖的农药", "Pesticides covered", required=False, check=_free,
        help_zh="多残留方法覆盖的有效成分（用什么药检什么药）", help_en="active ingredients a multi-residue method covers"),))
extend("transform", FAMILY, (CATEGORY,))
extend("ship", FAMILY, (CATEGORY,))
extend("sell", FAMILY, (CATEGORY,))
extend("observe", FAMILY, CERTIFIED_KDES)  # step "certified": one declaration for every family (rules/certified.py)
STEP_NAMES.update({"transplanted": ("插秧", "Transplanted"), "withering": ("萎凋", "Withering"),
                   "fixing": ("杀青", "Fixing"), "rolling": ("揉捻", "Rolling"), "drying": ("干燥", "Drying")})
VALUE_NAMES.update({**PROCESSES, **CATEGORY_NAMES, **SCHEMES, **CLAIM_NAMES, **VARIETY_TYPES})

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
    # GH/T 1135-2017: where a claim rests on it, selenoamino acids are more than this share of total selenium
    # (shares as quoted from the standard's table by 汤超华 et al., 中国农业科学 2019, 52(18): 3122, table 3;
    # fruit is not in that table: its share stays unverified)
    *(_row("produce.se_organic_share", "selenoamino_acid_share", c, ">", share, None, "%", "GH/T 1135-2017",
           "unverified" if c == "fruit" else "confirmed")
      for c, share in (("cereals", "65"), ("beans", "65"), ("tubers", "65"), ("vegetables", "65"), ("fungi", "65"),
                       ("fruit", "65"), ("rice", "65"), ("paddy", "65"), ("meat", "70"), ("eggs", "70"),
                       ("tea", "60"))),
    # any selenium claim on a prepackaged food: 高/富含 ≥ 30 % NRV (60 µg) per 100 g; 含有/来源 ≥ 15 % NRV
    _row("produce.se_nutrition", "selenium", "any", ">=", "0.18", None, "mg/kg", GB28050, "confirmed"),
    _row("produce.se_nutrition_source", "selenium", "any", ">=", "0.09", None, "mg/kg", GB28050, "unverified"),
    # selenium-rich soil: a research proposal (CAGS 2021), plot information only
    _row("produce.soil_se", "soil_selenium", "paddy", ">=", "0.40", None, "mg/kg", "CAGS study 2021", "confirmed"),
    _row("produce.soil_se", "soil_selenium", "dryland", ">=", "0.30", None, "mg/kg", "CAGS study 2021", "confirmed"),
    # our rules and product-standard moisture levels (not in domain.md)
    _row("produce.milling_yield", "yield", "rice", "range", "0.55", "0.75", "1", "farmtrace rule (domain.md §2.1)",
         "unverified"),
    _row("produce.moisture", "moisture", "paddy", "<=", "14.5", None, "%", "GB 1350-2009", "unverified"),
    *(_row("produce.moisture", "moisture", f"paddy_{t}", "<=", v, None, "%", "GB 1350-2009", "unverified")
      for t, v in (("indica", "13.5"), ("indica_glutinous", "13.5"), ("japonica", "14.5"),
                   ("japonica_glutinous", "14.5"))),
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
    "selenoamino_acid_share": ("selenoamino_acid_share", "selenoamino acid share", "硒代氨基酸占比",
                               "硒代氨基酸占总硒比例", "有机硒占比"),
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


def compare(row: Threshold, data: Mapping[str, Any]) -> tuple[bool | None, Said]:
    """Whether a test body's data meets `row` (None: units not comparable) and a message citing it."""
    judged: tuple[bool | None, Said] = compare_result(row, data, analyte_of(data).replace("_", " "),
                                                      _factor(data.get("unit"), row.unit))
    return judged


def judge_test(data: Mapping[str, Any], on: date, category: str | None = None) -> tuple[str, Said | None]:
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
            return "info", Said(f"{analyte}: set data.category ({', '.join(categories)}) to judge it against its limit",
                                f"{analyte_zh(analyte.replace('_', ' '))}：请填写食品类别"
                                f"（{'、'.join(_category_zh(c) for c in categories)}），才能对照限量判定")
        category = categories[0]
    rows = [r for r in rows if r.category == category]
    safety = [r for r in rows if r.rule_id in _SAFETY_IDS]
    if safety:
        return judge_safety(safety, lambda row: compare(row, data))
    claim = next((r for rid in _CLAIM_IDS for r in rows if r.rule_id == rid), None)
    if claim is None:
        return "info", None
    ok, message = compare(claim, data)
    label = _CLAIM_NAMES.get(category, "富硒")
    if ok:
        return "pass", Said(f"{message} ({label})", f"{message.zh}（{label}）")
    return "info", Said(f"{message}: not {label}", f"{message.zh}，不属于{label}")


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


def _category_zh(category: str | None) -> str:
    """A category's Chinese name for a message ("paddy" -> "稻谷")."""
    if category is None:
        return "未标明类别"
    words = CATEGORY_NAMES.get(category)
    return category if words is None else words[0]


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

def _check_phi(p: Proposal) -> Said | None:
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
            days = (harvest - applied).days
            return Said(f"农产品质量安全法 (2022) and the pesticide label: harvest on {harvest} is "
                        f"{days} days after {data.get('product_name')} was applied on {applied}; "
                        f"its pre-harvest interval is {phi} days",
                        f"农产品质量安全法 (2022) 及农药标签：{harvest} 采收，距 {applied} 施用"
                        f"“{data.get('product_name')}”仅 {days} 天，而其安全间隔期为 {phi} 天")
    return None


def _se_claim_row(category: str | None, on: date, basis: Any = None) -> Threshold | None:
    """The 富硒 range for `category` on `on`: the product standard first, unless the claim says it rests
    on GH/T 1135 (data.claim_basis)."""
    ids = ("produce.se_rich_general",) if basis == "GH/T 1135" else _CLAIM_IDS
    for rule_id in ids:
        row = threshold_for(THRESHOLDS, rule_id, on, category=category)
        if row is not None:
            return row
    return None


def _check_se_claim(p: Proposal) -> Said | None:
    if not _claims(p.data) & SE_CLAIMS:
        return None
    category = _proposal_category(p)
    row = _se_claim_row(category, p.at.date(), p.data.get("claim_basis"))
    if row is None:
        return Said(f"GB/T 22499-2008, NY/T 600-2002, GH/T 1135-2017: a 富硒 claim needs a category with a selenium "
                    f"range; {category or 'no category'} has none (set data.category)",
                    f"GB/T 22499-2008、NY/T 600-2002、GH/T 1135-2017：富硒声称须属于规定了硒含量范围的食品类别；"
                    f"{f'{_category_zh(category)}没有此范围' if category else '尚未标明食品类别'}（请填写食品类别）")
    return _latest_se_supports(p, row, "富硒") or _organic_share_supports(p, row, category)


def _organic_share_supports(p: Proposal, row: Threshold, category: str | None) -> Said | None:
    """GH/T 1135-2017: a claim resting on it needs the selenoamino-acid share of total selenium."""
    if row.rule_id != "produce.se_rich_general":
        return None
    share = threshold_for(THRESHOLDS, "produce.se_organic_share", p.at.date(), category=category)
    if share is None:
        return None
    tests = _tests(p.history, "selenoamino_acid_share")
    if not tests:
        return Said(f"{share.standard}: a 富硒 claim resting on it needs the selenoamino-acid share of total selenium "
                    f"(> {share.limit} % for {_category_zh(category)}); no such test is recorded for this batch",
                    f"{share.standard}：依据本标准的富硒声称须检测硒代氨基酸占总硒的比例"
                    f"（{_category_zh(category)} > {share.limit}%），本批次尚无记录")
    ok, message = compare(share, tests[-1].get("data", {}))
    return None if ok else Said(f"{message}: the 富硒 claim is not supported (selenoamino-acid share)",
                                f"{message.zh}，硒代氨基酸占比不足，“富硒”声称没有依据")


def _latest_se_supports(p: Proposal, row: Threshold, claim: str) -> Said | None:
    tests = _tests(p.history, "selenium")
    if not tests:
        return Said(f"{row.standard}: a {claim} claim needs a selenium test (GB 5009.93) of this batch; "
                    "none is recorded",
                    f"{row.standard}：“{claim}”声称须有本批次的硒检测 (GB 5009.93)，但尚无记录")
    ok, message = compare(row, tests[-1].get("data", {}))
    return None if ok else Said(f"{message}: the {claim} claim is not supported",
                                f"{message.zh}，“{claim}”声称没有依据")


def se_claims(data: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """(高/富含 claims, 含有/来源 claims) about selenium among a pack's claims (GB 28050's two kinds)."""
    rich, source = [], []
    for claim in sorted(_claims(data)):
        low = claim.lower()
        if claim in SE_SOURCE_CLAIMS:
            source.append(claim)
        elif claim in SE_CLAIMS | SE_NUTRITION_CLAIMS or any(w in low for w in SE_WORDS):
            rich.append(claim)
    return rich, source


def _check_se_nutrition_claim(p: Proposal) -> Said | None:
    """GB 28050-2011 on a prepackaged food: every selenium claim on the label, whatever its words."""
    rich, source = se_claims(p.data)
    on = p.at.date()
    for claims, rule_id in ((rich, "produce.se_nutrition"), (source, "produce.se_nutrition_source")):
        row = threshold_for(THRESHOLDS, rule_id, on, category="any")
        if claims and row is not None:
            message = _latest_se_supports(p, row, "、".join(claims))
            if message:
                return message
    return None


def _failed_safety_test(bodies: Sequence[Mapping[str, Any]], category: str | None) -> Said | None:
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


def _check_safety_fail(p: Proposal) -> Said | None:
    if p.type == "transform":
        for batch, bodies in p.inputs.items():
            message = _failed_safety_test(bodies, _batch_category(bodies))
            if message:
                return Said(f"{message}; input {batch} failed its test and cannot be transformed",
                            f"{said_in(message, 'zh')}；原料批次 {batch} 检测不合格，不得用于加工")
        return None
    message = _failed_safety_test(p.history, _proposal_category(p))
    if not message:
        return None
    verb = {"ship": "shipped", "packed": "packed", "sell": "sold"}.get(p.type, p.type)
    verb_zh = {"ship": "发货", "packed": "包装", "sell": "销售"}.get(p.type) or type_name(p.type, "zh")
    return Said(f"{message}; this batch failed its test and cannot be {verb}",
                f"{said_in(message, 'zh')}；本批次检测不合格，不得{verb_zh}")


def _check_certificate(p: Proposal) -> Said | None:
    issued = issued_number(p.history)
    if issued is not None and _has_text(p.data, "certificate_no") and p.data["certificate_no"] != issued:
        return Said(f"{CERTIFICATE_RULE}: the lot's 承诺达标合格证 is {issued}; the ship names "
                    f"{p.data['certificate_no']!r} (data.certificate_no)",
                    f"{CERTIFICATE_RULE}：本批次开具的承诺达标合格证为 {issued}，发货所填为“{p.data['certificate_no']}”")
    if (p.at.date() < CERTIFICATE_FROM or p.org_kind != "producer" or _has_text(p.data, "certificate_no")
            or issued is not None):
        return None
    category = _proposal_category(p)
    if category not in MANDATORY:
        return None
    return Said(f"{CERTIFICATE_RULE}: a producer's ship of {category.replace('_', ' ')} carries a 承诺达标合格证 "
                "per lot (data.certificate_no)",
                f"{CERTIFICATE_RULE}：生产者发运{_category_zh(category)}，每批须附承诺达标合格证（填写合格证编号）")


def _check_mix_certificate(p: Proposal) -> Said | None:
    if p.at.date() < CERTIFICATE_FROM or _has_text(p.data, "certificate_no"):
        return None
    mandatory = [b for b, bodies in p.inputs.items() if _batch_category(bodies) in MANDATORY]
    output = _known_category(p.data.get("category")) or category_of(p.data.get("product"))
    if len(mandatory) < 2 or output not in MANDATORY:
        return None
    return Said(f"{CERTIFICATE_RULE}: mixing {len(mandatory)} lots ({', '.join(sorted(mandatory))}) issues a new "
                "承诺达标合格证 for the output (data.certificate_no)",
                f"{CERTIFICATE_RULE}：混合 {len(mandatory)} 个批次（{'、'.join(sorted(mandatory))}），"
                "须为产出批次开具新的承诺达标合格证（填写合格证编号）")


def _check_banned_pesticide(p: Proposal) -> Said | None:
    applied = _day(p.data.get("date")) or p.at.date()
    crop = category_of(p.data.get("crop")) or _proposal_category(p)
    for name in ("active_ingredient", "product_name"):
        text = p.data.get(name)
        ban = banned_on(text, crop, applied) if isinstance(text, str) else None
        if ban is None:
            continue
        scope = "any crop" if "*" in ban.crops else _category_zh(crop)
        scope_zh = "任何作物" if "*" in ban.crops else _category_zh(crop)
        return Said(f"{ban.source}: {ban.name} ({ban.en}) is banned on {scope} from {ban.valid_from}; "
                    f"{text} may not be applied on {applied}",
                    f"{ban.source}：{ban.name}自 {ban.valid_from} 起禁止在{scope_zh}上使用，"
                    f"{applied} 不得施用“{text}”")
    return None


def _check_receive_certificate(p: Proposal) -> Said | None:
    number = p.data.get("certificate_no")
    ships = [b for b in p.history if b.get("type") == "ship"]
    issued = ships[-1].get("data", {}).get("certificate_no") if ships else None
    if not (isinstance(issued, str) and issued.strip()):
        issued = issued_number(p.history)  # the certificate issued on the lot travels with it
    if isinstance(issued, str) and issued.strip():
        if number != issued:
            return Said(f"{CERTIFICATE_RULE}: the purchaser records the collected 承诺达标合格证 {issued}; "
                        f"got {number!r} (data.certificate_no)",
                        f"{CERTIFICATE_RULE}：收购方须登记随货收取的承诺达标合格证 {issued}，所填为“{number or ''}”")
        return None
    if p.at.date() < CERTIFICATE_FROM or _has_text(p.data, "certificate_no"):
        return None
    category = _proposal_category(p)
    if category not in MANDATORY:
        return None
    return Said(f"{CERTIFICATE_RULE}: a purchaser of {category.replace('_', ' ')} records the 承诺达标合格证 it "
                "collected (data.certificate_no)",
                f"{CERTIFICATE_RULE}：收购{_category_zh(category)}须登记收取的承诺达标合格证编号")


SC_PRODUCTS = {"rice": "rice", "tea": "tea"}  # processed produce that needs an SC licence, by category


def _check_sc_licence(p: Proposal) -> Said | None:
    number = p.data.get("sc_licence")
    if number is None:
        return None
    product = SC_PRODUCTS.get(_proposal_category(p) or "")
    if product is None:
        return sc_problem(number, "rice") if not isinstance(number, str) or not number.startswith("SC") else None
    problem = sc_problem(number, product)
    if problem:
        return problem
    licensed = p.orgs[p.org].licences.get("sc") if p.org in p.orgs else None
    if licensed is not None and licensed != number:
        return Said(f"{LICENCE_RULE}: the label names {number}, but the packer's licence on record is {licensed}",
                    f"{LICENCE_RULE}：标签标注的许可证为 {number}，而包装企业登记的许可证为 {licensed}")
    return None


HARD_RULES = (
    Rule("produce.phi", frozenset({"harvested"}), _check_phi, None, "农产品质量安全法 (2022)"),
    Rule("produce.se_claim", frozenset({"packed"}), _check_se_claim, "data.claims",
         "GB/T 22499-2008 / NY/T 600-2002 / GH/T 1135-2017"),
    Rule("produce.se_nutrition_claim", frozenset({"packed"}), _check_se_nutrition_claim, "data.claims", GB28050),
    Rule("produce.safety_fail", frozenset({"ship", "packed", "sell", "transform"}), _check_safety_fail, "batch",
         _GB2762),
    Rule("produce.certificate", frozenset({"ship"}), _check_certificate, "data.certificate_no", CERTIFICATE_RULE),
    Rule("produce.mix_certificate", frozenset({"transform"}), _check_mix_certificate, "data.certificate_no",
         CERTIFICATE_RULE),
    Rule("produce.banned_pesticide", frozenset({"input_applied"}), _check_banned_pesticide, "data.active_ingredient",
         "农业部公告第199号 (2002) / 农业农村部公告第736号 (2023)"),
    Rule("produce.receive_certificate", frozenset({"receive"}), _check_receive_certificate, "data.certificate_no",
         CERTIFICATE_RULE),
    Rule("produce.sc_licence", frozenset({"packed"}), _check_sc_licence, "data.sc_licence", LICENCE_RULE),
)

# ---- soft rules --------------------------------------------------------------------------------


def _warn_se_range(p: Proposal) -> Said | None:
    if analyte_of(p.data) != "selenium":
        return None
    category = _known_category(p.data.get("category")) or _proposal_category(p)
    row = _se_claim_row(category, p.at.date())
    if row is None:
        return None
    ok, message = compare(row, p.data)
    return None if ok else Said(f"{message}: a 富硒 claim on this batch is at risk",
                                f"{message.zh}，本批次的富硒声称存在风险")


def _warn_milling_yield(p: Proposal) -> Said | None:
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
    kg, shown = unit_name("kg", "zh"), milled.quantize(_D("0.001"))
    return Said(f"{row.standard}: milled-rice yield {shown} ({out.normalize():f} of "
                f"{total.normalize():f} kg) outside {row.limit}–{row.high}",
                f"{row.standard.replace('farmtrace rule', 'farmtrace 规则')}：出米率 {shown}"
                f"（投入 {total.normalize():f} {kg}，产出 {out.normalize():f} {kg}），"
                f"不在 {row.limit}–{row.high} 范围内")


def _variety_type(p: Proposal) -> str | None:
    """The paddy type (籼/粳) of the event, else of the lot's harvest."""
    for data in (p.data, *(b.get("data", {}) for b in p.history[:1])):
        value = data.get("variety_type") if isinstance(data, Mapping) else None
        if isinstance(value, str) and value in VARIETY_TYPES:
            return value
    return None


def _warn_storage_moisture(p: Proposal) -> Said | None:
    moisture = decimal(p.data.get("moisture"))
    category = _proposal_category(p)
    kind = _variety_type(p) if category == "paddy" else None
    row = threshold_for(THRESHOLDS, "produce.moisture", p.at.date(), category=f"paddy_{kind}" if kind else category)
    if moisture is None or row is None or row.holds(moisture):
        return None
    if kind is not None:
        return Said(f"{row.standard}: moisture {moisture}% > {row.limit}% for {VARIETY_TYPES[kind][1]} paddy",
                    f"{row.standard}：水分 {moisture}% > {row.limit}%，超出{VARIETY_TYPES[kind][0]}的水分上限")
    return Said(f"{row.standard}: moisture {moisture}% > {row.limit}% for safe storage of {row.category}",
                f"{row.standard}：水分 {moisture}% > {row.limit}%，超出{_category_zh(row.category)}安全贮存的水分上限")


def _is_pesticide(data: Mapping[str, Any]) -> bool:
    number = data.get("registration_no")
    return (isinstance(number, str) and PESTICIDE_REGISTRATION.match(number) is not None) or bool(
        ingredient_names(str(data.get("active_ingredient", ""))))


def _warn_residue_coverage(p: Proposal) -> Said | None:
    """用什么药检什么药: the lot's residue tests name every pesticide applied on its plot before harvest."""
    harvest = _at(p.history[0]) if p.history and p.history[0].get("type") == "harvested" else None
    if harvest is None:
        return None
    applied: list[str] = []
    for body in (b for bodies in p.inputs.values() for b in bodies):
        data = body.get("data", {})
        when = _day(data.get("date"))
        if body.get("type") != "input_applied" or when is None or not _is_pesticide(data):
            continue
        if when <= harvest and (harvest - when).days <= COVERAGE_WINDOW_DAYS:
            applied.append(str(data.get("active_ingredient", "")).strip())
    if not applied:
        return None
    covered: set[str] = set()
    for body in p.history:
        if body.get("type") != "test":
            continue
        data = body.get("data", {})
        covered.add(str(data.get("analyte", "")).strip().lower())
        if isinstance(data.get("covers"), list):
            covered |= {str(c).strip().lower() for c in data["covers"]}
    missing = sorted({a for a in applied if a.lower() not in covered})
    if not missing:
        return None
    return Said(f"农产品质量安全法 (2022) / farmtrace rule (用什么药检什么药): no residue test of this lot covers "
                f"{', '.join(missing)}, applied on its plot before harvest",
                f"农产品质量安全法 (2022) / 本平台规则（用什么药检什么药）：本批次的残留检测未覆盖采收前在地块上施用的"
                f"{'、'.join(missing)}")


def _warn_soil_se(p: Proposal) -> Said | None:
    soil = decimal(p.data.get("soil_se"))
    row = threshold_for(THRESHOLDS, "produce.soil_se", p.at.date(), category=str(p.data.get("land_use")))
    if soil is None or row is None or row.holds(soil):
        return None
    unit = unit_name(row.unit, "zh")
    land = LAND_USES[row.category][0] if row.category in LAND_USES else row.category
    return Said(f"{row.standard} (research, not a standard): soil selenium {soil} mg/kg < {row.limit} mg/kg for "
                f"{row.category} land; 富硒 claims from this plot rest on crop tests alone",
                f"{row.standard}（中国地质科学院研究建议，并非标准）：{land}土壤硒 {soil} {unit} < {row.limit} {unit}；"
                "本地块产品的富硒声称只能依据作物检测")


SOFT_RULES = (
    Rule("produce.se_range", frozenset({"test"}), _warn_se_range, "data.value",
         "GB/T 22499-2008 / NY/T 600-2002 / GH/T 1135-2017"),
    Rule("produce.milling_yield", frozenset({"transform"}), _warn_milling_yield, "data.quantity",
         "farmtrace rule (domain.md §2.1)"),
    Rule("produce.storage_moisture", frozenset({"stored"}), _warn_storage_moisture, "data.moisture",
         "GB 1350-2009 / GB/T 1354-2018 / GB/T 14456.1-2017"),
    Rule("produce.soil_se", frozenset({"plot_registered"}), _warn_soil_se, "data.soil_se", "CAGS study 2021"),
    Rule("produce.residue_coverage", frozenset({"ship", "packed", "sell"}), _warn_residue_coverage, "batch",
         "农产品质量安全法 (2022)"),
    Rule("produce.sc_missing", frozenset({"packed"}), lambda p: _warn_sc_missing(p), "data.sc_licence", LICENCE_RULE),
)


def _warn_sc_missing(p: Proposal) -> Said | None:
    """A processed food (milled rice, made tea: a lot made by `transform`) packed without its SC number."""
    made = bool(p.history) and p.history[0].get("type") == "transform"
    product = SC_PRODUCTS.get(_proposal_category(p) or "")
    if not made or product is None or _has_text(p.data, "sc_licence"):
        return None
    return Said(f"{LICENCE_RULE}: packed {product} is a processed food; its label carries the SC licence number "
                "(data.sc_licence)",
                f"{LICENCE_RULE}：{_category_zh(product)}属加工食品，包装标签须标注食品生产许可证编号")

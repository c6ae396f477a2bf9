"""Pork (猪肉, "一块肉"): live pigs from ear tagging to retail cuts (domain.md §3).

Event types of this family (one `Declaration` each in DECLARATIONS, registered on import), with their
key data elements (labels, units and allowed words are in the declarations):
- `animal_tagged` (starts the animal or pen lot): product, lot, family "pork", quantity (whole
  head), unit "head", tags (one 15-digit ear tag `^1\\d{14}$` per head), birth_or_arrival
  (YYYY-MM-DD), breed; optional origin_doc, sex.
- `fed`: feed, supplier, lot, kg, additives (list, may be empty).
- `immunised`: vaccine, manufacturer, batch, dose, dose_unit, vet.
- `treated`: drug, approval_no, dose, dose_unit, route, start, end (dates), withdrawal_days.
- `quarantined`: certificate_no (动物检疫合格证明), issuer, head, tags covered.
Generic types judged here: ship, receive, sell, packed, transform (process "slaughter" | "cutting"
| other), test, inspected, temperature_logged, stored. The fields this family reads on them are added
to those steps with `extend` (free-form: the rules judge them, the envelope does not).

Every message a rule or `judge_test` returns is a `Said`: the English the API has always carried, with
its Chinese beside it (the same standard number and edition, units and values in words).

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

National rules added 2026-12-01 (issue "National rules"; tests/rules/test_national_rules.py):
- pork.receive_tags (hard, 公告第119号): ear tags at arrival equal those on the certificate the pigs were
  shipped on; pork.receive_tags_missing (soft) when a receive records none.
- pork.vehicle (hard) / pork.vehicle_missing (soft), 动物防疫法 (2021): `vehicle_no` on a ship of live pigs,
  checked as a plate (e.g. 川Y12345).
- pork.asf_negative (extended): a strip-test negative ships within Sichuan only (receiver's county code
  51xxxx; a receiver without one counts as outside); outside needs a PCR negative (`asf_method`).
- pork.disposal (hard, 病死畜禽和病害畜禽产品无害化处理管理办法 2022): condemned kg or a failed post-mortem
  records the disposal method and record number.
- pork.slaughter_licence (soft, 生猪屠宰管理条例 2021): slaughter by an org without a `slaughter` licence.
- pork.own_quarantine_number (hard, 动物检疫管理办法 农业农村部令2022年第7号 / 生猪屠宰检疫规程, the 规程's edition
  unverified): on an `inspected` of a slaughter product, the carcass's 动物检疫合格证明 (产品) number
  (quarantine_certificate or certificate_no) is not the live pigs' number (动物) nor it with a prefix or suffix
  added. The live numbers come in `Proposal.source_certificates`: the service gathers them (families.
  quarantine_numbers) from the direct inputs of the batch's genesis transform, so the rule stays database-free.
  That the two certificates carry unrelated numbers is our reading of the two forms (动物 / 产品) being issued
  separately; no text we found says "must not be derived" (unverified).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from farmtrace.ledger import events
from farmtrace.ledger.errors import InvalidEventError
from farmtrace.ledger.events import EventType
from farmtrace.rules.declare import (
    VALUE_NAMES,
    Declaration,
    Kde,
    Said,
    Words,
    declare,
    extend,
    registered,
    unit_name,
)
from farmtrace.rules.families import (
    Proposal,
    in_sichuan,
    Rule,
    Threshold,
    analyte_zh,
    bodies_of,
    body_time,
    convert_units,
    decimal,
    fmt_decimal,
    parse_day,
    proposal_inputs,
    threshold_for,
)
from farmtrace.rules.steps import NEW_BATCH, PLACE, validate_new_batch
from farmtrace.rules.certified import CERTIFIED_KDES

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
EPIDEMIC_LAW = "动物防疫法 (2021)"
DISPOSAL = "病死畜禽和病害畜禽产品无害化处理管理办法 (2022)"
OWN_NUMBER = "动物检疫管理办法 (农业农村部令2022年第7号) / 生猪屠宰检疫规程"  # the 规程's edition: unverified
VEHICLE = re.compile(r"^[\u4e00-\u9fa5][A-Z][A-Z0-9]{5,6}$")  # a plate: 川Y12345 (new-energy plates have 6)
PCR_WORDS = ("pcr", "核酸", "荧光定量", "gb/t 18648")
STRIP_WORDS = ("strip", "试纸", "胶体金", "抗原", "antigen", "lateral flow", "免疫层析")
OUR_RULES_FROM = date(2000, 1, 1)  # our own rules apply to every event in the ledger
CHINA_TIME = timezone(timedelta(hours=8))
STANDARDS_ZH = {  # our own rules as a Chinese reader names them; published standards are cited as numbered
    OURS: "本平台规则", "farmtrace rule": "本平台规则",
    "farmtrace rule (industry practice 0–4 °C)": "本平台规则（行业惯例 0–4 °C）",
}
ANALYTES_ZH = {"asfv": "非洲猪瘟病毒"}  # beside farmtrace.rules.families.ANALYTE_NAMES
UNITS_ZH = {"copies/µL": "拷贝/微升", "copies/μL": "拷贝/微升", "copies/uL": "拷贝/微升"}  # PCR units UNITS lacks


def _std_zh(standard: str) -> str:
    return STANDARDS_ZH.get(standard, standard)


def _analyte_zh(name: str) -> str:
    return ANALYTES_ZH.get(name) or analyte_zh(name)


def _unit_zh(code: Any) -> str:
    """A unit in Chinese words (as written when it has none, "" when it is not a text)."""
    return UNITS_ZH.get(code, unit_name(code, "zh")) if isinstance(code, str) else unit_name(code, "zh")

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


# ---- checks of this family's KDEs, worded as the API has always worded them ----------------------------

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


def _new_pig_lot(data: Mapping[str, Any], name: str) -> None:
    """The KDEs every new batch records, then: this family, counted in head."""
    validate_new_batch(data)
    if data["family"] != FAMILY:
        raise InvalidEventError(f'data.family must be "{FAMILY}"', field="data.family")
    if data["unit"] != "head":
        raise InvalidEventError('data.unit must be "head" for tagged animals', field="data.unit")


def _checked(data: Mapping[str, Any], name: str) -> None:
    """Checked already, with the KDE that starts the batch (`_new_pig_lot`)."""


def _free(data: Mapping[str, Any], name: str) -> None:
    """A KDE this family adds to a shared, free-form step: its rules judge it, the envelope does not."""


def _head(data: Mapping[str, Any], name: str) -> None:
    _require_count(data, name)


def _tags_of(head: str) -> Callable[[Mapping[str, Any], str], None]:
    """Ear tags, one per head counted in the KDE `head` (checked again first, as the validators always did)."""
    def check(data: Mapping[str, Any], name: str) -> None:
        _require_tags(data, name, _require_count(data, head))
    return check


def _date(data: Mapping[str, Any], name: str) -> None:
    _require_date(data, name)


def _end(data: Mapping[str, Any], name: str) -> None:
    start, end = _day(data.get("start")), _require_date(data, name)
    if start and end and end < start:
        raise InvalidEventError(f"data.end ({end}) is before data.start ({start})", field="data.end")


def _additives(data: Mapping[str, Any], name: str) -> None:
    _require_list(data, name, allow_empty=True)


def _withdrawal_days_kde(data: Mapping[str, Any], name: str) -> None:
    value = data.get(name)
    if not isinstance(value, str) or not DAYS.match(value):
        raise InvalidEventError(f'data.withdrawal_days must be whole days as a string, e.g. "28", got {value!r}',
                                field="data.withdrawal_days")


# ---- the declarations: one per event type of this family --------------------------------------------

SEXES: dict[str, Words] = {
    "boar": ("公猪", "boar"), "sow": ("母猪", "sow"), "barrow": ("去势公猪", "barrow"), "gilt": ("后备母猪", "gilt"),
    "male": ("公", "male"), "female": ("母", "female"), "mixed": ("公母混群", "mixed"),
}
ROUTES: dict[str, Words] = {
    "im": ("肌内注射", "intramuscular"), "iv": ("静脉注射", "intravenous"), "sc": ("皮下注射", "subcutaneous"),
    "oral": ("口服", "oral"), "feed": ("混饲", "in feed"), "water": ("混饮", "in drinking water"),
}
TAG_HELP = ("每头一个 15 位耳标号：1 + 6 位县级行政区划代码 + 8 位顺序号",
            "one 15-digit ear tag per head: 1 + 6-digit county code + 8-digit sequence")


def _dose() -> tuple[Kde, Kde]:
    return (Kde("dose", "decimal", "剂量", "Dose", positive=True, unit_kde="dose_unit"),
            Kde("dose_unit", "text", "剂量单位", "Dose unit", max_len=16, help_zh="如 毫升 (mL)、头份",
                help_en="e.g. mL, doses"))


ANIMAL_TAGGED = declare(Declaration(
    "animal_tagged", "加施耳标", "Ear tagged", kdes=(
        replace(NEW_BATCH[0], check=_new_pig_lot),
        *(replace(kde, check=_checked) for kde in NEW_BATCH[1:3]),
        replace(NEW_BATCH[3], zh="头数", en="Head", check=_head,
                help_zh="整头数，如 12", help_en='whole head as a string, e.g. "12"'),
        replace(NEW_BATCH[4], check=_checked, help_zh="头 (head)", help_en="head"),
        Kde("tags", "list", "耳标号", "Ear tags", check=_tags_of("quantity"), help_zh=TAG_HELP[0],
            help_en=TAG_HELP[1]),
        Kde("birth_or_arrival", "date", "出生或引入日期", "Born or arrived", check=_date),
        Kde("breed", "text", "品种", "Breed", max_len=64, help_zh="如 青峪猪", help_en="e.g. Qingyu pig (青峪猪)"),
        Kde("origin_doc", "text", "来源证明", "Origin document", required=False, max_len=100,
            help_zh="引入猪只的检疫合格证明编号等", help_en="e.g. the quarantine certificate of bought-in pigs"),
        Kde("sex", "text", "性别", "Sex", required=False, max_len=16, choices=SEXES),
        PLACE),
    family=FAMILY, genesis=True,
    help_zh="为猪只加施耳标并建立批次（一栏或一头）", help_en="ear tags the pigs and starts their lot (a pen or one animal)",
    example={"product": "青峪猪 生猪", "lot": "QY-2026-001", "family": "pork", "quantity": "2", "unit": "head",
             "tags": ["151192100000001", "151192100000002"], "birth_or_arrival": "2025-12-20", "breed": "青峪猪",
             "sex": "barrow", "place": "通江县 青峪镇 养殖场"}))
FED = declare(Declaration(
    "fed", "饲喂", "Fed", kdes=(
        Kde("feed", "text", "饲料", "Feed", max_len=100),
        Kde("supplier", "text", "饲料供应商", "Supplier", max_len=100),
        Kde("lot", "text", "饲料批号", "Feed lot", max_len=100),
        Kde("kg", "decimal", "饲喂量", "Amount fed", positive=True, unit="KGM"),
        Kde("additives", "list", "添加剂", "Additives", check=_additives, help_zh="没有时留空",
            help_en="may be empty"),
        PLACE),
    family=FAMILY,
    example={"feed": "育肥猪配合饲料", "supplier": "巴中饲料厂", "lot": "F-0120", "kg": "50",
             "additives": ["复合维生素"]}))
IMMUNISED = declare(Declaration(
    "immunised", "免疫", "Immunised", kdes=(
        Kde("vaccine", "text", "疫苗", "Vaccine", max_len=100),
        Kde("manufacturer", "text", "生产厂家", "Manufacturer", required=False, max_len=100,
            help_zh="疫苗标签上的生产企业", help_en="the maker named on the vaccine's label"),
        Kde("batch", "text", "疫苗批号", "Vaccine batch", max_len=100),
        *_dose(),
        Kde("vet", "text", "兽医", "Vet", max_len=100),
        PLACE),
    family=FAMILY,
    example={"vaccine": "猪瘟活疫苗", "batch": "V-2026-01", "dose": "1", "dose_unit": "头份", "vet": "驻场兽医"}))
TREATED = declare(Declaration(
    "treated", "用药治疗", "Treated", kdes=(
        Kde("drug", "text", "兽药", "Drug", max_len=100),
        Kde("approval_no", "text", "兽药批准文号", "Approval no.", max_len=100),
        *_dose(),
        Kde("route", "text", "给药途径", "Route", max_len=32, choices=ROUTES),
        Kde("start", "date", "开始日期", "Start", check=_date),
        Kde("end", "date", "结束日期", "End", check=_end, help_zh="不早于开始日期", help_en="not before the start"),
        Kde("withdrawal_days", "count", "休药期", "Withdrawal period", unit="day", check=_withdrawal_days_kde,
            help_zh="整天数，没有时填 0；不得短于农业部公告第278号规定的休药期",
            help_en='whole days, "0" for none; not shorter than the period listed by 农业部公告第278号'),
        PLACE),
    family=FAMILY,
    example={"drug": "土霉素注射液", "approval_no": "兽药字220011111", "dose": "5", "dose_unit": "mL", "route": "im",
             "start": "2026-02-05", "end": "2026-02-07", "withdrawal_days": "28"}))
QUARANTINED = declare(Declaration(
    "quarantined", "产地检疫", "Quarantined at origin", kdes=(
        Kde("certificate_no", "text", "动物检疫合格证明编号", "Quarantine certificate no.", max_len=64),
        Kde("issuer", "text", "出证机构", "Issued by", max_len=100, help_zh="如 通江县动物卫生监督所",
            help_en="the county animal health supervision office"),
        Kde("head", "count", "头数", "Head", unit="head", check=_head),
        Kde("tags", "list", "耳标号", "Ear tags", check=_tags_of("head"), help_zh=TAG_HELP[0], help_en=TAG_HELP[1]),
        PLACE),
    family=FAMILY,
    help_zh="官方兽医出具动物检疫合格证明", help_en="an official vet issues the animal quarantine certificate",
    example={"certificate_no": "5100000000123", "issuer": "通江县动物卫生监督所", "head": "2",
             "tags": ["151192100000001", "151192100000002"]}))

DECLARATIONS: tuple[Declaration, ...] = (ANIMAL_TAGGED, FED, IMMUNISED, TREATED, QUARANTINED)
EVENT_TYPES: tuple[EventType, ...] = registered(DECLARATIONS)

# ---- KDEs this family adds to the shared steps ------------------------------------------------------

LIVE_WEIGHT = Kde("live_weight", "decimal", "活重", "Live weight", required=False, check=_free, unit="KGM",
                  help_zh="整批活猪的总重", help_en="the whole lot's live weight")
COMMITMENT_NO = Kde("certificate_no", "text", "承诺达标合格证编号", "Commitment certificate no.", required=False,
                    check=_free)
DISPOSALS: dict[str, Words] = {  # 病死畜禽和病害畜禽产品无害化处理 methods
    "incineration": ("焚烧", "incineration"), "rendering": ("化制", "rendering"),
    "high_temperature": ("高温处理", "high-temperature treatment"), "burial": ("深埋", "burial"),
    "fermentation": ("发酵", "fermentation"), "other": ("其他", "other"),
}
ASF_METHODS: dict[str, Words] = {"pcr": ("荧光 PCR", "PCR"), "strip": ("免疫层析试纸条", "immunological strip")}
REGIMES: dict[str, Words] = {"chilled": ("冷鲜", "chilled"), "frozen": ("冷冻", "frozen"),
                             "chilling": ("排酸（冷却中）", "chilling")}
LOCATIONS: dict[str, Words] = {"air": ("库内空气", "air"), "core": ("肉中心", "core"),
                               "cutting_room": ("分割车间", "cutting room")}
REGIME = Kde("regime", "choice", "温控类别", "Regime", required=False, check=_free, choices=REGIMES,
             help_zh="默认冷鲜；排酸期间的读数不判定", help_en="chilled unless said; readings while chilling are not judged")
LOCATION = Kde("location", "choice", "测温位置", "Location", required=False, check=_free, choices=LOCATIONS)
READING_UNIT = Kde("unit", "text", "单位", "Unit", required=False, check=_free, help_zh="°C (CEL)", help_en="°C (CEL)")

VEHICLE_NO = Kde("vehicle_no", "text", "运输车辆牌照号", "Vehicle plate", required=False, check=_free,
                 help_zh="已备案的生猪运输车辆，如 川Y12345", help_en="the registered livestock vehicle, e.g. 川Y12345")
VEHICLE_RECORD = Kde("vehicle_record", "text", "车辆备案编号", "Vehicle registration no.", required=False, check=_free,
                     help_zh="县级农业农村部门的运输车辆备案编号", help_en="the county bureau's vehicle registration")
extend("ship", FAMILY, (LIVE_WEIGHT, VEHICLE_NO, VEHICLE_RECORD))
extend("observe", FAMILY, CERTIFIED_KDES)  # step "certified", e.g. the 青峪猪 GI mark (rules/certified.py)
extend("receive", FAMILY, (COMMITMENT_NO, LIVE_WEIGHT,
                           Kde("tags", "list", "到场查验耳标号", "Ear tags checked", required=False, check=_free,
                               help_zh="入场查验的耳标号，须与检疫合格证明一致", help_en="must match the quarantine certificate"),
                           Kde("quarantine_certificate", "text", "随附检疫合格证明编号", "Quarantine certificate received",
                               required=False, check=_free)))
extend("inspected", FAMILY, (
    Kde("stage", "choice", "检验环节", "Stage", required=False, check=_free, choices={
        "ante-mortem": ("宰前检验", "ante-mortem"), "post-mortem": ("宰后检验", "post-mortem")}),
    Kde("certificate_no", "text", "动物检疫合格证明编号", "Quarantine certificate no.", required=False, check=_free),
    Kde("result", "choice", "结果", "Result", required=False, check=_free, choices={
        "pass": ("合格", "pass"), "fail": ("不合格", "fail")}),
    Kde("quarantine_certificate", "text", "检疫合格证明编号", "Quarantine certificate no.", required=False,
        check=_free, help_zh="宰后检疫出具", help_en="issued at post-mortem quarantine"),
    Kde("quality_certificate", "text", "肉品品质检验合格证编号", "Meat quality certificate no.", required=False,
        check=_free),
    Kde("condemned_kg", "decimal", "病害肉品重量", "Condemned", required=False, check=_free, unit="KGM"),
    Kde("disposal", "choice", "无害化处理方法", "Disposal", required=False, check=_free, choices=DISPOSALS),
    Kde("disposal_record", "text", "无害化处理记录编号", "Disposal record no.", required=False, check=_free),
    LIVE_WEIGHT))
extend("transform", FAMILY, (
    LIVE_WEIGHT,
    Kde("asf_method", "choice", "非洲猪瘟检测方法", "ASF test method", required=False, check=_free, choices=ASF_METHODS,
        help_zh="所引检测报告的方法；出省销售须 PCR 阴性", help_en="method of the cited reports; PCR for outside Sichuan"),
    Kde("asf_reports", "list", "非洲猪瘟检测报告编号", "ASF test reports", required=False, check=_free,
        help_zh="投入批次阴性结果的报告编号", help_en="report numbers of the inputs' negative results"),
    Kde("meat_certificates", "items", "两证", "Meat certificates", required=False, check=_free, items=(
        Kde("quarantine", "text", "检疫合格证明", "Quarantine certificate"),
        Kde("quality", "text", "肉品品质检验合格证", "Meat quality certificate")),
        help_zh="投入批次的检疫合格证明和肉品品质检验合格证编号",
        help_en="the inputs' quarantine and meat-quality certificate numbers")))
extend("temperature_logged", FAMILY, (
    Kde("device", "text", "测温设备", "Device", required=False, check=_free),
    Kde("value", "decimal", "温度", "Temperature", required=False, check=_free, unit_kde="unit"),
    READING_UNIT,
    Kde("probe", "choice", "探头", "Probe", required=False, check=_free, choices={
        "air": ("空气探头", "air"), "core": ("中心探头", "core")}),
    LOCATION, REGIME))
extend("stored", FAMILY, (
    Kde("room", "text", "库房", "Room", required=False, check=_free),
    Kde("start", "date", "入库日期", "Stored from", required=False, check=_free),
    Kde("temperature", "decimal", "温度", "Temperature", required=False, check=_free, unit_kde="unit"),
    READING_UNIT, LOCATION, REGIME))
extend("packed", FAMILY, (
    Kde("net", "decimal", "每件净含量", "Net per unit", required=False, check=_free, unit_kde="net_unit"),
    Kde("net_unit", "text", "净含量单位", "Net unit", required=False, check=_free),
    Kde("pack_date", "date", "包装日期", "Pack date", required=False, check=_free)))
VALUE_NAMES.update({"屠宰": ("屠宰", "slaughter"), "分割": ("分割", "cutting"), **REGIMES, **LOCATIONS, **DISPOSALS})


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
              note: str = "") -> tuple[str, Said]:
    """Judge one lab result against one threshold row (a value equal to a "<=" limit passes)."""
    std, zh = row.standard, _analyte_zh(name)
    unit, limit_unit = data.get("unit"), _unit_zh(row.unit)
    unit_zh = _unit_zh(unit)
    if value is None and data.get("value") is None:
        lod = decimal(data.get("lod"))
        if lod is None:
            return "info", Said(f"{std}: {name} has neither a value nor an LOD", f"{std}：{zh}既无结果也无检出限")
        if row.limit is None and row.comparator == "not_detected":
            return "pass", Said(f"{std}: {name} not detected (LOD {data.get('lod')} {unit})",
                                f"{std}：{zh}未检出（检出限 {data.get('lod')} {unit_zh}）")
        bound = row.limit if row.limit is not None else Decimal(0)
        lod_in = _convert(lod, unit, row.unit)
        if lod_in is None:
            return "info", Said(f"{std}: {name} LOD is in {unit}, the limit in {row.unit}; cannot compare",
                                f"{std}：{zh}的检出限单位为 {unit_zh}，限量单位为 {limit_unit}，无法比较")
        if lod_in <= bound:
            return "pass", Said(f"{std}: {name} not detected (LOD {data.get('lod')} {unit} ≤ {_fmt(bound)} {row.unit})",
                                f"{std}：{zh}未检出（检出限 {data.get('lod')} {unit_zh} ≤ {_fmt(bound)} {limit_unit}）")
        return "info", Said(f"{std}: {name} not detected, but LOD {data.get('lod')} {unit} is above "
                            f"{_fmt(bound)} {row.unit}; not conclusive",
                            f"{std}：{zh}未检出，但检出限 {data.get('lod')} {unit_zh} 高于 {_fmt(bound)} {limit_unit}，"
                            "不能据此判定")
    measured = value if value is not None else decimal(data.get("value"))
    if measured is None:
        return "info", Said(f"{std}: {name} value is not a number", f"{std}：{zh}的结果不是数字")
    if row.comparator == "not_detected":
        if measured == 0:
            return "pass", Said(f"{std}: {name} not detected", f"{std}：{zh}未检出")
        return "fail", Said(f"{std}: {name} detected ({data.get('value')} {unit}); must not be detected",
                            f"{std}：检出{zh}（{data.get('value')} {unit_zh}），不得检出")
    converted = measured if value is not None else _convert(measured, unit, row.unit)
    if converted is None:
        return "info", Said(f"{std}: {name} is in {unit}, the limit in {row.unit}; cannot compare",
                            f"{std}：{zh}的结果单位为 {unit_zh}，限量单位为 {limit_unit}，无法比较")
    limit = _fmt(row.limit or Decimal(0))
    shown = f"{name} {_fmt(converted)} {row.unit}{note}"
    shown_zh = f"{zh} {_fmt(converted)} {limit_unit}{note.zh if isinstance(note, Said) else note}"
    if row.holds(converted):
        sign = {"<=": "≤", ">=": "≥"}.get(row.comparator, row.comparator)
        return "pass", Said(f"{std}: {shown} within {row.comparator} {limit} {row.unit}",
                            f"{std}：{shown_zh}，符合 {sign} {limit} {limit_unit}")
    return "fail", Said(f"{std}: {shown} > {limit} {row.unit}", f"{std}：{shown_zh} > {limit} {limit_unit}")


def judge_test(data: Mapping[str, Any], on: date, category: str | None = None) -> tuple[str, Said | None]:
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


def _verdicts(bodies: Iterable[Body], analytes: Iterable[str]) -> list[tuple[str, Said, Body]]:
    """(verdict, message, body) of every test of the given analytes."""
    wanted = set(analytes)
    out = []
    for body in _of(bodies, "test"):
        data = _data(body)
        when = _when(body)
        if analyte_of(data) in wanted and when is not None:  # the envelope always has `at`; rules stay deterministic
            verdict, message = judge_test(data, when.date())
            out.append((verdict, message or Said("", ""), body))
    return out


# ---- hard rules ---------------------------------------------------------------------------------------------

def _ear_tags(p: Proposal) -> Said | None:
    tags = [t for t in p.data.get("tags", []) if isinstance(t, str)]
    for tag in tags:
        if tag[1:3] not in PROVINCES:
            return Said(f"{TAGS}: ear tag {tag} has county part {tag[1:7]}, not a GB/T 2260 county code",
                        f"{TAGS}：耳标 {tag} 中的县级代码 {tag[1:7]} 不是 GB/T 2260 行政区划代码")
    if len(set(tags)) != len(tags):
        twice = sorted({t for t in tags if tags.count(t) > 1})
        return Said(f"{TAGS}: one tag per animal, never reused; {', '.join(twice)} listed twice",
                    f"{TAGS}：一畜一标，不得重复使用；{'、'.join(twice)} 重复登记")
    if p.type == "quarantined":
        own = {t for body in _of(p.history, "animal_tagged") for t in _data(body).get("tags", [])}
        stranger = [t for t in tags if own and t not in own]
        if stranger:
            number = p.data.get("certificate_no")
            return Said(f"{TAGS}: certificate {number} names tags not in this lot: {', '.join(stranger)}",
                        f"{TAGS}：检疫合格证明 {number} 所列耳标不属于本批次：{'、'.join(stranger)}")
    return None


def _banned_additive(p: Proposal) -> Said | None:
    for additive in p.data.get("additives", []):
        text = str(additive).lower()
        for alias, name in ANALYTES.items():
            if name in BETA_AGONISTS and alias in text:
                return Said(f"{BANNED}: {additive} ({name}, a β-agonist) is banned in food animals",
                            f"{BANNED}：{additive}（{_analyte_zh(name)}，β-受体激动剂）禁止在食品动物中使用")
    return None


def _certificate_for(bodies: Sequence[Body], since_last_receive: bool) -> Body | None:
    start = 0
    if since_last_receive:
        for i, body in enumerate(bodies):
            if body.get("type") == "receive":
                start = i
    certificates = _of(bodies[start:], "quarantined")
    return certificates[-1] if certificates else None


def _quarantine_certificate(p: Proposal) -> Said | None:
    if p.batch is None or not _is_live(p.history, _unit(p)):
        return None
    shipped = decimal(p.data.get("quantity"))
    certificate = _certificate_for(p.history, since_last_receive=True)
    if certificate is None:
        return Said(f"{QUARANTINE}: live pigs leave only with a 动物检疫合格证明; no `quarantined` event "
                    "since the lot last arrived",
                    f"{QUARANTINE}：活猪须凭动物检疫合格证明调出；本批次自上次到达以来没有产地检疫记录")
    head = decimal(_data(certificate).get("head"))
    if shipped is not None and head is not None and head < shipped:
        number = _data(certificate).get("certificate_no")
        return Said(f"{QUARANTINE}: certificate {number} covers {head} head, {shipped} shipped",
                    f"{QUARANTINE}：检疫合格证明 {number} 只涵盖 {head} 头，实际发运 {shipped} 头")
    return None


def _commitment_certificate(p: Proposal) -> Said | None:
    if p.at.date() < COMMITMENT_FROM:
        return None
    number = p.data.get("certificate_no")
    has_number = isinstance(number, str) and number.strip() != ""
    if p.type == "transform":
        if p.data.get("unit") == "head" and len(p.data.get("inputs", []) or []) >= 2 and not has_number:
            return Said(f"{COMMITMENT}: mixing live lots issues a new 承诺达标合格证; record data.certificate_no",
                        f"{COMMITMENT}：多批活猪混群须开具新的承诺达标合格证；请填写合格证编号")
        return None
    if p.batch is None or not _is_live(p.history, _unit(p)):
        return None
    if p.type == "ship" and p.org_kind == "producer" and not has_number:
        return Said(f"{COMMITMENT}: a producer ships live pigs with a 承诺达标合格证 per lot; record data.certificate_no",
                    f"{COMMITMENT}：生产者调出活猪须每批附承诺达标合格证；请填写合格证编号")
    if p.type == "receive":
        if not has_number:
            return Said(f"{COMMITMENT}: the purchaser records the collected 承诺达标合格证; record data.certificate_no",
                        f"{COMMITMENT}：收购方须登记收取的承诺达标合格证；请填写合格证编号")
        ships = _of(p.history, "ship")
        issued = _data(ships[-1]).get("certificate_no") if ships else None
        if isinstance(issued, str) and issued != number:
            return Said(f"{COMMITMENT}: received certificate {number} is not the one shipped ({issued})",
                        f"{COMMITMENT}：收到的合格证 {number} 与发货时附的合格证（{issued}）不一致")
    return None


def _row(rule_id: str, analyte: str, on: date) -> Threshold | None:
    return threshold_for([row for row in THRESHOLDS if row.analyte == analyte], rule_id, on)


def _withdrawal_days(treatment: Mapping[str, Any], on: date) -> tuple[int, Said]:
    """The withdrawal period to apply: the declared one, or the listed one when that is longer."""
    declared = int(str(treatment.get("withdrawal_days", "0")))
    listed = _row("pork.withdrawal", str(treatment.get("drug", "")).strip(), on)
    if listed is not None and listed.limit is not None and int(listed.limit) > declared:
        drug = treatment.get("drug")
        return int(listed.limit), Said(f"the listed period for {drug}", f"公告规定的{drug}休药期")
    return declared, Said("declared withdrawal", "申报的休药期")


def _withdrawal_breach(bodies: Iterable[Body], on: date, what: Said) -> Said | None:
    for body in _of(bodies, "treated"):
        data = _data(body)
        end = _day(data.get("end"))
        if end is None or not DAYS.match(str(data.get("withdrawal_days", ""))):
            continue
        days, basis = _withdrawal_days(data, on)
        clear = end + timedelta(days=days)
        if clear > on:
            return Said(f"{WITHDRAWAL}: {data.get('drug')} treatment ended {end}; {basis} {days} d runs to {clear}, "
                        f"after the {what} on {on}",
                        f"{WITHDRAWAL}：{data.get('drug')}于 {end} 停药；按{basis.zh} {days} 天计，至 {clear} 届满，"
                        f"晚于 {on} 的{what.zh}")
    return None


def _withdrawal(p: Proposal) -> Said | None:
    on = p.at.date()
    if p.type == "transform":
        for batch, bodies in p.inputs.items():
            if _is_live(bodies, None):
                breach = _withdrawal_breach(bodies, on, Said(f"slaughter of {batch}", f"批次 {batch} 屠宰"))
                if breach:
                    return breach
        return None
    if p.batch is None or not _is_live(p.history, _unit(p)):
        return None
    return _withdrawal_breach(p.history, on, Said("shipment", "发运"))


def _slaughter_entry(p: Proposal) -> Said | None:
    if _process(_genesis(p)) not in SLAUGHTER:
        return None
    for batch, bodies in p.inputs.items():
        if not _is_live(bodies, _input_quantity(p, batch)[1]):
            continue
        certificate = _certificate_for(bodies, since_last_receive=False)
        if certificate is None:
            return Said(f"{SLAUGHTER_RULES}: input {batch} has no 动物检疫合格证明 (`quarantined`); refuse the pigs",
                        f"{SLAUGHTER_RULES}：投入批次 {batch} 没有动物检疫合格证明（产地检疫记录）；应拒收这批生猪")
        head, (taken, _) = decimal(_data(certificate).get("head")), _input_quantity(p, batch)
        if head is not None and taken is not None and taken > head:
            number = _data(certificate).get("certificate_no")
            return Said(f"{SLAUGHTER_RULES}: certificate {number} covers {head} head of {batch}, {taken} slaughtered",
                        f"{SLAUGHTER_RULES}：检疫合格证明 {number} 只涵盖批次 {batch} 的 {head} 头，实际屠宰 {taken} 头")
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


def _slaughter_balance(p: Proposal) -> Said | None:
    if _process(_genesis(p)) not in SLAUGHTER:
        return None
    carcass = decimal(p.data.get("quantity"))
    if p.data.get("unit") not in WEIGHT_UNITS or carcass is None:
        unit = p.data.get("unit")
        return Said(f"{SLAUGHTER_RULES}: record hot carcass weight in KGM, got unit {unit!r}",
                    f"{SLAUGHTER_RULES}：热胴体重须以千克记录，所填单位为“{_unit_zh(unit)}”")
    live = _live_weight(p)
    if live is None:
        return Said(f"{SLAUGHTER_RULES}: live weight unknown; record data.live_weight (KGM) or the live weight "
                    "on each input's receive",
                    f"{SLAUGHTER_RULES}：活重未知；请在本记录填写活重（千克），或在每个投入批次的收货记录中填写活重")
    if carcass >= live:
        return Said(f"{SLAUGHTER_RULES}: hot carcass weight {_fmt(carcass)} kg is not below live weight {_fmt(live)} kg",
                    f"{SLAUGHTER_RULES}：热胴体重 {_fmt(carcass)} 千克不低于活重 {_fmt(live)} 千克")
    return None


def _cutting_balance(p: Proposal) -> Said | None:
    if _process(_genesis(p)) not in CUTTING:
        return None
    out = decimal(p.data.get("quantity"))
    weights = [(decimal(item.get("quantity")), item.get("unit")) for item in _inputs(p)]
    if out is None or p.data.get("unit") not in WEIGHT_UNITS or any(u not in WEIGHT_UNITS for _, u in weights):
        return Said(f"{OURS}: cutting inputs and outputs are weighed in KGM",
                    f"{_std_zh(OURS)}：分割的投入和产出都须以千克称重")
    total = sum((q for q, _ in weights if q is not None), Decimal(0))
    if out > total:
        return Said(f"{OURS}: cuts {_fmt(out)} kg exceed the {_fmt(total)} kg cut",
                    f"{_std_zh(OURS)}：分割产品 {_fmt(out)} 千克超过投入分割的 {_fmt(total)} 千克")
    return None


def _with_report(message: Said, body: Body) -> Said:
    """A lab result's message with its report number."""
    number = _data(body).get("report_no")
    return Said(f"{message} (report {number})", f"{message.zh}（报告 {number}）")


def _asf_reports(bodies: Sequence[Body]) -> tuple[set[str], list[Said]]:
    """(report numbers that clear this lot, messages of positive results) from its bodies."""
    cleared, positives = set(), []
    for verdict, message, body in _verdicts(bodies, ("asfv",)):
        if verdict == "pass":
            cleared.add(str(_data(body).get("report_no")))
        elif verdict == "fail":
            positives.append(_with_report(message, body))
    genesis = _genesis_of(bodies)
    if genesis is not None and genesis.get("type") == "transform":
        cited = _data(genesis).get("asf_reports")
        if isinstance(cited, list):
            cleared.update(str(r) for r in cited)
    return cleared, positives


def _asf_method(data: Mapping[str, Any]) -> str | None:
    """"pcr" or "strip" from a test's method (GB/T 18648-2020 is the PCR method), None when it does not say."""
    method = str(data.get("method", "")).lower()
    if any(word in method for word in PCR_WORDS):
        return "pcr"
    if any(word in method for word in STRIP_WORDS):
        return "strip"
    return None


def _asf_pcr_cleared(bodies: Sequence[Body]) -> bool:
    """Whether a PCR negative clears this lot: its own, or one its transformation cited as PCR."""
    if any(verdict == "pass" and _asf_method(_data(body)) == "pcr"
           for verdict, _, body in _verdicts(bodies, ("asfv",))):
        return True
    genesis = _genesis_of(bodies)
    return genesis is not None and genesis.get("type") == "transform" and \
        _data(genesis).get("asf_method") == "pcr" and bool(_data(genesis).get("asf_reports"))


def _asf_pcr_reports(bodies: Sequence[Body]) -> set[str]:
    return {str(_data(body).get("report_no")) for verdict, _, body in _verdicts(bodies, ("asfv",))
            if verdict == "pass" and _asf_method(_data(body)) == "pcr"}


def _asf_out_of_province(p: Proposal) -> Said | None:
    """A strip negative allows sale within Sichuan only: a ship to an org outside Sichuan (or of unknown
    county) needs a PCR negative."""
    to = p.data.get("to")
    facts = p.orgs.get(to) if isinstance(to, str) else None
    inside = in_sichuan(facts.county if facts else None)
    if inside:
        return None
    if _asf_pcr_cleared(p.history) or any(_asf_pcr_cleared(b) for b in p.inputs.values()):
        return None
    county = facts.county if facts else None
    where = f"{to} (county {county}) is outside Sichuan" if inside is False else f"{to}'s county is not recorded"
    where_zh = f"{to}（区县 {county}）在四川省外" if inside is False else f"{to} 未登记所在区县"
    return Said(f"{ASF}: a strip (immunological) negative allows sale within the province only; {where}, so the "
               "lot needs a PCR negative (record it, or cite it at the transformation with asf_method \"pcr\")",
               f"{ASF}：免疫层析试纸条检测阴性仅限省内销售；{where_zh}，须有荧光 PCR 检测阴性结果"
               "（请记录检测结果，或在加工记录中引用并注明检测方法为 PCR）")


def _asf_negative(p: Proposal) -> Said | None:
    if p.type == "transform":
        for batch, bodies in p.inputs.items():
            positives = _asf_reports(bodies)[1]
            if positives:
                return Said(f"{positives[0]}: input {batch} may not be slaughtered or processed",
                            f"{positives[0].zh}：投入批次 {batch} 不得屠宰或加工")
        cited = p.data.get("asf_reports")
        if cited is None:
            return None
        if not isinstance(cited, list) or not cited or not all(isinstance(r, str) for r in cited):
            return Said(f"{ASF}: data.asf_reports must list report numbers of negative ASF results",
                        f"{ASF}：引用的非洲猪瘟检测报告须列出阴性结果的报告编号")
        for batch, bodies in p.inputs.items():
            if not _asf_reports(bodies)[0] & set(cited):
                return Said(f"{ASF}: none of the cited ASF reports {', '.join(cited)} is a negative result of input {batch}",
                            f"{ASF}：引用的非洲猪瘟检测报告 {'、'.join(cited)} 都不是投入批次 {batch} 的阴性结果")
        known = set().union(*(_asf_reports(bodies)[0] for bodies in p.inputs.values()))
        stray = [r for r in cited if r not in known]
        if stray:
            return Said(f"{ASF}: cited ASF report {', '.join(stray)} is not a negative result of any input",
                        f"{ASF}：引用的非洲猪瘟检测报告 {'、'.join(stray)} 不是任何投入批次的阴性结果")
        if p.data.get("asf_method") == "pcr":
            pcr: set[str] = set()
            for bodies in p.inputs.values():
                pcr |= _asf_pcr_reports(bodies)
                genesis = _data(_genesis_of(bodies) or {})
                if genesis.get("asf_method") == "pcr" and isinstance(genesis.get("asf_reports"), list):
                    pcr |= {str(r) for r in genesis["asf_reports"]}  # checked when that transformation was appended
            if not pcr & set(cited):
                return Said(f"{ASF}: asf_method is \"pcr\" but none of the cited reports {', '.join(cited)} is a PCR "
                            "negative",
                            f"{ASF}：检测方法注明为 PCR，但引用的报告 {'、'.join(cited)} 都不是荧光 PCR 阴性结果")
        return None
    if not _is_meat(p):
        return None
    cleared, positives = _asf_reports(p.history)
    for bodies in p.inputs.values():
        more = _asf_reports(bodies)
        cleared |= more[0]
        positives += more[1]
    if positives:
        return Said(f"{positives[0]}; no product of this slaughter batch may leave",
                    f"{positives[0].zh}；本屠宰批次的产品一律不得出厂")
    if cleared and p.type == "ship":
        return _asf_out_of_province(p)
    if not cleared:
        return Said(f"{ASF}: no product of a slaughter batch leaves before a negative ASF PCR result; none is on record "
                    "for this lot (record it here, or cite it in the transformation as data.asf_reports)",
                    f"{ASF}：屠宰批次的产品须在非洲猪瘟病毒核酸检测结果为阴性后方可出厂；本批次没有阴性结果记录"
                    "（请在本批次记录检测结果，或在加工记录中引用检测报告编号）")
    return None


def _failing(p: Proposal, analytes: Iterable[str], bodies: Iterable[Body]) -> Said | None:
    for verdict, message, body in _verdicts(bodies, analytes):
        if verdict == "fail":
            return _with_report(message, body)
    return None


def _beta_agonist(p: Proposal) -> Said | None:
    failing = _failing(p, BETA_AGONISTS, _visible(p))
    if failing is None:
        return None
    return Said(f"{failing}; this lot may not be shipped, sold, packed or slaughtered",
                f"{failing.zh}；本批次不得发运、销售、包装或屠宰")


def _residue_limits(p: Proposal) -> Said | None:
    failing = _failing(p, ("lead", "cadmium", "tvb-n"), _visible(p))
    if failing is None:
        return None
    return Said(f"{failing}; this lot may not be shipped, sold, packed or processed",
                f"{failing.zh}；本批次不得发运、销售、包装或加工")


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


def _two_certificates(p: Proposal) -> Said | None:
    if p.type == "transform":
        if "meat_certificates" not in p.data:
            return None
        cited = _cited_pairs(p.data["meat_certificates"])
        if cited is None:
            return Said(f"{SLAUGHTER_RULES}: data.meat_certificates must list "
                        '{"quarantine": 检疫合格证明 no., "quality": 肉品品质检验合格证 no.}',
                        f"{SLAUGHTER_RULES}：引用的两证须逐项列出检疫合格证明编号和肉品品质检验合格证编号")
        known: set[tuple[str, str]] = set()
        for batch, bodies in p.inputs.items():
            pairs = _certificate_pairs(bodies)
            if not pairs & cited:
                return Said(f"{SLAUGHTER_RULES}: no cited certificate pair is on record for input {batch}",
                            f"{SLAUGHTER_RULES}：引用的两证都不在投入批次 {batch} 的记录中")
            known |= pairs
        stray = sorted(cited - known)
        if stray:
            return Said(f"{SLAUGHTER_RULES}: cited certificates {stray[0][0]} / {stray[0][1]} are not on record for any input",
                        f"{SLAUGHTER_RULES}：引用的证明 {stray[0][0]} / {stray[0][1]} 不在任何投入批次的记录中")
        return None
    if not _is_meat(p):
        return None
    if _certificate_pairs(p.history) or any(_certificate_pairs(b) for b in p.inputs.values()):
        return None
    return Said(f"{SLAUGHTER_RULES}: meat leaves only with 两证两章; no `inspected` event carries both the quarantine "
                "certificate (quarantine_certificate) and the meat-quality certificate (quality_certificate)",
                f"{SLAUGHTER_RULES}：肉品须凭“两证两章”出厂；没有一条检验记录同时载明检疫合格证明和肉品品质检验合格证")


def _reading(body: Body) -> tuple[datetime, Decimal, str, str] | None:
    """(time, °C, regime, location) of a temperature reading, or None."""
    data = _data(body)
    raw = data.get("value") if body.get("type") == "temperature_logged" else data.get("temperature")
    value, when = decimal(raw), _when(body)
    if value is None or when is None or data.get("unit", "CEL") != "CEL":
        return None
    return when, value, str(data.get("regime", "chilled")), str(data.get("location", "air"))


def _local(moment: datetime) -> str:
    """A moment as a Bazhong reader writes it: China Standard Time, to the minute."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(CHINA_TIME)
    return moment.strftime("%Y-%m-%d %H:%M")


def _chilled_excursion(p: Proposal) -> Said | None:
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
            return Said(f"{limit.standard} / farmtrace rule: readings above {_fmt(limit.limit)} °C from {first.isoformat()} "
                        f"to {when.isoformat()}, longer than {_fmt(hours.limit)} h; the lot may not be released",
                        f"{_std_zh(limit.standard)} / {_std_zh('farmtrace rule')}：自 {_local(first)} 至 {_local(when)} "
                        f"温度高于 {_fmt(limit.limit)} °C，超过 {_fmt(hours.limit)} 小时；本批次不得放行")
    return None


def _quarantine_before_ship(p: Proposal) -> Body | None:
    """The certificate the live pigs travelled on: the last `quarantined` before the last ship."""
    ships = [i for i, body in enumerate(p.history) if body.get("type") == "ship"]
    if not ships:
        return None
    return _certificate_for(p.history[:ships[-1]], since_last_receive=True)


def _receive_tags(p: Proposal) -> Said | None:
    """公告第119号: at arrival the ear tags are checked against the 动物检疫合格证明 the pigs came with."""
    if p.batch is None or not _is_live(p.history, _unit(p)):
        return None
    certificate = _quarantine_before_ship(p)
    if certificate is None:
        return None  # pork.quarantine_certificate refused the ship already
    number = _data(certificate).get("certificate_no")
    received = p.data.get("quarantine_certificate")
    if isinstance(received, str) and received.strip() and received != number:
        return Said(f"{ASF}: the certificate received ({received}) is not the one the pigs were shipped on ({number})",
                    f"{ASF}：随附的检疫合格证明 {received} 与调运时的证明 {number} 不一致")
    tags = p.data.get("tags")
    if tags is None:
        return None  # pork.receive_tags_missing warns
    listed = {t for t in _data(certificate).get("tags", []) if isinstance(t, str)}
    seen = {t for t in tags if isinstance(t, str)} if isinstance(tags, list) else set()
    if seen == listed:
        return None
    extra, missing = sorted(seen - listed), sorted(listed - seen)
    parts = ([f"not on the certificate: {', '.join(extra)}"] if extra else []) + (
        [f"on the certificate but not found: {', '.join(missing)}"] if missing else [])
    parts_zh = ([f"证明上没有的耳标：{'、'.join(extra)}"] if extra else []) + (
        [f"证明上有但未查到的耳标：{'、'.join(missing)}"] if missing else [])
    return Said(f"{ASF}: ear tags checked at arrival do not match certificate {number}; {'; '.join(parts)}; "
                "refuse the pigs",
                f"{ASF}：入场查验的耳标与检疫合格证明 {number} 不符；{'；'.join(parts_zh)}；应拒收")


def _vehicle(p: Proposal) -> Said | None:
    """A ship of live pigs names its vehicle's plate in the form a plate is written (川Y12345)."""
    if p.batch is None or not _is_live(p.history, _unit(p)):
        return None
    plate = p.data.get("vehicle_no")
    if plate is None or (isinstance(plate, str) and VEHICLE.match(plate.replace(" ", ""))):
        return None
    return Said(f"{EPIDEMIC_LAW}: data.vehicle_no must be a vehicle plate such as 川Y12345, got {plate!r}",
                f"{EPIDEMIC_LAW}：运输车辆牌照号应形如 川Y12345，实际为“{plate}”")


def _disposal(p: Proposal) -> Said | None:
    """Condemned carcasses and parts (宰后检验不合格) are disposed of harmlessly, and the method recorded."""
    condemned = decimal(p.data.get("condemned_kg"))
    failed = p.data.get("result") == "fail" and p.data.get("stage") == "post-mortem"
    if not failed and (condemned is None or condemned <= 0):
        return None
    if p.data.get("disposal") in DISPOSALS and isinstance(p.data.get("disposal_record"), str) \
            and p.data["disposal_record"].strip():
        return None
    return Said(f"{DISPOSAL}: condemned meat ({_fmt(condemned) + ' kg' if condemned else 'a failed post-mortem'}) "
                "is disposed of harmlessly; record data.disposal (method) and data.disposal_record",
                f"{DISPOSAL}：病害肉品（{_fmt(condemned) + ' 千克' if condemned else '宰后检验不合格'}）须无害化处理；"
                "请填写无害化处理方法和处理记录编号")


_SEPARATORS = re.compile(r"[\s\-_/.·]+")


def _derived_from(number: str, live: str) -> bool:
    """Whether a carcass's certificate number is the live pigs' one, or it with something added before or after
    (spaces and separators ignored). A number that merely shares a leading part (a province or year code,
    which real numbers share) is not counted: that would refuse honest numbers."""
    own, theirs = _SEPARATORS.sub("", number).upper(), _SEPARATORS.sub("", live).upper()
    return bool(theirs) and (own == theirs or own.startswith(theirs) or own.endswith(theirs))


def _own_quarantine_number(p: Proposal) -> Said | None:
    """The carcass's 动物检疫合格证明 (产品) is issued for it at post-mortem quarantine: its number is its own, not the
    live pigs' 动物检疫合格证明 (动物) number copied or extended. The service passes the live lots' numbers in
    `source_certificates`; a lot not made by a transformation from them is not judged."""
    if p.batch is None or not p.source_certificates or _is_live(p.history, _unit(p)):
        return None
    for name in ("quarantine_certificate", "certificate_no"):
        number = p.data.get(name)
        if not isinstance(number, str) or not number.strip():
            continue
        live = next((n for n in sorted(p.source_certificates) if _derived_from(number, n)), None)
        if live is not None:
            return Said(f"{OWN_NUMBER}: the carcass's quarantine certificate (product) {number} (data.{name}) is "
                        f"derived from the live pigs' certificate {live}; record the number of the certificate issued "
                        "for the carcass at post-mortem quarantine",
                        f"{OWN_NUMBER}：胴体的动物检疫合格证明（产品）编号 {number} 沿用了生猪的动物检疫合格证明（动物）"
                        f"编号 {live}；请填写宰后检疫为胴体出具的证明编号")
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
    Rule("pork.receive_tags", frozenset({"receive"}), _receive_tags, "data.tags", ASF),
    Rule("pork.vehicle", frozenset({"ship"}), _vehicle, "data.vehicle_no", EPIDEMIC_LAW),
    Rule("pork.disposal", frozenset({"inspected"}), _disposal, "data.disposal", DISPOSAL),
    Rule("pork.own_quarantine_number", frozenset({"inspected"}), _own_quarantine_number,
         "data.quarantine_certificate", OWN_NUMBER),
)


# ---- soft rules ----------------------------------------------------------------------------------------------

def _reading_over(p: Proposal, rule_id: str, regime: str | None, location: str | None, what: Said) -> Said | None:
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
    return Said(f"{row.standard}: {what} at {_fmt(value)} °C > {_fmt(row.limit)} °C",
                f"{_std_zh(row.standard)}：{what.zh}温度 {_fmt(value)} °C > {_fmt(row.limit)} °C")


def _chilled_reading(p: Proposal) -> Said | None:
    return _reading_over(p, "pork.chilled_reading", "chilled", None, Said("chilled pork", "冷鲜猪肉"))


def _frozen_reading(p: Proposal) -> Said | None:
    return _reading_over(p, "pork.frozen_reading", "frozen", None, Said("frozen pork", "冷冻猪肉"))


def _cutting_room(p: Proposal) -> Said | None:
    return _reading_over(p, "pork.cutting_room", None, "cutting_room", Said("cutting room", "分割车间"))


def _receive_tags_missing(p: Proposal) -> Said | None:
    if p.batch is None or not _is_live(p.history, _unit(p)) or isinstance(p.data.get("tags"), list):
        return None
    return Said(f"{ASF}: the ear tags checked at arrival are not recorded (data.tags); they must match the "
                "quarantine certificate",
                f"{ASF}：未登记入场查验的耳标号；耳标须与检疫合格证明一致")


def _vehicle_missing(p: Proposal) -> Said | None:
    if p.batch is None or not _is_live(p.history, _unit(p)) or p.data.get("vehicle_no"):
        return None
    return Said(f"{EPIDEMIC_LAW}: live pigs travel in a registered vehicle; record data.vehicle_no",
                f"{EPIDEMIC_LAW}：生猪须由已备案的车辆运输；请填写运输车辆牌照号")


def _slaughter_licence(p: Proposal) -> Said | None:
    """生猪屠宰管理条例 (2021): slaughter only by a designated slaughterhouse (its 定点屠宰证 on the org record)."""
    if _process(_genesis(p)) not in SLAUGHTER or p.org not in p.orgs or p.orgs[p.org].licences.get("slaughter"):
        return None
    return Said(f"{SLAUGHTER_RULES}: {p.org} slaughters pigs but has no 生猪定点屠宰证 on record (licence kind "
                "\"slaughter\")",
                f"{SLAUGHTER_RULES}：{p.org} 屠宰生猪，但未登记生猪定点屠宰证")


READINGS = frozenset({"temperature_logged", "stored"})
SOFT_RULES: tuple[Rule, ...] = (
    Rule("pork.chilled_reading", READINGS, _chilled_reading, "data.value", "farmtrace rule"),
    Rule("pork.frozen_reading", READINGS, _frozen_reading, "data.value", "GB/T 24616-2019"),
    Rule("pork.cutting_room", READINGS, _cutting_room, "data.value", "GB 12694-2016"),
    Rule("pork.receive_tags_missing", frozenset({"receive"}), _receive_tags_missing, "data.tags", ASF),
    Rule("pork.vehicle_missing", frozenset({"ship"}), _vehicle_missing, "data.vehicle_no", EPIDEMIC_LAW),
    Rule("pork.slaughter_licence", frozenset({"transform"}), _slaughter_licence, None, SLAUGHTER_RULES),
)

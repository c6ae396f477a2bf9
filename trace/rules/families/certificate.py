"""The 承诺达标合格证 (commitment certificate) as a signed event, and which products carry one.

农产品质量安全承诺达标合格证管理办法 (农业农村部令 2025 年第 4 号, in force 2026-02-01; domain.md §1.4):
per production batch, the producer who sells edible farm produce issues a certificate naming the
product, quantity, origin (产地), issue date, the committing producer (承诺主体) and its contact, and
the basis of the commitment; a purchaser collects it and issues a new one only when it mixes or
repacks lots. So the certificate is an event of its own, `certificate_issued`, signed by the org
that holds the lot when it issues it, and pages show that event; nothing is recomputed later.

Event type (shared by every family; declared here, registered on import):
- `certificate_issued` (开具承诺达标合格证): certificate_no, product, quantity + unit (as issued),
  county (GB/T 2260 code of the place of production) and town (乡镇, in words), contact_phone and
  optional contact_name (the issuer's, as on its record when issuing), basis (委托检测 | 自我检测 |
  内部质量控制), optional reports (the test reports it rests on). The issue date is the event's `at`;
  the issuer is the signing org.

Scope (SCOPE, the one table): edible farm produce (食用农产品) of the produce family, live animals
and their meat (畜禽, live animals included under the 2026 rules) carry one; from 2026-02-01 it is
mandatory for vegetables (incl. cultivated fungi), fruit, fresh tea leaves, livestock and poultry,
eggs and farmed aquatic products, voluntary for other produce (rice, grain). Baijiu and packaged
water are processed foods made under a 食品生产许可 (SC licence): they are outside the rules and
get no 合格证.

Hard rules (CERTIFICATE_RULES, run for every family; messages cite 农业农村部令 2025 年第 4 号):
- certificate.scope: refused for a family outside the scope (baijiu, water).
- certificate.issuer: a lot received from another org carries the certificate its producer issued
  (the purchaser collects it); a purchaser issues a new one only for a lot it made by mixing or
  repacking, i.e. the output of its own `transform`.
- certificate.once: a lot gets one certificate; a second is refused, naming the first.
- certificate.product: the product is the lot's.
- certificate.quantity: the unit is the lot's; the quantity is > 0 and at most what the lot holds.
- certificate.origin: the origin county is one the lot's own events name (a `county` KDE or a place
  beginning with the county's name), when they name any.
- certificate.basis: a basis of 委托检测 or 自我检测 rests on a `test` of the lot (a commissioned test
  by another org, an own test by the issuer).

Decisions where the rules are silent: the issue date is the event's date (a typed date could
disagree with the signature's time); a recall does not change the issued certificate (events are
never edited): pages show the recall beside it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from farmtrace.ledger.errors import InvalidEventError
from farmtrace.rules.declare import COUNTIES, VALUE_NAMES, Declaration, Kde, Said, Words, declare
from farmtrace.rules.families import Proposal, Rule
from farmtrace.rules.steps import quantity

RULE = "承诺达标合格证管理办法 (农业农村部令 2025 年第 4 号)"
COMMITMENT = ("我承诺对生产销售的食用农产品：不使用禁用农药兽药、停用兽药和非法添加物；"
              "常规农药兽药残留不超标；对承诺的真实性负责。")


@dataclass(frozen=True)
class Scope:
    """One row of the certificate's scope: a family (and a category of it, "*" for any) and its status."""

    family: str
    category: str
    status: str   # "mandatory" | "voluntary" | "excluded"
    zh: str
    en: str


SCOPE: tuple[Scope, ...] = (  # 农业农村部令 2025 年第 4 号 (domain.md §1.4 ✔); the first matching row wins
    Scope("produce", "vegetables", "mandatory", "蔬菜", "vegetables"),
    Scope("produce", "fungi", "mandatory", "食用菌", "cultivated fungi"),
    Scope("produce", "fruit", "mandatory", "水果", "fruit"),
    Scope("produce", "tea_leaves", "mandatory", "茶鲜叶", "fresh tea leaves"),
    Scope("produce", "*", "voluntary", "其他食用农产品（如稻谷、大米）", "other edible farm produce (e.g. paddy, rice)"),
    Scope("pork", "*", "mandatory", "畜禽及其产品（含活畜）", "livestock, live animals included, and their meat"),
    Scope("baijiu", "*", "excluded", "白酒：取得食品生产许可（SC）的加工食品，不属食用农产品",
          "baijiu: a processed food made under an SC licence, not an edible farm product"),
    Scope("water", "*", "excluded", "包装饮用水：取得食品生产许可（SC）的加工食品，不属食用农产品",
          "packaged water: a processed food made under an SC licence, not an edible farm product"),
)


def scope_of(family: str | None, category: str | None = None) -> Scope | None:
    """The scope row for a family (and category), or None for an unknown family."""
    for row in SCOPE:
        if row.family == family and row.category in ("*", category):
            return row
    return None


def issues_certificate(family: str | None) -> bool:
    """Whether lots of this family may carry a 承诺达标合格证 (not excluded from the rules)."""
    row = scope_of(family)
    return row is not None and row.status != "excluded"


def mandatory_categories(family: str) -> frozenset[str]:
    """The categories of a family for which the certificate is mandatory (other than "*")."""
    return frozenset(r.category for r in SCOPE if r.family == family and r.status == "mandatory" and r.category != "*")


BASES: dict[str, Words] = {
    "commissioned_test": ("委托检测", "commissioned test"),
    "own_test": ("自我检测", "own test"),
    "quality_control": ("内部质量控制", "internal quality control"),
}
VALUE_NAMES.update(BASES)


def _county(data: Mapping[str, Any], name: str) -> None:
    value = data.get(name)
    if not isinstance(value, str) or not re.match(r"^[1-9][0-9]{5}$", value):
        raise InvalidEventError("data.county must be a 6-digit GB/T 2260 county code", field="data.county")


def _reports(data: Mapping[str, Any], name: str) -> None:
    value = data.get(name)
    if not isinstance(value, list) or not all(isinstance(v, str) and 0 < len(v) <= 64 for v in value):
        raise InvalidEventError("data.reports must be a list of report numbers", field="data.reports")


CERTIFICATE_ISSUED = declare(Declaration(
    "certificate_issued", "开具承诺达标合格证", "Commitment certificate issued", (
        Kde("certificate_no", "text", "合格证编号", "Certificate no.", max_len=40,
            help_zh="本批次合格证的编号，每批只开一次", help_en="this lot's certificate number; issued once per lot"),
        Kde("product", "text", "产品名称", "Product"),
        *quantity("数量", "Quantity"),
        Kde("county", "county", "产地（县）", "Origin (county)", check=_county,
            help_zh="生产地所在县区（本批次记录中的产地）", help_en="county of the place of production"),
        Kde("town", "text", "产地（乡镇）", "Origin (town)", max_len=64, help_zh="如 长赤镇", help_en="e.g. 长赤镇"),
        Kde("contact_name", "text", "联系人", "Contact", required=False, max_len=64),
        Kde("contact_phone", "text", "联系电话", "Phone", max_len=32),
        Kde("basis", "choice", "承诺依据", "Basis", choices=BASES),
        Kde("reports", "list", "检测报告编号", "Test reports", required=False, check=_reports)),
    help_zh="生产者在产品离开产地时开具；收购方混装或分装后重新开具",
    help_en="issued by the producer when produce leaves the farm; a purchaser re-issues after mixing or repacking",
    example={"certificate_no": "HGZ-511922-2026-0001", "product": "南江富硒稻谷", "quantity": "1200", "unit": "KGM",
             "county": "511922", "town": "长赤镇", "contact_name": "张明", "contact_phone": "0827-8861001",
             "basis": "commissioned_test", "reports": ["BZ-2026-0815"]}))

DECLARATIONS = (CERTIFICATE_ISSUED,)


# ---- the rules ---------------------------------------------------------------------------------

def _issued(history: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    return next((b for b in history if b.get("type") == "certificate_issued"), None)


def _check_scope(p: Proposal) -> Said | None:
    family = p.batch.family if p.batch else None
    row = scope_of(family)
    if row is not None and row.status != "excluded":
        return None
    return Said(f"{RULE}: {row.en if row else f'family {family!r}'}; it gets no 承诺达标合格证",
                f"{RULE}：{row.zh if row else f'品类 {family}'}，不开具承诺达标合格证")


def _check_once(p: Proposal) -> Said | None:
    first = _issued(p.history)
    if first is None:
        return None
    number = first.get("data", {}).get("certificate_no")
    return Said(f"{RULE}: this lot already has its 承诺达标合格证 {number}, issued {str(first.get('at'))[:10]}; "
                "a lot gets one", f"{RULE}：本批次已于 {str(first.get('at'))[:10]} 开具承诺达标合格证 {number}，每批只开一次")


def _check_issuer(p: Proposal) -> Said | None:
    if not any(b.get("type") == "receive" for b in p.history):
        return None
    return Said(f"{RULE}: this lot was received from another org: the purchaser keeps the certificate it collected "
                "and issues a new one only for a lot it makes by mixing or repacking",
                f"{RULE}：本批次为收购所得，收购方留存收取的合格证；只有混装、分装形成的新批次才重新开具")


def _places(history: Sequence[Mapping[str, Any]]) -> set[str]:
    """County codes the lot's own events name (a `county` KDE, or a place starting with a county's name)."""
    found: set[str] = set()
    for body in history:
        data = body.get("data", {})
        if not isinstance(data, Mapping):
            continue
        if isinstance(data.get("county"), str) and body.get("type") != "certificate_issued":
            found.add(data["county"])
        place = data.get("place")
        if isinstance(place, str):
            found.update(code for code, (zh, _en) in COUNTIES.items() if place.strip().startswith(zh))
    return found


def _check_product(p: Proposal) -> Said | None:
    batch, data = p.batch, p.data
    if batch is None or data.get("product") == batch.product:
        return None
    return Said(f"{RULE}: the certificate names {data.get('product')!r}, but the lot is {batch.product!r}",
                f"{RULE}：合格证的产品名称“{data.get('product')}”与本批次“{batch.product}”不符")


def _check_quantity(p: Proposal) -> Said | None:
    batch, data = p.batch, p.data
    if batch is None:
        return None
    if batch.unit is not None and data.get("unit") != batch.unit:
        return Said(f"{RULE}: the certificate is in {data.get('unit')!r}, but the lot is counted in {batch.unit!r}",
                    f"{RULE}：合格证的单位 {data.get('unit')} 与本批次的单位 {batch.unit} 不符")
    try:
        amount = Decimal(str(data.get("quantity")))
    except InvalidOperation:
        return None  # the declaration refuses it first
    if batch.quantity is not None and amount > batch.quantity:
        return Said(f"{RULE}: the certificate is for {data.get('quantity')} {batch.unit}, but the lot holds "
                    f"{batch.quantity} {batch.unit}",
                    f"{RULE}：合格证数量 {data.get('quantity')} 超过本批次现有数量 {batch.quantity}")
    return None


def _check_origin(p: Proposal) -> Said | None:
    places = _places(p.history)
    county = p.data.get("county")
    if not places or county in places:
        return None
    named = "、".join(COUNTIES.get(c, (c, c))[0] for c in sorted(places))
    return Said(f"{RULE}: the origin must be the lot's place of production ({', '.join(sorted(places))}), not {county}",
                f"{RULE}：产地须为本批次的生产地（{named}），所填为 {COUNTIES.get(str(county), (str(county),))[0]}")


def _check_basis(p: Proposal) -> Said | None:
    basis = p.data.get("basis")
    if basis not in ("commissioned_test", "own_test"):
        return None
    tests = [b for b in p.history if b.get("type") == "test"]
    if basis == "own_test":
        tests = [b for b in tests if b.get("org") == p.org]
    else:
        tests = [b for b in tests if b.get("org") != p.org]
    if tests:
        return None
    return Said(f"{RULE}: a basis of {BASES[str(basis)][1]} needs a test of this lot on record",
                f"{RULE}：承诺依据为{BASES[str(basis)][0]}的，须有本批次的检测记录")


CERTIFICATE_RULES: tuple[Rule, ...] = tuple(
    Rule(rule_id, frozenset({"certificate_issued"}), check, field, RULE) for rule_id, check, field in (
        ("certificate.scope", _check_scope, "type"),
        ("certificate.issuer", _check_issuer, "batch"),
        ("certificate.once", _check_once, "data.certificate_no"),
        ("certificate.product", _check_product, "data.product"),
        ("certificate.quantity", _check_quantity, "data.quantity"),
        ("certificate.origin", _check_origin, "data.county"),
        ("certificate.basis", _check_basis, "data.basis")))


def issued_number(history: Sequence[Mapping[str, Any]]) -> str | None:
    """The number of the certificate issued on a lot, if any (what a ship carries and a receive records)."""
    first = _issued(history)
    number = first.get("data", {}).get("certificate_no") if first else None
    return number if isinstance(number, str) else None


"""Certificates as signed records: the `certified` step of `observe`, declared once for every family.

A certificate of a batch (organic, green food, geographical indication, 富硒 test report, CMA lab
accreditation, green/low-carbon product certification, a regional brand licence) is an `observe`
event with data.step "certified", signed by the org that holds the batch (domain.md §1.2
"Certificate", §6). Its key data elements, in CERTIFIED_KDES, are the same in all four families:

- scheme: one of SCHEMES (the certificate's kind);
- mark: the brand or mark, for a GI mark or a brand licence (optional);
- certificate_no, issuer: the certificate's number and the body that issued it;
- scope: what it covers, in words (products, categories, places), and optional scope_codes: the
  family's own words for what it covers (a family such as "pork", or a category such as "rice",
  "tea", "baijiu": the codes the family's events use in data.category);
- valid_from, valid_until: real dates (YYYY-MM-DD), valid_until on or after valid_from;
- document: optional, the SHA-256 (64 lowercase hex) of the certificate's PDF, which the server
  stores outside the database (services/documents.py checks at append that it holds that file).

Checks (`check_certified`, run by the envelope on every `observe` of step "certified"): the fields
above present and well formed, the dates real, valid_until >= valid_from, document 64 hex.

What a page concludes (`judge`): a certificate is expired after valid_until, not yet valid before
valid_from, and out of scope when neither its scope codes nor its scope words cover the batch
(`covers`). Our decisions, not a standard's: scope words cover a batch when one of them (split at
、 , ； / and spaces, two characters or more) occurs in the product's name; a code covers it when it
is the batch's family or a category its events name. A claim shown to consumers rests on a
certificate that is valid on the day and in scope (services/consumer.py `claims`).

Status of the kinds (domain.md §0): organic per GB/T 19630-2019 ✔ (via summaries); green food
licence under NY/T 391-2021 ✔ with its "3 years" validity unverified; 绿色低碳产品认证 (green and
low-carbon product certification) is named by the city's policy paper: its scheme rules unverified.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from farmtrace.ledger.errors import InvalidEventError
from farmtrace.rules.declare import VALUE_NAMES, Kde, Said, Words

STEP = "certified"
ORGANIC_STANDARD = "GB/T 19630-2019"

SCHEMES: dict[str, Words] = {  # the kinds of certificate a `certified` step names
    "organic": ("有机产品认证", "organic (GB/T 19630-2019)"),
    "green_food": ("绿色食品", "green food"),
    "gi": ("地理标志产品", "geographical indication"),
    "gi_mark": ("地理标志证明商标", "GI certification mark"),
    "se_rich": ("富硒检测报告", "selenium-rich test report"),
    "cma": ("检验检测机构资质认定 (CMA)", "lab accreditation (CMA)"),
    "low_carbon": ("绿色低碳产品认证", "green and low-carbon product certification"),
    "brand_licence": ("区域公用品牌授权", "regional brand licence"),  # 巴食巴适, 巴中云顶 (domain.md §6)
}
ALIASES = {"geographic_indication": "gi"}  # words earlier records used (baijiu)
GREEN_SCHEMES = frozenset({"green_food", "organic"})  # what may stand behind a 绿色 claim
LOW_CARBON_SCHEMES = frozenset({"low_carbon"})        # what may stand behind a 低碳 claim
REQUIRED = ("scheme", "certificate_no", "issuer", "scope", "valid_from", "valid_until")
HEX64 = re.compile(r"^[0-9a-f]{64}$")
DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
SCOPE_SPLIT = re.compile(r"[、,，;；/\s]+")


def _checked_elsewhere(data: Mapping[str, Any], name: str) -> None:
    """Checked by `check_certified` (run on the `certified` step only)."""


def _kde(name: str, kind: str, zh: str, en: str, **kw: Any) -> Kde:
    return Kde(name, kind, zh, en, required=False, check=_checked_elsewhere, **kw)


CERTIFIED_KDES: tuple[Kde, ...] = (
    _kde("scheme", "text", "认证类别", "Scheme", choices=SCHEMES),
    _kde("mark", "text", "品牌或标志", "Brand or mark", help_zh="如 巴食巴适、巴中云顶、青峪猪",
         help_en="e.g. 巴食巴适, 巴中云顶, 青峪猪"),
    _kde("certificate_no", "text", "证书编号", "Certificate no.", max_len=64),
    _kde("issuer", "text", "发证机构", "Issuer", max_len=200),
    _kde("scope", "text", "认证范围", "Scope", max_len=500, help_zh="证书覆盖的产品或类别，如 大米、茶叶",
         help_en="the products or categories it covers, e.g. rice, tea"),
    _kde("scope_codes", "list", "范围类别代码", "Scope category codes",
         help_zh="选填：每行一个，如 rice、tea、pork", help_en="optional: one a line, e.g. rice, tea, pork"),
    _kde("valid_from", "date", "有效期自", "Valid from"),
    _kde("valid_until", "date", "有效期至", "Valid until"),
    _kde("document", "hash", "证书文件 (PDF) SHA-256", "Certificate PDF SHA-256"),
)
NAMES = frozenset(k.name for k in CERTIFIED_KDES)
VALUE_NAMES.update(SCHEMES)  # pages name a certificate's kind in words


def scheme_of(data: Mapping[str, Any]) -> str:
    """The certificate's kind, earlier words mapped to today's ("geographic_indication" -> "gi")."""
    scheme = str(data.get("scheme") or "")
    return ALIASES.get(scheme, scheme)


def _day(data: Mapping[str, Any], name: str, zh: str) -> date:
    value = data.get(name)
    if not isinstance(value, str) or not DAY.match(value):
        raise InvalidEventError(Said(f"data.{name} must be a date YYYY-MM-DD, got {value!r}",
                                     f"{zh}须为日期，如 2026-07-02"), field=f"data.{name}")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidEventError(Said(f"data.{name} {value} is not a real date", f"{zh} {value} 不是真实的日期"),
                                field=f"data.{name}") from None


def check_certified(data: Mapping[str, Any]) -> None:
    """Refuse a `certified` record whose fields are missing or malformed (InvalidEventError naming the field)."""
    labels = {k.name: k.zh for k in CERTIFIED_KDES}
    for name in REQUIRED:
        value = data.get(name)
        if not isinstance(value, str) or not value.strip():
            raise InvalidEventError(Said(f"data.{name} is required on a certificate", f"请填写{labels[name]}"),
                                    field=f"data.{name}")
    kde = {k.name: k for k in CERTIFIED_KDES}
    for name in ("certificate_no", "issuer", "scope", "mark"):
        value = data.get(name)
        if value is not None and (not isinstance(value, str) or len(value) > kde[name].max_len):
            raise InvalidEventError(Said(f"data.{name} must be a text of at most {kde[name].max_len} characters",
                                         f"{labels[name]}须为不超过 {kde[name].max_len} 个字的文字"),
                                    field=f"data.{name}")
    if scheme_of(data) not in SCHEMES:
        raise InvalidEventError(Said(f"data.scheme must be one of {', '.join(SCHEMES)}, got {data.get('scheme')!r}",
                                     "请从列表中选择认证类别"), field="data.scheme")
    codes = data.get("scope_codes")
    if codes is not None and (not isinstance(codes, list) or not all(
            isinstance(c, str) and 0 < len(c) <= 32 for c in codes)):
        raise InvalidEventError(Said("data.scope_codes must be a list of category codes",
                                     "范围类别代码须为代码列表，每行一个"), field="data.scope_codes")
    start, end = _day(data, "valid_from", "有效期自"), _day(data, "valid_until", "有效期至")
    if end < start:
        raise InvalidEventError(Said(f"data.valid_until {end} is before data.valid_from {start}",
                                     f"有效期至 {end} 早于有效期自 {start}"), field="data.valid_until")
    document = data.get("document")
    if document is not None and (not isinstance(document, str) or not HEX64.match(document)):
        raise InvalidEventError(Said("data.document must be the SHA-256 of the stored PDF: 64 lowercase hex digits",
                                     "证书文件须为已上传 PDF 的 SHA-256（64 位小写十六进制）"), field="data.document")


def is_certificate(data: Mapping[str, Any]) -> bool:
    return data.get("step") == STEP


def covers(data: Mapping[str, Any], *, family: str, product: str, categories: Iterable[str] = ()) -> bool:
    """Whether the certificate's scope covers a batch of `family` named `product` whose events name
    `categories` (data.category). A certificate with neither scope nor codes (older records) covers nothing."""
    codes = data.get("scope_codes")
    wanted = {family, *categories}
    if isinstance(codes, list) and any(isinstance(c, str) and c in wanted for c in codes):
        return True
    scope = data.get("scope")
    if not isinstance(scope, str):
        return False
    words = [w for w in SCOPE_SPLIT.split(scope) if len(w) >= 2]
    return any(w in product for w in words)


@dataclass(frozen=True)
class Standing:
    """What a certificate says about a batch on a day: its problems, in words, with dates."""

    expired: bool
    not_yet_valid: bool
    out_of_scope: bool
    valid_from: date | None
    valid_until: date | None

    @property
    def is_good(self) -> bool:
        return not (self.expired or self.not_yet_valid or self.out_of_scope)

    def problems(self, lang: str) -> list[str]:
        """已过期 / 尚未生效 / 不在认证范围内, each with its date where it has one."""
        zh = lang != "en"
        out = []
        if self.expired and self.valid_until is not None:
            out.append(f"已过期（{self.valid_until} 到期）" if zh else f"expired on {self.valid_until}")
        if self.not_yet_valid and self.valid_from is not None:
            out.append(f"尚未生效（{self.valid_from} 起有效）" if zh else f"not valid until {self.valid_from}")
        if self.out_of_scope:
            out.append("不在认证范围内" if zh else "out of scope for this product")
        return out


def _date_or_none(value: Any) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def judge(data: Mapping[str, Any], on: date, *, family: str, product: str,
          categories: Iterable[str] = ()) -> Standing:
    """Whether a certificate is valid on `on` and covers the batch (expired, not yet valid, out of scope)."""
    start, end = _date_or_none(data.get("valid_from")), _date_or_none(data.get("valid_until"))
    return Standing(expired=end is not None and on > end, not_yet_valid=start is not None and on < start,
                    out_of_scope=not covers(data, family=family, product=product, categories=categories),
                    valid_from=start, valid_until=end)

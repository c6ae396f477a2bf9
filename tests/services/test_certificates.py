from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from farmtrace.demo import demo_pdf
from farmtrace.ledger.errors import DocumentTooLargeError, DocumentTypeError, InvalidEventError
from farmtrace.rules.certified import judge
from farmtrace.services.consumer import Certificate, claims
from farmtrace.services.documents import DocumentStore, check_pdf
from farmtrace.services.ledger import Ledger
from farmtrace.services.transaction import Actor

CERTIFICATE = {"step": "certified", "scheme": "green_food", "certificate_no": "LB-18-25060001A",
               "issuer": "中国绿色食品发展中心", "scope": "大米", "scope_codes": ["rice"],
               "valid_from": "2025-06-01", "valid_until": "2028-05-31"}


def _pdf(store: DocumentStore) -> str:
    sha = demo_pdf(store, ["Demo certificate"])
    assert sha is not None
    return sha


def _files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.fixture
def store(ledger: Ledger, tmp_path: Path) -> DocumentStore:
    ledger.documents = DocumentStore(tmp_path / "documents", max_bytes=64 * 1024)
    return ledger.documents


@pytest.fixture
def rice(make_org: Callable[..., str], make_batch: Callable[..., str]) -> tuple[str, str]:
    org = make_org("produce")
    return org, make_batch(org, product="南江富硒大米")


BAD_CERTIFICATES = {  # id: (change to a valid certificate, field the error must name, words in its Chinese)
    "no issuer": ({"issuer": None}, "data.issuer", "发证机构"),
    "no scope": ({"scope": None}, "data.scope", "认证范围"),
    "an unknown scheme": ({"scheme": "gold_star"}, "data.scheme", "认证类别"),
    "valid until before valid from": ({"valid_until": "2025-05-31"}, "data.valid_until", "早于"),
    "a date that does not exist": ({"valid_until": "2027-02-30"}, "data.valid_until", "不是真实的日期"),
    "a document that is not a SHA-256": ({"document": "abc.pdf"}, "data.document", "SHA-256"),
    "a document this server does not hold": ({"document": "0" * 64}, "data.document", "未在本服务器上传"),
}


@pytest.mark.parametrize(("change", "field", "zh"), list(BAD_CERTIFICATES.values()), ids=list(BAD_CERTIFICATES))
def test_a_bad_certificate_is_refused_and_nothing_is_written(ledger: Ledger, store: DocumentStore,
                                                             rice: tuple[str, str], change: dict[str, Any],
                                                             field: str, zh: str) -> None:
    org, batch = rice
    data = {k: v for k, v in {**CERTIFICATE, **change}.items() if v is not None}
    before = ledger.row_counts()
    with pytest.raises(InvalidEventError) as refused:
        ledger.append({"type": "observe", "batch": batch, "data": data}, actor=Actor(org=org))
    assert refused.value.field == field
    assert zh in (refused.value.message_zh or "")
    assert ledger.row_counts() == before


def test_a_certificate_with_its_stored_pdf_is_recorded_with_only_the_hash(ledger: Ledger, store: DocumentStore,
                                                                          rice: tuple[str, str]) -> None:
    org, batch = rice
    sha = _pdf(store)
    stored = ledger.append({"type": "observe", "batch": batch, "data": {**CERTIFICATE, "document": sha}},
                           actor=Actor(org=org))
    assert stored.body.data["document"] == sha
    assert hashlib.sha256(store.read(sha) or b"").hexdigest() == sha
    assert store.path(sha) == store.root / sha[:2] / f"{sha}.pdf"


def test_an_earlier_records_scheme_words_still_read(ledger: Ledger, rice: tuple[str, str]) -> None:
    org, batch = rice
    ledger.append({"type": "observe", "batch": batch, "data": {**CERTIFICATE, "scheme": "geographic_indication"}},
                  actor=Actor(org=org))


# ---- the PDF, by content ------------------------------------------------------------------------------------

MINIMAL = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
BAD_FILES = {  # id: (bytes, error, words in its Chinese)
    "over the size limit": (MINIMAL[:-6] + b" " * (64 * 1024) + b"%%EOF\n", DocumentTooLargeError, "文件过大"),
    "empty": (b"", DocumentTypeError, "文件为空"),
    "a PNG": (b"\x89PNG\r\n\x1a\n" + b"\0" * 100, DocumentTypeError, "不是 PDF"),
    "a renamed HTML file": (b"<!doctype html><html><script>alert(1)</script></html>", DocumentTypeError, "不是 PDF"),
    "HTML behind a PDF header": (b"%PDF-1.4\n<html><script>alert(1)</script>\n%%EOF\n", DocumentTypeError, "网页或脚本"),
    "a PDF with JavaScript": (MINIMAL.replace(b"/Catalog", b"/Catalog /OpenAction << /S /JavaScript /JS (x) >>"),
                              DocumentTypeError, "JavaScript"),
    "a cut-off PDF": (MINIMAL[:-7], DocumentTypeError, "%%EOF"),
}


@pytest.mark.parametrize(("content", "error", "zh"), list(BAD_FILES.values()), ids=list(BAD_FILES))
def test_a_bad_file_is_refused_and_nothing_is_stored(tmp_path: Path, content: bytes, error: type[Exception],
                                                     zh: str) -> None:
    store = DocumentStore(tmp_path / "documents", max_bytes=64 * 1024)
    with pytest.raises(error) as refused:
        store.save(content)
    assert zh in (refused.value.message_zh or "")  # type: ignore[attr-defined]
    assert refused.value.field == "file"  # type: ignore[attr-defined]
    assert _files(store.root) == []


def test_storing_the_same_pdf_twice_is_idempotent(tmp_path: Path) -> None:
    store = DocumentStore(tmp_path / "documents")
    first, again = store.save(MINIMAL), store.save(MINIMAL)
    assert (first.created, again.created) == (True, False)
    assert first.sha256 == again.sha256 == hashlib.sha256(MINIMAL).hexdigest()
    assert _files(store.root) == [store.path(first.sha256)]


def test_the_demo_pdf_passes_the_content_checks(tmp_path: Path) -> None:
    store = DocumentStore(tmp_path / "documents")
    check_pdf(store.read(_pdf(store)) or b"")


# ---- what a page concludes ----------------------------------------------------------------------------------

TODAY = date(2026, 7, 1)
STANDINGS = {  # id: (change, product, (expired, not yet valid, out of scope))
    "valid and in scope": ({}, "南江富硒大米 5kg", (False, False, False)),
    "expired": ({"valid_until": "2026-06-30"}, "南江富硒大米", (True, False, False)),
    "not yet valid": ({"valid_from": "2026-07-02"}, "南江富硒大米", (False, True, False)),
    "out of scope": ({"scope": "茶叶", "scope_codes": ["tea"]}, "南江富硒大米", (False, False, True)),
    "in scope by its category code": ({"scope": "稻米制品"}, "巴食巴适 5kg", (False, False, False)),
}


@pytest.mark.parametrize(("change", "product", "flags"), list(STANDINGS.values()), ids=list(STANDINGS))
def test_a_certificate_is_judged_on_the_day_and_against_the_batch(change: dict[str, Any], product: str,
                                                                  flags: tuple[bool, bool, bool]) -> None:
    standing = judge({**CERTIFICATE, **change}, TODAY, family="produce", product=product, categories={"rice"})
    assert (standing.expired, standing.not_yet_valid, standing.out_of_scope) == flags


def test_problems_are_in_words_with_dates() -> None:
    standing = judge({**CERTIFICATE, "valid_until": "2026-06-30", "scope": "茶叶", "scope_codes": []}, TODAY,
                     family="produce", product="南江富硒大米")
    assert standing.problems("zh_CN") == ["已过期（2026-06-30 到期）", "不在认证范围内"]
    assert standing.problems("en") == ["expired on 2026-06-30", "out of scope for this product"]


def _certificate(scheme: str, change: dict[str, Any] | None = None, *, covers_lot: bool = True) -> Certificate:
    data = {**CERTIFICATE, "scheme": scheme, **(change or {})}
    standing = judge(data, TODAY, family="produce", product="南江富硒大米")
    return Certificate(scheme, str(data["certificate_no"]), str(data["issuer"]), str(data["valid_until"]),
                       standing.expired, "b", str(data["valid_from"]), standing, covers_lot)


CLAIMS = {  # id: (certificates, has a footprint, claims shown)
    "a valid green food licence": ([_certificate("green_food")], False, ["green"]),
    "a valid organic certificate": ([_certificate("organic")], False, ["green"]),
    "an expired green food licence": ([_certificate("green_food", {"valid_until": "2026-06-30"})], False, []),
    "a licence for another product": ([_certificate("green_food", covers_lot=False)], False, []),
    "a brand licence is not a green claim": ([_certificate("brand_licence")], False, []),
    "a low-carbon certificate": ([_certificate("low_carbon")], False, ["low_carbon"]),
    "a low-carbon certificate not yet valid": ([_certificate("low_carbon", {"valid_from": "2026-08-01"})], False, []),
    "a footprint: a figure on record, not a low-carbon claim": ([], True, ["footprint"]),
    "nothing": ([], False, []),
}


def test_only_a_certificate_on_the_lot_itself_backs_its_claim() -> None:
    """An upstream farm's green food licence (recorded on batch "b", its paddy) puts no 绿色 on the mill's lot."""
    upstream = [_certificate("green_food"), _certificate("low_carbon")]
    assert claims(upstream, lot="rice-lot") == []
    assert [c.kind for c in claims(upstream, lot="b")] == ["green", "low_carbon"]


@pytest.mark.parametrize(("certificates", "footprint", "shown"), list(CLAIMS.values()), ids=list(CLAIMS))
def test_a_claim_is_shown_only_with_something_behind_it(certificates: list[Certificate], footprint: bool,
                                                        shown: list[str]) -> None:
    assert [c.kind for c in claims(certificates, has_footprint=footprint)] == shown


def test_an_upstream_farms_certificate_puts_no_claim_on_the_mills_rice(ledger: Ledger) -> None:
    """The attack: a farm with a token records a green food licence scoped to rice on its own paddy, hoping
    to put 绿色 on every mill's rice page made from it. The page shows the certificate in the journey's
    certificates, but the claim needs one recorded on the rice lot itself."""
    from farmtrace.services.consumer import product_view
    from farmtrace.services.lineage import transform
    ledger.create_org("farm-a", "南江稻农合作社", kind="producer", family="produce", county="511922")
    ledger.create_org("mill-b", "恩阳米厂", kind="processor", family="produce", county="511903")
    farm, mill = Actor(org="farm-a"), Actor(org="mill-b")
    ledger.append({"type": "create", "batch": "paddy-a", "data": {
        "product": "富硒稻谷", "lot": "PA-1", "family": "produce", "quantity": "1000", "unit": "KGM"}}, actor=farm)
    ledger.append({"type": "observe", "batch": "paddy-a", "data": {
        **CERTIFICATE, "scope": "稻谷 大米", "scope_codes": ["rice", "paddy", "produce"]}}, actor=farm)
    shipped = ledger.append({"type": "ship", "batch": "paddy-a", "data": {"to": "mill-b", "quantity": "1000",
                                                                         "unit": "KGM"}}, actor=farm)
    ledger.append({"type": "receive", "batch": "paddy-a", "data": {"ship": shipped.hash, "quantity": "1000",
                                                                    "unit": "KGM"}}, actor=mill)
    transform(ledger, [{"batch": "paddy-a", "quantity": "1000"}], [{
        "batch": "rice-b", "product": "富硒大米", "lot": "RB-1", "family": "produce", "quantity": "700",
        "unit": "KGM"}], actor=mill, process="milling")
    view = product_view(ledger, "rice-b", today=date(2026, 7, 1))
    assert view is not None
    assert [c.number for c in view.certificates] == [CERTIFICATE["certificate_no"]]  # shown, with its batch
    assert [c.kind for c in view.claims] == []  # but it backs no 绿色 on the mill's lot
    own = product_view(ledger, "paddy-a", today=date(2026, 7, 1))
    assert own is not None and [c.kind for c in own.claims] == ["green"]  # on the farm's own paddy it does

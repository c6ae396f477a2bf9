"""The 承诺达标合格证 as a signed event (农业农村部令 2025 年第 4 号): issued once, by the producer, with place,
quantity, contact and number; shown as issued (not recomputed) and as recalled after a recall; refused for
baijiu and packaged water, on SQLite and PostgreSQL."""

import pytest

from farmtrace.demo import setup_orgs
from farmtrace.ledger.errors import RuleViolationError
from farmtrace.rules.families.certificate import SCOPE, issues_certificate, scope_of
from farmtrace.services.certificate import certificate_draft, certificate_of, issue_certificate
from farmtrace.services.lineage import recall
from farmtrace.services.transaction import Actor
from farmtrace.services.verify import verify_log

FARM, MILL, LAB = "nanjiang-se-rice", "enyang-rice-mill", "bazhong-testing"
RULE = "农业农村部令 2025 年第 4 号"


@pytest.fixture
def bazhong(ledger):
    setup_orgs(ledger)
    return ledger


def _append(ledger, org, type_, batch, **data):
    return ledger.append({"type": type_, "batch": batch, "data": data}, actor=Actor(org=org))


def _paddy(ledger, batch="paddy-t", org=FARM):
    _append(ledger, org, "create", batch, product="南江富硒稻谷", lot="T-1", family="produce", quantity="1200",
            unit="KGM", place="南江县 长赤镇 富硒稻田")
    return batch


def _tested(ledger, batch, holder=FARM):
    sample = _append(ledger, holder, "sample", batch, lab=LAB, sample_id="S-1")
    _append(ledger, LAB, "test", batch, sample=sample.hash, analyte="Cd", method="GB 5009.15", unit="mg/kg",
            value="0.05", report_no="BZ-T-1", category="paddy")


def _ship(ledger, batch, frm, to, quantity="1200", unit="KGM", **extra):
    shipped = _append(ledger, frm, "ship", batch, to=to, quantity=quantity, unit=unit, **extra)
    return _append(ledger, to, "receive", batch, ship=shipped.hash, quantity=quantity, unit=unit, **extra)


def _events(ledger):
    with ledger.uow() as uow:
        return uow.log_size()


def test_the_producer_issues_it_once_with_place_quantity_contact_and_number(bazhong) -> None:
    paddy = _paddy(bazhong)
    _tested(bazhong, paddy)
    event = issue_certificate(bazhong, paddy, actor=Actor(org=FARM), certificate_no="HGZ-511922-0001")
    cert = certificate_of(bazhong, paddy).issued
    assert cert is not None and cert.event == event.hash
    assert (cert.number, cert.product, cert.quantity, cert.unit) == ("HGZ-511922-0001", "南江富硒稻谷", "1200", "KGM")
    assert cert.origin == "南江县 长赤镇" and cert.county == "511922"
    assert cert.issuer == "南江县富硒稻米专业合作社" and cert.issuer_org == FARM
    assert cert.contact_phone == "0827-8861001"
    assert cert.basis == "commissioned_test" and cert.basis_name() == "委托检测"
    assert cert.issued == event.body.at[:10]
    before = _events(bazhong)
    with pytest.raises(RuleViolationError) as refused:
        issue_certificate(bazhong, paddy, actor=Actor(org=FARM), certificate_no="HGZ-511922-0002")
    assert refused.value.field == "data.certificate_no" and RULE in str(refused.value)
    assert "HGZ-511922-0001" in str(refused.value)
    assert _events(bazhong) == before


def test_later_pages_show_the_certificate_as_issued_not_the_lot_as_it_is_now(bazhong) -> None:
    paddy = _paddy(bazhong)
    issue_certificate(bazhong, paddy, actor=Actor(org=FARM))
    issued = certificate_of(bazhong, paddy).issued
    _ship(bazhong, paddy, FARM, MILL, certificate_no=issued.number)
    _append(bazhong, MILL, "consume", paddy, quantity="1200", unit="KGM", into=["rice-t"])
    later = certificate_of(bazhong, paddy).issued
    assert later == issued  # the quantity is the one issued (not the 0 left), the date and the issuer do not move
    assert later.quantity == "1200" and later.issuer_org == FARM


def test_the_purchaser_records_the_collected_number_and_issues_one_only_after_mixing_or_repacking(bazhong) -> None:
    paddy = _paddy(bazhong)
    issue_certificate(bazhong, paddy, actor=Actor(org=FARM), certificate_no="HGZ-511922-0001")
    shipped = _append(bazhong, FARM, "ship", paddy, to=MILL, quantity="1200", unit="KGM")
    with pytest.raises(RuleViolationError) as wrong:
        _append(bazhong, MILL, "receive", paddy, ship=shipped.hash, quantity="1200", unit="KGM",
                certificate_no="HGZ-OTHER")
    assert wrong.value.field == "data.certificate_no" and "HGZ-511922-0001" in str(wrong.value)
    _append(bazhong, MILL, "receive", paddy, ship=shipped.hash, quantity="1200", unit="KGM",
            certificate_no="HGZ-511922-0001")
    with pytest.raises(RuleViolationError) as purchaser:
        issue_certificate(bazhong, paddy, actor=Actor(org=MILL))
    assert purchaser.value.field == "batch" and "received from another org" in str(purchaser.value)
    consumed = _append(bazhong, MILL, "consume", paddy, quantity="1200", unit="KGM", into=["rice-t"])
    _append(bazhong, MILL, "transform", "rice-t", product="南江富硒大米", lot="R-1", family="produce",
            quantity="800", unit="KGM", process="milling", place="恩阳区 柳林镇 加工厂",
            inputs=[{"batch": paddy, "event": consumed.hash, "quantity": "1200", "unit": "KGM"}])
    issue_certificate(bazhong, "rice-t", actor=Actor(org=MILL), certificate_no="HGZ-511903-0001")
    cert = certificate_of(bazhong, "rice-t").issued
    assert cert.issuer_org == MILL and cert.origin == "恩阳区 柳林镇" and cert.basis == "quality_control"


# id: (change to the proposed certificate, field the refusal names)
BAD_CERTIFICATES = {
    "an origin that is not the lot's place of production": ({"county": "511923"}, "data.county"),
    "more than the lot holds": ({"quantity": "1500"}, "data.quantity"),
    "another unit than the lot's": ({"unit": "TNE", "quantity": "1"}, "data.quantity"),
    "another product than the lot's": ({"product": "南江富硒大米"}, "data.product"),
    "a test basis with no test on record": ({"basis": "commissioned_test"}, "data.basis"),
    "no contact phone": ({"contact_phone": ""}, "data.contact_phone"),
}


@pytest.mark.parametrize(("change", "field"), list(BAD_CERTIFICATES.values()), ids=list(BAD_CERTIFICATES))
def test_a_certificate_that_does_not_match_its_lot_is_refused_and_nothing_is_written(bazhong, change, field) -> None:
    paddy = _paddy(bazhong)
    before = _events(bazhong)
    with pytest.raises(Exception) as refused:
        issue_certificate(bazhong, paddy, actor=Actor(org=FARM), **change)
    assert getattr(refused.value, "field", None) == field
    assert _events(bazhong) == before


def test_a_recall_shows_on_the_issued_certificate(bazhong) -> None:
    paddy = _paddy(bazhong)
    issue_certificate(bazhong, paddy, actor=Actor(org=FARM))
    assert certificate_of(bazhong, paddy).recalled is False
    recall(bazhong, paddy, actor=Actor(org="bazhong-samr"), reason="镉含量存疑")
    view = certificate_of(bazhong, paddy)
    assert view.recalled and view.recall_reason == "镉含量存疑" and view.issued is not None


# id: (org, genesis data of a lot of that family)
PROCESSED_FOODS = {
    "baijiu": ("pingchang-distillery", {"product": "浓香型白酒", "lot": "BJ-1", "family": "baijiu", "quantity": "500",
                                        "unit": "LTR", "place": "平昌县 白酒工业园"}),
    "packaged water": ("guangwu-spring", {"product": "天然矿泉水", "lot": "W-1", "family": "water",
                                          "quantity": "5000", "unit": "LTR", "place": "南江县 光雾山镇"}),
}


@pytest.mark.parametrize(("org", "genesis"), list(PROCESSED_FOODS.values()), ids=list(PROCESSED_FOODS))
def test_baijiu_and_water_are_licensed_processed_foods_and_get_no_certificate(bazhong, org, genesis) -> None:
    _append(bazhong, org, "create", "processed", **genesis)
    assert certificate_draft(bazhong, "processed")  # the values exist; the rules refuse them
    before = _events(bazhong)
    with pytest.raises(RuleViolationError) as refused:
        issue_certificate(bazhong, "processed", actor=Actor(org=org), county="511922", town="光雾山镇")
    assert refused.value.field == "type" and RULE in str(refused.value) and "SC" in str(refused.value)
    assert _events(bazhong) == before
    view = certificate_of(bazhong, "processed")
    assert view.issued is None and view.in_scope is False


SCOPES = {  # id: (family, category, status)
    "fresh tea leaves": ("produce", "tea_leaves", "mandatory"),
    "cultivated fungi (tremella)": ("produce", "fungi", "mandatory"),
    "paddy and rice: voluntary": ("produce", "rice", "voluntary"),
    "live pigs and pork: live animals included": ("pork", None, "mandatory"),
    "baijiu": ("baijiu", None, "excluded"),
    "packaged water": ("water", None, "excluded"),
}


@pytest.mark.parametrize(("family", "category", "status"), list(SCOPES.values()), ids=list(SCOPES))
def test_which_products_carry_one_comes_from_one_table(family, category, status) -> None:
    row = scope_of(family, category)
    assert row is not None and row.status == status and row in SCOPE
    assert issues_certificate(family) is (status != "excluded")


def test_a_lot_with_no_certificate_says_so_and_the_demo_certificates_verify(bazhong) -> None:
    paddy = _paddy(bazhong)
    view = certificate_of(bazhong, paddy)
    assert view.issued is None and view.in_scope
    issue_certificate(bazhong, paddy, actor=Actor(org=FARM))
    report = verify_log(bazhong.engine, log_origin=bazhong.log_origin)
    assert report.ok, report.failures[:3]

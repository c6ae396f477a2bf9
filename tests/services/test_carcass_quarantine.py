"""The carcass's own 动物检疫合格证明 (动物检疫管理办法, 农业农村部令2022年第7号) through the real ledger: the append
service gathers the live pigs' certificate numbers from the slaughter's inputs and the rule refuses a carcass
number derived from them, writing nothing; the carcass's own number is accepted and the log verifies, on SQLite
and PostgreSQL."""

from datetime import datetime

import pytest

from farmtrace.demo import CHINA, Writer, setup_orgs
from farmtrace.ledger.errors import RuleViolationError
from farmtrace.services.transaction import Actor
from farmtrace.services.verify import verify_log

FARM, PLANT = "qingyu-pig-farm", "bazhong-meat-park"
LIVE_NO = "5119210000042"
TAGS = ["151192100004201", "151192100004202"]


@pytest.fixture
def slaughtered(ledger):
    """Two tagged, quarantined pigs shipped to the slaughterhouse and slaughtered into carcass-t."""
    setup_orgs(ledger)

    def chain(w: Writer) -> None:
        w.add(FARM, "animal_tagged", "pigs-t", {"product": "青峪猪 生猪", "lot": "QY-T", "family": "pork",
                                                "quantity": "2", "unit": "head", "tags": TAGS,
                                                "birth_or_arrival": "2026-01-01", "breed": "青峪猪"})
        w.add(FARM, "quarantined", "pigs-t", {"certificate_no": LIVE_NO, "issuer": "通江县动物卫生监督所", "head": "2",
                                              "tags": TAGS}, days=1)
        w.certify(FARM, "pigs-t", "HGZ-QY-T", "青峪猪 生猪", "2", "head", "511921", "青峪镇", "quality_control", [])
        shipped = w.add(FARM, "ship", "pigs-t", {"to": PLANT, "quantity": "2", "unit": "head", "doc": LIVE_NO,
                                                 "certificate_no": "HGZ-QY-T", "live_weight": "236",
                                                 "vehicle_no": "川Y12345"}, days=1)
        w.add(PLANT, "receive", "pigs-t", {"ship": shipped.hash, "quantity": "2", "unit": "head",
                                           "certificate_no": "HGZ-QY-T", "live_weight": "236", "tags": TAGS})
        w.test(PLANT, "pigs-t", "A-T", [
            {"analyte": "ASFV", "method": "GB/T 18648-2020", "value": None, "lod": "10", "unit": "copies/µL",
             "report_no": "ASF-T"}], days=0)
        w.transform(PLANT, [("pigs-t", "2", "head")], [{"batch": "carcass-t", "product": "青峪猪 白条", "lot": "C-T",
                                                         "family": "pork", "quantity": "176", "unit": "KGM"}],
                    "slaughter", asf_reports=["ASF-T"])

    ledger.appending(lambda tx: chain(Writer(tx, datetime(2026, 3, 1, 8, tzinfo=CHINA))))
    return ledger


def _post_mortem(ledger, number: str):
    return ledger.append({"type": "inspected", "batch": "carcass-t", "data": {
        "stage": "post-mortem", "quarantine_certificate": number, "quality_certificate": "RP-T"}},
        actor=Actor(org=PLANT))


@pytest.mark.parametrize("number", [LIVE_NO, f"Q{LIVE_NO}", f"{LIVE_NO}-1"], ids=["the same", "a prefix", "a suffix"])
def test_a_carcass_number_derived_from_the_live_pigs_is_refused_and_nothing_is_written(slaughtered, number) -> None:
    before = slaughtered.row_counts()
    with pytest.raises(RuleViolationError) as refused:
        _post_mortem(slaughtered, number)
    assert refused.value.field == "data.quarantine_certificate"
    assert "动物检疫管理办法 (农业农村部令2022年第7号)" in refused.value.message
    assert f"derived from the live pigs' certificate {LIVE_NO}" in refused.value.message
    assert f"沿用了生猪的动物检疫合格证明（动物）编号 {LIVE_NO}" in refused.value.message_zh
    assert slaughtered.row_counts() == before


def test_the_carcass_own_number_is_accepted_and_the_log_verifies(slaughtered) -> None:
    assert _post_mortem(slaughtered, "5119020000042").body.type == "inspected"
    report = verify_log(slaughtered.engine, log_origin=slaughtered.log_origin)
    assert report.ok, report.failures[:3]

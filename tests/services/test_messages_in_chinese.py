"""The append path's refusals in Chinese as well as English, through the real ledger on both databases."""

import re
from datetime import datetime, timedelta, timezone

import pytest

from farmtrace.ledger.errors import CustodyError, EventTimeError, InvalidEventError, NotFoundError
from farmtrace.services.lineage import recall, trace
from farmtrace.services.transaction import Actor

CHINA = timezone(timedelta(hours=8))
CHINESE = re.compile(r"[\u4e00-\u9fff]")
CLOCK = "\0"  # stands for the server's clock in an expected message: it is read when the event is refused


@pytest.fixture
def orgs(ledger, make_org, make_batch):
    farm, mill, shop = make_org(), make_org(kind="processor"), make_org(kind="retailer")
    lab, other_lab, samr = make_org(kind="lab"), make_org(kind="lab"), make_org(kind="regulator")
    paddy = make_batch(farm, quantity="1000", unit="KGM")
    future = (datetime.now(CHINA) + timedelta(days=3, hours=1)).replace(microsecond=0).isoformat()
    return {"farm": farm, "mill": mill, "shop": shop, "lab": lab, "other_lab": other_lab, "samr": samr,
            "paddy": paddy, "future": future}


def observe(ledger, o, by, **envelope):
    return ledger.append({"type": "observe", "batch": o["paddy"], "data": {"step": "inspected"}, **envelope},
                         actor=Actor(org=o[by]))


def ship(ledger, o, to, quantity="1000"):
    return ledger.append({"type": "ship", "batch": o["paddy"], "data": {"to": o[to], "quantity": quantity,
                                                                        "unit": "KGM"}}, actor=Actor(org=o["farm"]))


def receive(ledger, o, by, quantity="1000"):
    shipped = ship(ledger, o, "mill")
    return ledger.append({"type": "receive", "batch": o["paddy"], "data": {"ship": shipped.hash, "quantity": quantity,
                                                                           "unit": "KGM"}}, actor=Actor(org=o[by]))


def observe_in_transit(ledger, o):
    ship(ledger, o, "mill")
    return observe(ledger, o, "farm")


def result_from_another_lab(ledger, o):
    sample = ledger.append({"type": "sample", "batch": o["paddy"], "data": {"lab": o["lab"], "sample_id": "S-1"}},
                           actor=Actor(org=o["farm"]))
    return ledger.append({"type": "test", "batch": o["paddy"], "data": {
        "sample": sample.hash, "analyte": "Cd", "method": "GB 5009.15", "value": "0.05", "unit": "mg/kg",
        "report_no": "R-1"}}, actor=Actor(org=o["other_lab"]))


REFUSALS = {  # id: (what is tried, its error, the English the API has always given, with {names} of `orgs`)
    "appending to a batch another org holds": (
        lambda ledger, o: observe(ledger, o, "mill"), CustodyError, "batch {paddy} is held by {farm}, not {mill}"),
    "anything but a receive while in transit": (
        observe_in_transit, CustodyError,
        "batch {paddy} is in transit to {mill}; only its receive (or the sender's cancel) may follow"),
    "a receive by an org the batch was not shipped to": (
        lambda ledger, o: receive(ledger, o, "shop"), CustodyError, "batch {paddy} was shipped to {mill}, not {shop}"),
    "a receive that does not balance its ship": (
        lambda ledger, o: receive(ledger, o, "mill", "990"), InvalidEventError,
        "received 990 KGM + loss 0 does not match the 1000 KGM shipped"),
    "shipping part of what is held": (
        lambda ledger, o: ship(ledger, o, "mill", "400"), InvalidEventError,
        "ship the whole held quantity (1000 KGM); split the lot first with a transformation to ship part of it"),
    "a test by a lab the sample was not sent to": (
        result_from_another_lab, CustodyError, "the sample was sent to {lab}, not {other_lab}"),
    "a recall by an org that is not a regulator": (
        lambda ledger, o: recall(ledger, o["paddy"], actor=Actor(org=o["farm"]), reason="镉超标"), CustodyError,
        "only a regulator may recall"),
    "an event dated days in the future": (
        lambda ledger, o: observe(ledger, o, "farm", at=o["future"]), EventTimeError,
        "at {future} 比服务器时间晚 3 天，超过允许的 10 分钟时钟误差：请校正设备时钟后再提交。at is 3 days ahead of the "
        "server's clock ({clock}); at most 10 minutes are allowed: set the device's clock and submit again."),
    "tracing a batch that does not exist": (
        lambda ledger, o: trace(ledger, "no-such-batch"), NotFoundError, "no batch no-such-batch"),
}


def expected(english: str, names: dict[str, str]) -> re.Pattern[str]:
    return re.compile(re.escape(english.format(**names, clock=CLOCK)).replace(CLOCK, r"[0-9T:+-]+"))


@pytest.mark.parametrize(("attempt", "error", "english"), list(REFUSALS.values()), ids=list(REFUSALS))
def test_a_refusal_keeps_its_english_and_says_it_in_chinese_without_field_paths(ledger, orgs, attempt, error,
                                                                                english) -> None:
    with pytest.raises(error) as refused:
        attempt(ledger, orgs)
    assert expected(english, orgs).fullmatch(refused.value.message)
    assert refused.value.message_zh is not None and CHINESE.search(refused.value.message_zh)
    assert "data." not in refused.value.message_zh


def test_a_unit_code_is_named_in_chinese(ledger, orgs) -> None:
    with pytest.raises(InvalidEventError) as refused:
        ship(ledger, orgs, "mill", "400")
    assert refused.value.message_zh == "发货须发出全部持有数量（1000 千克）；只发一部分时，请先通过加工把批次拆分"

"""The four families through the real ledger: every chain of the demo passes its rules; hard rules refuse
(writing nothing), soft rules warn, and lab verdicts are computed, on SQLite and PostgreSQL."""

import random
from datetime import datetime

import pytest

from farmtrace.services.transaction import Actor
from farmtrace.ledger.errors import RuleViolationError
from farmtrace.services.verify import verify_log
from farmtrace.demo import CHAINS, CHINA, Writer, setup_orgs


@pytest.fixture
def bazhong(ledger):
    setup_orgs(ledger)
    return ledger


def _run(ledger, chain, n=1):
    ledger.appending(lambda tx: chain(Writer(tx, datetime(2026, 3, 1, 8, tzinfo=CHINA)), n, random.Random(n)))


@pytest.mark.parametrize("chain", CHAINS, ids=[c.__name__ for c in CHAINS])
def test_each_family_goes_from_origin_to_retail_and_verifies(bazhong, chain) -> None:
    _run(bazhong, chain)
    with bazhong.uow() as uow:
        sold = [b for b in uow.batches() if b.org_id in ("bazhou-market", "pingchang-shop")]
        verdicts = uow.execute("SELECT severity FROM findings WHERE rule = 'verdict'").fetchall()
    assert sold, "the chain reaches a retailer"
    assert verdicts and all(v[0] in ("pass", "info") for v in verdicts)
    report = verify_log(bazhong.engine, log_origin=bazhong.log_origin)
    assert report.ok, report.failures[:3]


def _lab_result(ledger, holder, batch, **result):
    sample = ledger.append({"type": "sample", "batch": batch, "data": {"lab": "bazhong-testing", "sample_id": "X1"}},
                           actor=Actor(org=holder))
    return ledger.append({"type": "test", "batch": batch, "data": {"sample": sample.hash, "method": "GB 5009",
                                                                   "report_no": "X-1", **result}},
                         actor=Actor(org="bazhong-testing"))


HARD = {  # id: (chain, batch, failing lab result, standard named in the refusal)
    "produce: lead over GB 2762 blocks shipping": (
        "tea_chain", "tea-yd-1", {"analyte": "Pb", "value": "9.0", "unit": "mg/kg", "category": "tea"}, "GB 2762"),
    "baijiu: methanol over GB 2757 blocks shipping": (
        "baijiu_chain", "bottles-pc-1", {"analyte": "甲醇", "value": "0.9", "unit": "g/L", "abv": "52"}, "GB 2757"),
}


@pytest.mark.parametrize(("chain", "batch", "result", "standard"), list(HARD.values()), ids=list(HARD))
def test_a_hard_rule_refuses_and_nothing_is_written(bazhong, chain, batch, result, standard) -> None:
    _run(bazhong, next(c for c in CHAINS if c.__name__ == chain))
    with bazhong.uow() as uow:
        holder = uow.batch(batch).org_id
    verdict = _lab_result(bazhong, holder, batch, **result)
    with bazhong.uow() as uow:
        found = uow.execute("SELECT severity FROM findings WHERE event_hash = :h", h=verdict.hash).fetchall()
        b = uow.batch(batch)
    assert ("fail",) in found
    before = bazhong.row_counts()
    with pytest.raises(RuleViolationError) as refused:
        bazhong.append({"type": "ship", "batch": batch, "data": {"to": "pingchang-shop" if holder != "pingchang-shop"
                                                                else "bazhou-market", "quantity": b.quantity,
                                                                "unit": b.unit}}, actor=Actor(org=holder))
    assert standard in refused.value.message
    assert bazhong.row_counts() == before


def test_pork_without_a_negative_asf_test_cannot_leave_the_slaughterhouse(bazhong) -> None:
    _run(bazhong, next(c for c in CHAINS if c.__name__ == "pork_chain"))
    bazhong.append({"type": "create", "batch": "mystery-meat", "data": {
        "product": "猪肉", "lot": "M1", "family": "pork", "quantity": "50", "unit": "KGM"}},
        actor=Actor(org="bazhong-meat-park"))
    before = bazhong.row_counts()
    with pytest.raises(RuleViolationError) as refused:
        bazhong.append({"type": "ship", "batch": "mystery-meat", "data": {"to": "bazhou-market", "quantity": "50",
                                                                         "unit": "KGM"}},
                       actor=Actor(org="bazhong-meat-park"))
    assert "119" in refused.value.message or "ASF" in refused.value.message
    assert bazhong.row_counts() == before


def test_a_warm_cold_chain_reading_is_recorded_as_a_warning(bazhong) -> None:
    _run(bazhong, next(c for c in CHAINS if c.__name__ == "pork_chain"), n=1)  # n % 5 == 1 logs 5.1 °C
    with bazhong.uow() as uow:
        warnings = uow.execute("SELECT rule, message FROM findings WHERE severity = 'warning'").fetchall()
    assert any(rule == "pork.chilled_reading" and "5.1" in message for rule, message in warnings)

"""When an event may say it happened (farmtrace.services.event_times), on every append path and both databases.

Issue 11, "Event times": `at` values in 1970 and 9999, and in any order on one chain, were accepted.
"""

from datetime import datetime, timedelta, timezone

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from farmtrace.services import keys as core_keys
from farmtrace.services.transaction import Actor
from farmtrace.ledger.errors import EventTimeError, InvalidEventError
from farmtrace.services.event_times import EARLIEST_AT, MAX_CLOCK_SKEW, time_problem
from farmtrace.ledger.events import EventBody, new_event_id
from farmtrace.ledger.signing import sign_event_hash

HEAD_AT = "2026-03-02T08:00:00+08:00"  # the chain head's time in the cases below (2026-03-02T00:00:00Z)


def from_now(delta: timedelta) -> str:
    return (datetime.now(timezone.utc) + delta).replace(microsecond=0).isoformat()


@pytest.fixture
def farm_batch(ledger, make_org):
    """A batch whose chain head happened at HEAD_AT."""
    farm = make_org()
    ledger.append({"type": "create", "batch": "paddy-t", "at": "2026-03-01T08:00:00+08:00", "data": {
        "product": "南江富硒稻谷", "lot": "T-1", "family": "produce", "quantity": "1000", "unit": "KGM"}},
        actor=Actor(org=farm))
    ledger.append({"type": "observe", "batch": "paddy-t", "at": HEAD_AT, "data": {"step": "dried"}},
                  actor=Actor(org=farm))
    return {"org": farm, "batch": "paddy-t"}


BAD_TIMES = {  # id: the next event's `at`, after a chain head at HEAD_AT
    "the Unix epoch (a tablet whose clock was reset)": lambda: "1970-01-01T00:00:00Z",
    "the year 9999": lambda: "9999-12-31T23:59:59+08:00",
    "more than the clock skew ahead of the server": lambda: from_now(MAX_CLOCK_SKEW + timedelta(minutes=1)),
    "a second before the chain head": lambda: "2026-03-02T07:59:59+08:00",
    "before the head as an instant, after it as text": lambda: "2026-03-02T08:30:00+09:00",
    "a day before the head in UTC": lambda: "2026-03-01T00:00:00Z",
}


@pytest.mark.parametrize("at", list(BAD_TIMES.values()), ids=list(BAD_TIMES))
def test_an_event_in_the_future_or_before_its_chains_previous_event_is_refused(ledger, farm_batch, at) -> None:
    before = ledger.row_counts()
    with pytest.raises(EventTimeError) as refused:
        ledger.append({"type": "observe", "batch": farm_batch["batch"], "at": at(), "data": {"step": "x"}},
                      actor=Actor(org=farm_batch["org"]))
    assert refused.value.field == "at" and isinstance(refused.value, InvalidEventError)
    assert "at " in refused.value.message
    assert ledger.row_counts() == before


GOOD_TIMES = {  # id: the next event's `at`, after a chain head at HEAD_AT
    "the same instant as the head, in another offset": lambda: "2026-03-02T00:00:00Z",
    "after the head as an instant, before it as text": lambda: "2026-03-02T07:00:00+00:00",
    "an offline entry synced days later": lambda: "2026-03-05T18:20:00+08:00",
    "a tablet clock a few minutes fast": lambda: from_now(MAX_CLOCK_SKEW - timedelta(minutes=2)),
    "no at: the server's now": lambda: None,
}


@pytest.mark.parametrize("at", list(GOOD_TIMES.values()), ids=list(GOOD_TIMES))
def test_an_event_at_or_after_its_chains_previous_event_and_not_in_the_future_is_accepted(ledger, farm_batch,
                                                                                          at) -> None:
    draft = {"type": "observe", "batch": farm_batch["batch"], "data": {"step": "x"}}
    if at() is not None:
        draft["at"] = at()
    stored = ledger.append(draft, actor=Actor(org=farm_batch["org"]))
    assert stored.body.at == draft.get("at", stored.body.at)


def test_a_time_before_the_floor_is_refused_even_when_its_text_reads_as_the_floor_day(ledger, make_org) -> None:
    farm = make_org()
    floor_in_tokyo = "2000-01-01T00:00:00+09:00"  # an hour before 2000-01-01T00:00:00+08:00
    assert datetime.fromisoformat(floor_in_tokyo) < EARLIEST_AT
    with pytest.raises(EventTimeError) as refused:
        ledger.append({"type": "create", "batch": "old", "at": floor_in_tokyo, "data": {
            "product": "稻谷", "lot": "O-1", "family": "produce", "quantity": "1", "unit": "KGM"}}, actor=Actor(org=farm))
    assert refused.value.field == "at"
    ledger.append({"type": "create", "batch": "old", "at": "2000-01-01T00:00:00+08:00", "data": {
        "product": "稻谷", "lot": "O-1", "family": "produce", "quantity": "1", "unit": "KGM"}}, actor=Actor(org=farm))


def test_a_receive_before_its_ship_is_refused(ledger, farm_batch, make_org) -> None:
    mill = make_org(kind="processor")
    shipped = ledger.append({"type": "ship", "batch": farm_batch["batch"], "at": "2026-03-03T08:00:00+08:00",
                             "data": {"to": mill, "quantity": "1000", "unit": "KGM"}},
                            actor=Actor(org=farm_batch["org"]))
    receive = {"type": "receive", "batch": farm_batch["batch"],
               "data": {"ship": shipped.hash, "quantity": "1000", "unit": "KGM"}}
    with pytest.raises(EventTimeError) as refused:
        ledger.append({**receive, "at": "2026-03-03T07:00:00+08:00"}, actor=Actor(org=mill))
    assert refused.value.field == "at" and "ship" in refused.value.message
    ledger.append({**receive, "at": "2026-03-03T13:00:00+08:00"}, actor=Actor(org=mill))


def test_a_transformation_before_the_consume_event_of_an_input_is_refused(ledger, farm_batch) -> None:
    farm = Actor(org=farm_batch["org"])
    consumed = ledger.append({"type": "consume", "batch": farm_batch["batch"], "at": "2026-03-04T08:00:00+08:00",
                              "data": {"quantity": "1000", "unit": "KGM", "into": ["rice-t"]}}, actor=farm)
    transform = {"type": "transform", "batch": "rice-t", "data": {
        "product": "南江富硒大米", "lot": "R-1", "family": "produce", "quantity": "650", "unit": "KGM",
        "process": "milling", "inputs": [{"batch": farm_batch["batch"], "event": consumed.hash, "quantity": "1000",
                                          "unit": "KGM"}]}}
    before = ledger.row_counts()
    with pytest.raises(EventTimeError) as refused:
        ledger.append({**transform, "at": "2026-03-04T07:00:00+08:00"}, actor=farm)
    assert refused.value.field == "at" and farm_batch["batch"] in refused.value.message
    assert ledger.row_counts() == before
    assert ledger.append(transform, actor=farm).body.batch == "rice-t"  # no at: now, after the consume


def test_a_batch_append_out_of_order_is_refused_whole_naming_the_item(ledger, farm_batch) -> None:
    items = [{"type": "observe", "batch": farm_batch["batch"], "at": at, "data": {"step": step}}
             for at, step in (("2026-03-06T08:00:00+08:00", "weighed"), ("2026-03-05T08:00:00+08:00", "dried"))]
    before = ledger.row_counts()
    with pytest.raises(EventTimeError) as refused:
        ledger.append_many(items, actor=Actor(org=farm_batch["org"]))
    assert refused.value.field == "items[1].at"
    assert ledger.row_counts() == before


def test_a_presigned_event_from_a_tablet_with_a_clock_far_ahead_is_refused_with_a_message_to_fix_it(
        ledger, make_org) -> None:
    ledger.create_org("own-key-farm", "自持密钥合作社", kind="producer", family="produce", with_key=False)
    private = Ed25519PrivateKey.generate()
    key = ledger.write(lambda uow: core_keys.add_org_key(uow, ledger.signer, "own-key-farm", private=private,
                                                         hold_private=False))

    def signed(at: str) -> tuple[dict, str]:
        body = {"v": 1, "type": "create", "batch": "own-b1", "org": "own-key-farm", "key": key.id,
                "id": new_event_id(), "at": at, "data": {"product": "富硒大米", "lot": "OWN-1", "family": "produce",
                                                          "quantity": "100", "unit": "KGM"}}
        return body, sign_event_hash(private, EventBody.from_obj(body).hash)

    before = ledger.row_counts()
    with pytest.raises(EventTimeError) as refused:
        ledger.append_signed(*signed(from_now(timedelta(hours=3))), actor=Actor(org="own-key-farm"))
    assert refused.value.field == "at" and "clock" in refused.value.message and "时钟" in refused.value.message
    assert ledger.row_counts() == before
    ledger.append_signed(*signed(from_now(-timedelta(days=2))), actor=Actor(org="own-key-farm"))  # made offline


def test_a_server_filled_time_never_precedes_a_head_written_by_a_clock_a_little_fast(ledger, farm_batch) -> None:
    ahead = from_now(timedelta(minutes=5))
    ledger.append({"type": "observe", "batch": farm_batch["batch"], "at": ahead, "data": {"step": "tablet"}},
                  actor=Actor(org=farm_batch["org"]))
    stored = ledger.append({"type": "observe", "batch": farm_batch["batch"], "data": {"step": "server"}},
                           actor=Actor(org=farm_batch["org"]))
    assert datetime.fromisoformat(stored.body.at) >= datetime.fromisoformat(ahead)


PROBLEMS = {  # id: (at, [(zh, en, earlier at)], words the message must hold, or None when allowed)
    "exactly the skew ahead": ("2026-06-01T00:10:00+00:00", [], None),
    "a second past the skew": ("2026-06-01T00:10:01+00:00", [], "10 minutes ahead"),
    "a year ahead, in days": ("2027-06-01T00:00:00+00:00", [], "365 days ahead"),
    "in the same second as a sub-second head": ("2026-05-01T08:00:00+08:00",
                                                 [("上一条", "the previous event", "2026-05-01T08:00:00.700+08:00")],
                                                 None),
    "a second before a sub-second head": ("2026-05-01T07:59:59+08:00",
                                           [("上一条", "the previous event", "2026-05-01T08:00:00.700+08:00")],
                                           "the previous event"),
}


@pytest.mark.parametrize(("at", "after", "words"), list(PROBLEMS.values()), ids=list(PROBLEMS))
def test_the_time_rule_compares_instants_to_the_second_against_a_fixed_clock(at, after, words) -> None:
    now = datetime(2026, 6, 1, tzinfo=timezone.utc)
    problem = time_problem(datetime.fromisoformat(at), now=now, after=after)
    assert problem is None if words is None else words in str(problem)

import json
import uuid
from typing import Any

import pytest

from farmtrace.services.transaction import Actor
from farmtrace.ledger.canonical import sha256_hex
from farmtrace.ledger.errors import ChainConflictError, CustodyError, InvalidEventError, NotFoundError
from farmtrace.ledger.events import EventBody
from farmtrace.ledger.signing import unb64, verify_event_signature
from farmtrace.services.verify import verify_log


def test_an_appended_event_is_canonical_hashed_signed_and_chained(ledger, make_org, make_batch) -> None:
    farm = make_org()
    batch = make_batch(farm)
    stored = ledger.append({"type": "observe", "batch": batch, "data": {"step": "harvested", "weight": "12.5"}},
                           actor=Actor(org=farm))
    with ledger.uow() as uow:
        row = uow.event_by_hash(stored.hash)
        first = uow.events_of_batch(batch)[0]
        key = uow.key(row.key_id)
    assert row.canonical.encode() == EventBody.parse(row.canonical).canonical
    assert sha256_hex(row.canonical.encode()) == row.hash
    assert verify_event_signature(unb64(key.public_key), row.hash, row.signature)
    assert json.loads(row.canonical)["prev"] == first.hash
    assert verify_log(ledger.engine, log_origin=ledger.log_origin).ok


def test_resubmitting_an_event_id_returns_the_stored_event(ledger, make_org, make_batch) -> None:
    farm = make_org()
    batch = make_batch(farm)
    draft = {"type": "observe", "batch": batch, "id": str(uuid.uuid4()), "data": {"step": "stored"}}
    first = ledger.append(draft, actor=Actor(org=farm))
    counts = ledger.row_counts()
    again = ledger.append(draft, actor=Actor(org=farm))
    assert (again.hash, again.seq, again.created) == (first.hash, first.seq, False)
    assert ledger.row_counts() == counts
    with pytest.raises(ChainConflictError) as refused:
        ledger.append({**draft, "data": {"step": "moved"}}, actor=Actor(org=farm))
    assert refused.value.field == "id"


def _valid_body(ledger, farm: str, batch: str) -> dict[str, Any]:
    with ledger.uow() as uow:
        head = uow.batch(batch).head
        key = uow.current_key(farm).id
    return {"v": 1, "type": "observe", "batch": batch, "org": farm, "key": key, "prev": head,
            "at": "2026-11-24T10:00:00+08:00", "id": str(uuid.uuid4()), "data": {"step": "inspected"}}


BAD_DRAFTS = {  # id: (change to a valid custodial draft, field the error must name)
    "a float quantity": ({"data": {"step": "weighed", "kg": 1.5}}, "data.kg"),
    "a missing data field": ({"data": None}, "data"),
    "an unknown type": ({"type": "teleport"}, "type"),
    "a wrong prev": ({"prev": "0" * 64}, "prev"),
    "an unknown field": ({"seq": 7}, "seq"),
    "another org": ({"org": "someone-else"}, "org"),
    "a time without offset": ({"at": "2026-11-24T10:00:00"}, "at"),
    "a step too long": ({"data": {"step": "x" * 65}}, "data.step"),
}


@pytest.mark.parametrize(("change", "field"), list(BAD_DRAFTS.values()), ids=list(BAD_DRAFTS))
def test_a_bad_event_is_refused_and_nothing_is_written(ledger, make_org, make_batch, change, field) -> None:
    farm = make_org()
    batch = make_batch(farm)
    draft = {"type": "observe", "batch": batch, "data": {"step": "inspected"}}
    draft.update(change)
    draft = {k: v for k, v in draft.items() if v is not None}
    before = ledger.row_counts()
    with pytest.raises((InvalidEventError, ChainConflictError, CustodyError)) as refused:
        ledger.append(draft, actor=Actor(org=farm))
    assert refused.value.field == field
    assert refused.value.message
    assert ledger.row_counts() == before


BAD_RAW = {
    "non-UTF-8 bytes": b'{"type": "observe", "data": {"step": "\xff\xfe"}}',
    "an oversize body": json.dumps({"type": "observe", "data": {"step": "x", "note": "y" * 70_000}}).encode(),
    "not JSON": b'{"type": "observe",',
    "not an object": b'["observe"]',
}


@pytest.mark.parametrize("raw", list(BAD_RAW.values()), ids=list(BAD_RAW))
def test_bad_bytes_are_refused_and_nothing_is_written(ledger, make_org, make_batch, raw) -> None:
    farm = make_org()
    make_batch(farm)
    before = ledger.row_counts()
    with pytest.raises(InvalidEventError) as refused:
        ledger.append(raw, actor=Actor(org=farm))
    assert refused.value.message
    assert ledger.row_counts() == before


def test_a_presigned_body_missing_prev_is_refused(ledger, make_org, make_batch) -> None:
    farm = make_org()
    batch = make_batch(farm)
    body = _valid_body(ledger, farm, batch)
    del body["prev"]
    before = ledger.row_counts()
    with pytest.raises(InvalidEventError) as refused:
        ledger.append_signed(body, "A" * 88, actor=Actor(org=farm))
    assert refused.value.field == "prev"
    assert ledger.row_counts() == before


def test_a_non_holder_cannot_append_and_an_unknown_batch_is_named(ledger, make_org, make_batch) -> None:
    farm, other = make_org(), make_org()
    batch = make_batch(farm)
    with pytest.raises(CustodyError):
        ledger.append({"type": "observe", "batch": batch, "data": {"step": "x"}}, actor=Actor(org=other))
    with pytest.raises(NotFoundError) as missing:
        ledger.append({"type": "observe", "batch": "nope", "data": {"step": "x"}}, actor=Actor(org=farm))
    assert missing.value.field == "batch"


def test_a_batch_appended_in_one_transaction_is_all_or_nothing(ledger, make_org, make_batch) -> None:
    farm = make_org()
    batch = make_batch(farm)
    drafts = [{"type": "observe", "batch": batch, "data": {"step": f"s{i}"}} for i in range(5)]
    stored = ledger.append_many(drafts, actor=Actor(org=farm))
    assert [s.seq for s in stored] == list(range(stored[0].seq, stored[0].seq + 5))
    before = ledger.row_counts()
    bad = drafts[:3] + [{"type": "observe", "batch": batch, "data": {"step": 1.5}}]
    with pytest.raises(InvalidEventError):
        ledger.append_many(bad, actor=Actor(org=farm))
    assert ledger.row_counts() == before


def test_a_correct_event_must_amend_an_event_of_the_same_batch(ledger, make_org, make_batch, record) -> None:
    farm = make_org()
    a, b = make_batch(farm), make_batch(farm)
    wrong = record(a, "weighed", kg="10")
    with pytest.raises(InvalidEventError) as refused:
        ledger.append({"type": "correct", "batch": b, "data": {"amends": wrong.hash, "reason": "typo"}},
                      actor=Actor(org=farm))
    assert refused.value.field == "data.amends"
    fixed = ledger.append({"type": "correct", "batch": a, "data": {"amends": wrong.hash, "reason": "typo",
                                                                    "kg": "11"}}, actor=Actor(org=farm))
    assert fixed.body.prev == wrong.hash

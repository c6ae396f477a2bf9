"""Group commit (core/groupcommit.py): appends queued together share a transaction, yet each caller
gets exactly its own result or its own error, and nothing of a refused append is written."""

import threading
import uuid

import pytest

from farmtrace.services.transaction import Actor
from farmtrace.ledger.errors import CustodyError, FarmtraceError
from farmtrace.services.verify import verify_log


def _observe(batch: str, i: int, event_id: str | None = None) -> dict:
    draft = {"type": "observe", "batch": batch, "data": {"step": "temperature_logged", "celsius": str(i)}}
    if event_id:
        draft["id"] = event_id
    return draft


def _in_one_group(ledger, calls):
    """Queue every call while the leader lock is held, then let one leader run them all as one group."""
    results: dict[int, object] = {}
    group = ledger._group
    if group is None:
        pytest.skip("group commit is SQLite only (PostgreSQL appends keep their own transactions)")
    threads = []
    with group._leader:
        for n, call in enumerate(calls):
            def run(n=n, call=call):
                try:
                    results[n] = call()
                except FarmtraceError as err:
                    results[n] = err
            thread = threading.Thread(target=run)
            thread.start()
            threads.append(thread)
        while len(group._queue) < len(calls):  # every caller has queued behind the held leader lock
            threading.Event().wait(0.001)
    for thread in threads:
        thread.join(timeout=30)
    return results


def test_a_refused_append_in_a_group_gets_its_own_error_and_the_rest_commit(ledger, make_org, make_batch) -> None:
    farm, other = make_org(), make_org()
    mine, theirs = make_batch(farm), make_batch(other)
    before = ledger.row_counts()
    calls = [lambda i=i: ledger.append(_observe(mine, i), actor=Actor(org=farm)) for i in range(5)]
    calls.insert(2, lambda: ledger.append(_observe(theirs, 99), actor=Actor(org=farm)))  # not the holder
    results = _in_one_group(ledger, calls)
    assert isinstance(results[2], CustodyError)
    stored = [results[n] for n in range(len(calls)) if n != 2]
    assert all(not isinstance(r, Exception) and r.created for r in stored)
    assert sorted(r.seq for r in stored) == list(range(before["events"], before["events"] + 5))
    assert ledger.row_counts()["events"] == before["events"] + 5
    with ledger.uow() as uow:
        assert len(uow.events_of_batch(theirs)) == 1  # nothing of the refused append
    assert verify_log(ledger.engine, log_origin=ledger.log_origin).ok


def test_a_retry_in_the_same_group_is_the_stored_event(ledger, make_org, make_batch) -> None:
    farm = make_org()
    batch = make_batch(farm)
    same = str(uuid.uuid4())
    draft = _observe(batch, 1, same)
    results = _in_one_group(ledger, [lambda: ledger.append(draft, actor=Actor(org=farm))] * 3)
    hashes = {r.hash for r in results.values()}
    assert len(hashes) == 1 and sorted(r.created for r in results.values()) == [False, False, True]


def test_many_threads_appending_at_once_all_commit_in_order(ledger, make_org, make_batch) -> None:
    farm = make_org()
    batches = [make_batch(farm) for _ in range(4)]
    errors: list[Exception] = []

    def worker(k: int) -> None:
        for i in range(20):
            try:
                ledger.append(_observe(batches[k % 4], i), actor=Actor(org=farm))
            except Exception as err:  # noqa: BLE001 - collected and asserted below
                errors.append(err)
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors
    with ledger.uow() as uow:
        assert sum(len(uow.events_of_batch(b)) for b in batches) == 4 + 8 * 20
    assert verify_log(ledger.engine, log_origin=ledger.log_origin).ok

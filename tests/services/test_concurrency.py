"""Many appenders on one batch at once: the chain never forks, the sequence never gaps."""

import multiprocessing
import threading
from collections import Counter

from farmtrace.services.transaction import Actor
from farmtrace.ledger.errors import ChainConflictError
from farmtrace.services.ledger import Ledger
from farmtrace.services.verify import verify_log
from farmtrace.storage.engine import make_engine

ROUNDS = 12


def _append_rounds(ledger: Ledger, batch: str, org: str, rounds: int, tally: Counter) -> None:
    for i in range(rounds):
        try:
            ledger.append({"type": "observe", "batch": batch, "data": {"step": "temperature_logged",
                                                                       "celsius": str(i)}}, actor=Actor(org=org))
            tally["committed"] += 1
        except ChainConflictError:
            tally["conflict"] += 1


def _assert_one_unbroken_chain(ledger: Ledger, batch: str, committed: int) -> None:
    with ledger.uow() as uow:
        events = uow.events_of_batch(batch)
        seqs = [r[0] for r in uow.execute("SELECT seq FROM events ORDER BY seq")]
    prevs = Counter(e.prev for e in events)
    assert max(prevs.values()) == 1, "two events share a parent: the chain forked"
    assert len(events) == committed + 1
    assert seqs == list(range(len(seqs))), "the global sequence has a gap"
    report = verify_log(ledger.engine, log_origin=ledger.log_origin)
    assert report.ok, report.failures[:3]


def test_sixteen_threads_appending_to_one_batch_never_fork_it(ledger, make_org, make_batch) -> None:
    farm = make_org()
    batch = make_batch(farm)
    tally: Counter = Counter()
    threads = [threading.Thread(target=_append_rounds, args=(ledger, batch, farm, ROUNDS, tally)) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert tally["committed"] + tally["conflict"] == 16 * ROUNDS
    assert tally["committed"] > 0
    _assert_one_unbroken_chain(ledger, batch, tally["committed"])


def _process_appender(url: str, secret: str, origin: str, batch: str, org: str, out: "multiprocessing.Queue") -> None:
    engine = make_engine(url)
    ledger = Ledger(engine, secret_key=secret, log_origin=origin)
    tally: Counter = Counter()
    threads = [threading.Thread(target=_append_rounds, args=(ledger, batch, org, ROUNDS, tally)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    engine.dispose()
    out.put(dict(tally))


def test_four_processes_appending_to_one_batch_never_fork_it(db, ledger, make_org, make_batch) -> None:
    farm = make_org()
    batch = make_batch(farm)
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    secret = ledger.secret_key
    procs = [ctx.Process(target=_process_appender, args=(db["url"], secret, ledger.log_origin, batch, farm, out))
             for _ in range(4)]
    for p in procs:
        p.start()
    tallies = [out.get(timeout=300) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    committed = sum(t.get("committed", 0) for t in tallies)
    conflicts = sum(t.get("conflict", 0) for t in tallies)
    assert committed + conflicts == 4 * 4 * ROUNDS
    _assert_one_unbroken_chain(ledger, batch, committed)

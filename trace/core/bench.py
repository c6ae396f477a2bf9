"""`farmtrace bench`: each rate beside a raw baseline measured in the same run, as a ratio.

The machines are shared and noisy, so absolute numbers mean little; the ratios are the figures.
- appends/s, one event per transaction   vs  raw SQLite commits/s (WAL, synchronous=FULL)
- appends/s, 100 events per transaction  vs  raw rfc8785 canonicalisations/s of the same bodies
- verified events/s (both cores)         vs  raw Ed25519 verifies/s in two processes
- peak memory while verifying (it streams; the figure should not grow with the log)
All databases live in one temporary folder on the instance's disk.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import resource
import sqlite3
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from farmtrace.storage.engine import make_engine
from farmtrace.storage.migrate import upgrade

from .append import Actor
from .ledger import Ledger
from .verify import verify_log

Echo = Callable[[str], None]


def _draft(batch: str, i: int) -> dict[str, Any]:
    return {"type": "observe", "batch": batch,
            "data": {"step": "temperature_logged", "celsius": f"{i % 7}.{i % 10}", "device": f"probe-{i % 13}",
                     "place": "巴州区 冷库 2号", "reading": str(i)}}


def _rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def raw_commit_rate(folder: Path, n: int = 300) -> float:
    """SQLite commits/s of one small row per transaction, WAL + synchronous=FULL."""
    conn = sqlite3.connect(folder / "raw.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)")
    body = json.dumps(_draft("b", 1), ensure_ascii=False)
    start = time.perf_counter()
    for _ in range(n):
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO t (body) VALUES (?)", (body,))
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return _rate(n, elapsed)


def raw_canonical_rate(n: int = 5000) -> float:
    bodies = [{"v": 1, "org": "org-1", "key": "0123456789abcdef", "id": "9b2f0c1e-8a8c-4c43-9a3e-4b1f3f2d9c10",
               "at": "2026-11-24T10:00:00+08:00", "prev": "ab" * 32, **_draft("b1", i)} for i in range(n)]
    start = time.perf_counter()
    for body in bodies:
        rfc8785.dumps(body)
    return _rate(n, time.perf_counter() - start)


def _verify_many(count: int) -> int:
    key = Ed25519PrivateKey.generate()
    pub = key.public_key()
    msg = b"farmtrace/event/v1\n" + os.urandom(32)
    sig = key.sign(msg)
    for _ in range(count):
        pub.verify(sig, msg)
    return count


def raw_verify_rate(processes: int = 2, n: int = 20000) -> float:
    """Ed25519 verifies/s with `processes` processes working at once."""
    with ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn")) as pool:
        list(pool.map(_verify_many, [10] * processes))  # warm the workers
        start = time.perf_counter()
        done = sum(pool.map(_verify_many, [n // processes] * processes))
        return _rate(done, time.perf_counter() - start)


def _fresh_ledger(folder: Path, name: str) -> Ledger:
    url = f"sqlite:///{folder / name}"
    upgrade(url)
    ledger = Ledger(make_engine(url), secret_key="bench-secret", log_origin="bench.farmtrace/log")
    ledger.init()
    ledger.create_org("bench-farm", "基准测试 农场", family="produce")
    ledger.append({"type": "create", "batch": "bench-b0",
                   "data": {"product": "富硒大米", "lot": "B0", "family": "produce", "quantity": "1", "unit": "KGM"}},
                  actor=Actor(org="bench-farm"))
    return ledger


def grow(ledger: Ledger, events: int, echo: Echo | None = None) -> None:
    """Append events in transactions of 500 until the log holds at least `events`."""
    actor = Actor(org="bench-farm")
    with ledger.uow() as uow:
        have = uow.log_size()
    batch_no = 0
    while have < events:
        batch_no += 1
        batch = f"bench-g{batch_no}"
        ledger.append({"type": "create", "batch": batch, "data": {"product": "富硒大米", "lot": f"G{batch_no}",
                                                                   "family": "produce", "quantity": "1",
                                                                   "unit": "KGM"}}, actor=actor)
        n = min(499, events - have - 1)
        if n > 0:
            ledger.append_many([_draft(batch, i) for i in range(n)], actor=actor)
        have += n + 1
        if echo and batch_no % 200 == 0:
            echo(f"  … {have:,} events")


def run_bench(*, events: int = 20_000, echo: Echo = print, folder: Path | None = None) -> dict[str, Any]:
    """Run every measurement once and print figures with their ratios; return them as a dict."""
    tmp = tempfile.TemporaryDirectory(prefix="farmtrace-bench-", dir=folder)
    where = Path(tmp.name)
    figures: dict[str, Any] = {"cpus": os.cpu_count()}
    try:
        echo(f"farmtrace bench (folder {where})")
        commit = raw_commit_rate(where)
        ledger = _fresh_ledger(where, "single.db")
        actor = Actor(org="bench-farm")
        n = 300
        start = time.perf_counter()
        for i in range(n):
            ledger.append(_draft("bench-b0", i), actor=actor)
        single = _rate(n, time.perf_counter() - start)
        figures["append_single"] = {"rate": single, "baseline_sqlite_commits": commit, "ratio": single / commit}
        echo(f"append, 1 event/tx:    {single:9.0f}/s   raw SQLite FULL commits {commit:9.0f}/s   "
             f"ratio {single / commit:.2f} (target ≥ 0.5)")

        canon = raw_canonical_rate()
        batches = 20
        start = time.perf_counter()
        for _ in range(batches):
            ledger.append_many([_draft("bench-b0", i) for i in range(100)], actor=actor)
        batched = _rate(batches * 100, time.perf_counter() - start)
        figures["append_batch100"] = {"rate": batched, "baseline_rfc8785": canon, "ratio": batched / canon}
        echo(f"append, 100 events/tx: {batched:9.0f}/s   raw rfc8785 canonical   {canon:9.0f}/s   "
             f"ratio {batched / canon:.2f} (target ≥ 0.5)")
        ledger.engine.dispose()

        big = _fresh_ledger(where, "verify.db")
        grow(big, events, echo)
        raw2 = raw_verify_rate(2)
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        start = time.perf_counter()
        report = verify_log(big.engine, log_origin=big.log_origin, workers=2)
        elapsed = time.perf_counter() - start
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        verified = _rate(report.events, elapsed)
        figures["verify"] = {"events": report.events, "ok": report.ok, "rate": verified,
                             "baseline_ed25519_2proc": raw2, "ratio": verified / raw2,
                             "peak_rss_kib_before": rss_before, "peak_rss_kib_after": rss_after}
        echo(f"verify, 2 processes:   {verified:9.0f}/s   raw Ed25519 verify x2   {raw2:9.0f}/s   "
             f"ratio {verified / raw2:.2f} (target ≥ 0.7); {report.events:,} events, ok={report.ok}")
        echo(f"peak RSS of this process: {rss_before / 1024:.0f} MiB before verify, {rss_after / 1024:.0f} MiB after")
        big.engine.dispose()
    finally:
        tmp.cleanup()
    return figures

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

from farmtrace.services.transaction import Actor
from farmtrace.services.ledger import Ledger
from farmtrace.services.verify import verify_log
from farmtrace.bench.desk import bench_desk
from farmtrace.bench.exports import bench_exports
from farmtrace.bench.footprint import bench_footprint

Echo = Callable[[str], None]


def _draft(batch: str, i: int) -> dict[str, Any]:
    return {"type": "observe", "batch": batch,
            "data": {"step": "temperature_logged", "celsius": f"{i % 7}.{i % 10}", "device": f"probe-{i % 13}",
                     "place": "巴州区 冷库 2号", "reading": str(i)}}


def _rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def raw_commits(conn: sqlite3.Connection, n: int) -> float:
    """Seconds for `n` transactions of one small row each (WAL + synchronous=FULL)."""
    body = json.dumps(_draft("b", 1), ensure_ascii=False)
    start = time.perf_counter()
    for _ in range(n):
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO t (body) VALUES (?)", (body,))
        conn.execute("COMMIT")
    return time.perf_counter() - start


def raw_commit_connection(folder: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(folder / "raw.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)")
    return conn


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


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return ordered[len(ordered) // 2], ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


def bench_log(ledger: Ledger, folder: Path, echo: Echo, samples: int = 300) -> dict[str, Any]:
    """Inclusion proofs (in-process and over HTTP), checkpoint time, and the log's share of an append."""
    import http.client
    import random
    import threading

    from werkzeug.serving import WSGIRequestHandler, make_server

    class QuietHandler(WSGIRequestHandler):
        def log_request(self, *args: Any, **kwargs: Any) -> None:
            pass

    from farmtrace.web import create_app

    from farmtrace.ledger import merkle
    from farmtrace.services.log import inclusion_proof, make_checkpoint

    rng = random.Random(1)
    with ledger.uow() as uow:
        size = uow.log_size()
        picks = [str(r[0]) for r in uow.execute(
            "SELECT hash FROM events WHERE seq IN (" + ",".join(str(rng.randrange(size)) for _ in range(samples)) + ")")]
    cp_times = []
    for i in range(5):
        ledger.append(_draft("bench-b0", i), actor=Actor(org="bench-farm"))
        start = time.perf_counter()
        make_checkpoint(ledger, force=True)
        cp_times.append(time.perf_counter() - start)
    size += 5
    in_process = []
    for h in picks:
        start = time.perf_counter()
        proof = inclusion_proof(ledger, h, size)
        in_process.append(time.perf_counter() - start)
    sha = hashlib_rate()
    app = create_app({"database_url": ledger.engine.url.render_as_string(hide_password=False),
                      "instance": str(folder / "instance"), "secret_key": "bench-secret",
                      "log_origin": ledger.log_origin})
    server = make_server("127.0.0.1", 0, app, threaded=False, request_handler=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    over_http: list[float] = []
    trivial: list[float] = []
    try:
        conn = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=30)
        for h in picks:
            for url, bucket in ((f"/api/v1/log/inclusion?hash={h}&size={size}", over_http),
                                ("/static/site.css", trivial)):
                start = time.perf_counter()
                conn.request("GET", url)
                response = conn.getresponse()
                response.read()
                bucket.append(time.perf_counter() - start)
                if response.status != 200:
                    raise RuntimeError(f"{url}: HTTP {response.status}")
        conn.close()
    finally:
        server.shutdown()
        app.extensions["ledger"].engine.dispose()
    # the log's part of an append: leaf hash, frontier update and node rows, against a whole append
    bodies = [json.dumps(_draft("b", i)).encode() for i in range(2000)]
    compact = merkle.CompactRange()
    start = time.perf_counter()
    nodes = [node for body in bodies for node in compact.append(merkle.leaf_hash(body))]
    conn2 = sqlite3.connect(folder / "nodes.db", isolation_level=None)
    conn2.execute("CREATE TABLE n (level INTEGER, idx INTEGER, hash BLOB, PRIMARY KEY (level, idx))")
    conn2.execute("BEGIN")
    conn2.executemany("INSERT INTO n VALUES (?, ?, ?)", nodes)
    conn2.execute("COMMIT")
    log_part = (time.perf_counter() - start) / len(bodies)
    conn2.close()
    start = time.perf_counter()
    ledger.append_many([_draft("bench-b0", i) for i in range(500)], actor=Actor(org="bench-farm"))
    whole = (time.perf_counter() - start) / 500
    p50, p95 = _percentiles(in_process)
    h50, h95 = _percentiles(over_http)
    t50, t95 = _percentiles(trivial)
    c50, c95 = _percentiles(cp_times)
    echo(f"inclusion proof at {size:,} leaves, in-process: p50 {p50 * 1e3:.2f} ms, p95 {p95 * 1e3:.2f} ms "
         f"(target p95 < 5 ms; = {p95 * sha:.0f}× one raw SHA-256)")
    echo(f"inclusion proof over HTTP (1 worker):       p50 {h50 * 1e3:.2f} ms, p95 {h95 * 1e3:.2f} ms "
         f"(target p95 < 20 ms; static file over the same server p95 {t95 * 1e3:.2f} ms)")
    echo(f"checkpoint at {size:,} leaves: p50 {c50 * 1e3:.2f} ms, max {max(cp_times) * 1e3:.2f} ms (O(log n): "
         f"reads the stored frontier)")
    echo(f"log part of an append: {log_part * 1e6:.1f} µs of {whole * 1e6:.1f} µs "
         f"= {log_part / whole:.1%} (target < 10%)")
    return {"size": size, "inclusion_ms": {"p50": p50 * 1e3, "p95": p95 * 1e3},
            "inclusion_http_ms": {"p50": h50 * 1e3, "p95": h95 * 1e3, "static_p95": t95 * 1e3},
            "checkpoint_ms": {"p50": c50 * 1e3, "max": max(cp_times) * 1e3},
            "log_part_of_append": log_part / whole}


def hashlib_rate(n: int = 200_000) -> float:
    """Raw SHA-256 over 64-byte inputs per second."""
    import hashlib
    data = b"\x01" * 64
    start = time.perf_counter()
    for _ in range(n):
        hashlib.sha256(data).digest()
    return n / (time.perf_counter() - start)


def _bench_batch(ledger: Ledger) -> None:
    """The org and batch the timing appends go to (made once)."""
    with ledger.uow() as uow:
        if uow.org("bench-farm") is not None:
            return
    ledger.create_org("bench-farm", "基准测试 农场", family="produce")
    ledger.append({"type": "create", "batch": "bench-b0",
                   "data": {"product": "富硒大米", "lot": "B0", "family": "produce", "quantity": "1", "unit": "KGM"}},
                  actor=Actor(org="bench-farm"))


def bench_trace(ledger: Ledger, echo: Echo, samples: int = 200) -> dict[str, Any]:
    """Backward and forward traces from random retail lots (one recursive query each), p50/p95."""
    import random

    from farmtrace.services.lineage import trace
    rng = random.Random(7)
    with ledger.uow() as uow:
        retail = [str(r[0]) for r in uow.execute(
            "SELECT b.id FROM batches b JOIN orgs o ON o.id = b.org_id WHERE o.kind = 'retailer'")]
        roots = [str(r[0]) for r in uow.execute(
            "SELECT b.id FROM batches b WHERE NOT EXISTS (SELECT 1 FROM lineage l WHERE l.child = b.id) "
            "AND EXISTS (SELECT 1 FROM lineage l WHERE l.parent = b.id)")]
    out: dict[str, Any] = {"retail_lots": len(retail)}
    for direction, pool in (("backward", retail), ("forward", roots)):
        picks = [rng.choice(pool) for _ in range(samples)] if pool else []
        times, sizes = [], []
        for batch in picks:
            start = time.perf_counter()
            graph = trace(ledger, batch, direction)
            times.append(time.perf_counter() - start)
            sizes.append(len(graph.batches))
        if times:
            p50, p95 = _percentiles(times)
            out[direction] = {"p50_ms": p50 * 1e3, "p95_ms": p95 * 1e3, "mean_batches": sum(sizes) / len(sizes)}
            echo(f"trace {direction:8} from {'retail lots' if direction == 'backward' else 'origin lots'}: "
                 f"p50 {p50 * 1e3:.2f} ms, p95 {p95 * 1e3:.2f} ms over {len(times)} lots "
                 f"({sum(sizes) / len(sizes):.1f} batches each; target p95 < 50 ms, IBM Food Trust: 2.2 s)")
    return out


def run_bench(*, events: int = 20_000, echo: Echo = print, folder: Path | None = None,
              database_url: str | None = None, appends: bool = True) -> dict[str, Any]:
    """Run every measurement once and print figures with their ratios; return them as a dict."""
    tmp = tempfile.TemporaryDirectory(prefix="farmtrace-bench-", dir=folder)
    where = Path(tmp.name)
    figures: dict[str, Any] = {"cpus": os.cpu_count()}
    try:
        echo(f"farmtrace bench (folder {where}{', database ' + database_url.split('@')[-1] if database_url else ''})")
        if appends:
            _bench_appends(where, figures, echo)
            figures["http"] = bench_http(where, echo)
        figures.update(_bench_big(where, events, echo, database_url))
    finally:
        tmp.cleanup()
    return figures


def _bench_appends(where: Path, figures: dict[str, Any], echo: Echo) -> None:
    raw = raw_commit_connection(where)
    ledger = _fresh_ledger(where, "single.db")
    actor = Actor(org="bench-farm")
    rounds, n = 5, 200  # interleaved, so drift in the machine's load hits both alike
    raw_seconds = ours_seconds = 0.0
    for r in range(rounds):
        raw_seconds += raw_commits(raw, n)
        start = time.perf_counter()
        for i in range(n):
            ledger.append(_draft("bench-b0", r * n + i), actor=actor)
        ours_seconds += time.perf_counter() - start
    raw.close()
    commit = _rate(rounds * n, raw_seconds)
    single = _rate(rounds * n, ours_seconds)
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


def _bench_big(where: Path, events: int, echo: Echo, database_url: str | None) -> dict[str, Any]:
    """Grow a realistic log (demo --scale), then time verification, proofs and traces on it."""
    from farmtrace.demo import grow as grow_demo
    figures: dict[str, Any] = {}
    url = database_url or f"sqlite:///{where / 'verify.db'}"
    upgrade(url)
    big = Ledger(make_engine(url), secret_key="bench-secret", log_origin="bench.farmtrace/log",
                 checkpoint_interval=30.0)
    big.init()
    start = time.perf_counter()
    with big.uow() as uow:
        before = uow.log_size()
    size = grow_demo(big, events, seed=1, progress=lambda n: echo(f"  … {n:,} events"))
    demo_rate = _rate(size - before, time.perf_counter() - start)
    figures["demo"] = {"events": size, "rate": demo_rate, "minutes_per_million": 1e6 / demo_rate / 60}
    echo(f"demo --scale: {demo_rate:9.0f} events/s  (10^6 events in {1e6 / demo_rate / 60:.1f} min; "
         f"target < 10 min)")
    _bench_batch(big)
    figures["trace"] = bench_trace(big, echo)
    figures["desk"] = bench_desk(big, echo)  # trace + SVG and the mock recall (trace/bench/desk.py)
    figures["exports"] = bench_exports(big, echo)  # EPCIS and FSMA 204 rates (trace/bench/exports.py)
    figures["footprint"] = bench_footprint(big, echo)  # beside the plain trace (trace/bench/footprint.py)
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
    figures["log"] = bench_log(big, where, echo)
    big.engine.dispose()
    figures["pages"] = bench_pages(url, where, echo)
    figures["batch_page"] = bench_batch_page(url, where, echo)
    return figures


def _http_request(method: str, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    """One HTTP/1.1 request with a body, as bytes (keep-alive)."""
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}",
             *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def _read_response(reader: Any) -> int:
    """Read one HTTP/1.1 response with a Content-Length from `reader`; return its status."""
    status = int(reader.readline().split(b" ", 2)[1])
    length = 0
    while True:
        line = reader.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    reader.read(length)
    return status


def bench_http(folder: Path, echo: Echo, singles: int = 2000, batches: int = 20) -> dict[str, Any]:
    """Appends through the JSON API against gunicorn on 127.0.0.1 as scripts/serve runs it (2 workers ×
    8 threads: in each process concurrent appends share commits, and the two queue on the writer
    flock), with 16 kept-alive clients on their own batches (tablets syncing), beside the in-process
    rate measured in the same run."""
    import socket

    from farmtrace.services.tokens import create_token

    url = f"sqlite:///{folder / 'http.db'}"
    upgrade(url)
    ledger = Ledger(make_engine(url), secret_key="bench-secret", log_origin="bench.farmtrace/log")
    ledger.init()
    _bench_batch(ledger)
    ledger.create_user("bench-farm", "bench-user", "bench-password-1", role="producer")
    clients = 16
    # one token per client, as each tablet has its own (appends are capped per token per minute)
    tokens = [create_token(ledger, "bench-user").token for _ in range(clients)]
    actor = Actor(org="bench-farm")
    start = time.perf_counter()
    for i in range(singles):
        ledger.append(_draft("bench-b0", i), actor=actor)
    in_single = _rate(singles, time.perf_counter() - start)
    start = time.perf_counter()
    for _ in range(batches):
        ledger.append_many([_draft("bench-b0", i) for i in range(100)], actor=actor)
    in_batch = _rate(batches * 100, time.perf_counter() - start)
    ledger.engine.dispose()
    env = {**os.environ, "FARMTRACE_DATABASE_URL": url, "FARMTRACE_INSTANCE": str(folder / "http-instance"),
           "FARMTRACE_SECRET_KEY": "bench-secret", "FARMTRACE_LOG_ORIGIN": "bench.farmtrace/log"}
    server, port = _gunicorn("farmtrace.web:create_app()", env, workers=2, threads=8)
    headers = [{"Authorization": f"Bearer {token}", "Content-Type": "application/json"} for token in tokens]

    def load(path: str, bodies: list[Any]) -> tuple[float, list[int]]:
        """Send `bodies` from `clients` threads, each on one kept-alive connection; return (seconds, statuses).

        Like wrk, the client writes prebuilt request bytes and reads just the status line, headers and
        Content-Length body, so that on 2 shared cores the load generator takes as little CPU from the
        server as it can (http.client costs about as much per request as the append itself).
        """
        import threading
        statuses: list[int] = []
        lock = threading.Lock()
        requests = [_http_request("POST", path, json.dumps(b, ensure_ascii=False).encode(), headers[i % clients])
                    for i, b in enumerate(bodies)]

        def client(part: list[bytes]) -> None:
            sock = socket.create_connection(("127.0.0.1", port), timeout=60)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            reader = sock.makefile("rb")
            mine = []
            for raw in part:
                sock.sendall(raw)
                mine.append(_read_response(reader))
            reader.close()
            sock.close()
            with lock:
                statuses.extend(mine)
        threads = [threading.Thread(target=client, args=(requests[k::clients],)) for k in range(clients)]
        start = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return time.perf_counter() - start, statuses
    try:
        # each client appends to its own batch, as separate producers would
        for k in range(clients):
            post_body = {"type": "create", "batch": f"bench-h{k}", "data": {"product": "富硒大米", "lot": f"H{k}",
                                                                            "family": "produce", "quantity": "1",
                                                                            "unit": "KGM"}}
            load("/api/v1/events", [post_body])
        singles_bodies = [_draft(f"bench-h{i % clients}", i) for i in range(singles)]
        seconds, statuses = load("/api/v1/events", singles_bodies)
        http_single = _rate(singles, seconds)
        batch_bodies = [{"items": [_draft(f"bench-h{b % clients}", i) for i in range(100)]} for b in range(batches)]
        seconds, more = load("/api/v1/events/batch", batch_bodies)
        statuses += more
        http_batch = _rate(batches * 100, seconds)
    finally:
        server.terminate()
        server.wait(timeout=30)
    bad = sum(1 for code in statuses if code >= 300)
    echo(f"HTTP append, 1 event/request:   {http_single:8.0f}/s   in-process {in_single:8.0f}/s   "
         f"ratio {http_single / in_single:.2f} (target ≥ 0.5); {bad} non-2xx")
    echo(f"HTTP append, 100 events/request: {http_batch:8.0f}/s   in-process {in_batch:8.0f}/s   "
         f"ratio {http_batch / in_batch:.2f} (target ≥ 0.5)")
    return {"single": {"rate": http_single, "in_process": in_single, "ratio": http_single / in_single},
            "batch": {"rate": http_batch, "in_process": in_batch, "ratio": http_batch / in_batch}, "non_2xx": bad}


TRIVIAL_APP = '''"""A trivial Flask route: the baseline for the consumer page benchmark (written by farmtrace bench)."""
from flask import Flask

app = Flask(__name__)


@app.get("/")
def index():
    return "<!doctype html><title>ok</title><p>Hello from a trivial Flask route.</p>"
'''


def _gunicorn(app_spec: str, env: dict[str, str], *, chdir: Path | None = None,
              workers: int = 2, threads: int = 8) -> tuple[Any, int]:
    """Start gunicorn (gthread) on a free 127.0.0.1 port and wait until it listens; return (process, port)."""
    import socket
    import subprocess
    import sys
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
               "--worker-class", "gthread", "--threads", str(threads), "--log-level", "warning",
               "--config", "python:farmtrace.web.serving"]  # as scripts/serve: the same request size limits
    if chdir is not None:
        command += ["--chdir", str(chdir)]
    server = subprocess.Popen([*command, app_spec], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):  # wait until it listens (up to ~30 s)
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn for {app_spec} exited with {server.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.1)
    else:
        server.terminate()
        raise RuntimeError(f"gunicorn for {app_spec} did not listen on port {port}")
    return server, port


def _drive_gets(port: int, paths: list[str], clients: int) -> dict[str, Any]:
    """GET `paths` from `clients` threads, each on its own kept-alive connection (no If-None-Match, so
    every request renders). Returns wall seconds, per-request latencies (s), Server-Timing render
    durations (ms, when present) and the count of non-200 answers."""
    import http.client
    import socket
    import threading
    latencies: list[float] = []
    renders: list[float] = []
    bad = [0]
    lock = threading.Lock()
    headers = {"Accept-Language": "en"}

    def client(part: list[str]) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn.connect()
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        mine: list[float] = []
        mine_render: list[float] = []
        mine_bad = 0
        for path in part:
            start = time.perf_counter()
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
            mine.append(time.perf_counter() - start)
            if response.status != 200:
                mine_bad += 1
            timing = response.getheader("Server-Timing") or ""
            if "dur=" in timing:
                try:
                    mine_render.append(float(timing.split("dur=", 1)[1].split(",")[0].split(";")[0]))
                except ValueError:
                    pass
        conn.close()
        with lock:
            latencies.extend(mine)
            renders.extend(mine_render)
            bad[0] += mine_bad
    threads = [threading.Thread(target=client, args=(paths[k::clients],)) for k in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"seconds": time.perf_counter() - start, "latencies": latencies, "renders": renders, "bad": bad[0]}


def bench_pages(ledger_url: str, folder: Path, echo: Echo, clients: int = 16, requests: int = 2000,
                lots: int = 200, cold: int = 400, seed: int = 7) -> dict[str, Any]:
    """Consumer lot pages (`/01/{gtin}/10/{lot}`, no If-None-Match) against gunicorn on 127.0.0.1
    (2 workers × 8 gthreads, `clients` kept-alive client threads), beside a trivial Flask route served
    the same way with the same clients and request count in the same run.

    Two phases: *repeat scans* (`requests` GETs over `lots` lot pages that each worker has served
    before: a shop's shelf, the page cache warm) and *first scans* (`cold` GETs of lots never asked
    for: each page verified and rendered from the database).
    """
    import random
    from urllib.parse import quote

    from sqlalchemy import text

    engine = make_engine(ledger_url)
    try:
        with engine.connect() as conn:
            rows = [(r[0], r[1]) for r in conn.execute(text("SELECT gtin, lot FROM gtin_lots ORDER BY gtin, lot"))]
    finally:
        engine.dispose()
    if not rows:
        echo("consumer page: no lots with a GTIN in this log; skipped")
        return {}
    rng = random.Random(seed)
    rng.shuffle(rows)

    def as_path(gtin: str, lot: str) -> str:
        return f"/01/{quote(gtin, safe='')}/10/{quote(lot, safe='')}"
    page_paths = [as_path(g, lot) for g, lot in rows[:lots]]
    cold_paths = [as_path(g, lot) for g, lot in rows[lots:lots + cold]]
    paths = [page_paths[rng.randrange(len(page_paths))] for _ in range(requests)]
    warmup = [p for _ in range(4) for p in rng.sample(page_paths, len(page_paths))]  # each lot on both workers
    env = {**os.environ, "FARMTRACE_DATABASE_URL": ledger_url, "FARMTRACE_INSTANCE": str(folder / "pages-instance"),
           "FARMTRACE_SECRET_KEY": "bench-secret", "FARMTRACE_LOG_ORIGIN": "bench.farmtrace/log"}

    server, port = _gunicorn("farmtrace.web:create_app()", env)
    try:
        _drive_gets(port, warmup, clients)
        pages = _drive_gets(port, paths, clients)
        first = _drive_gets(port, cold_paths, clients) if cold_paths else None
    finally:
        server.terminate()
        server.wait(timeout=30)

    (folder / "trivial_app.py").write_text(TRIVIAL_APP, encoding="utf-8")
    server, port = _gunicorn("trivial_app:app", env, chdir=folder)
    try:
        _drive_gets(port, ["/"] * max(4 * clients, 100), clients)
        trivial = _drive_gets(port, ["/"] * requests, clients)
    finally:
        server.terminate()
        server.wait(timeout=30)

    p50, p95 = _percentiles(pages["latencies"])
    rate = _rate(requests, pages["seconds"])
    t50, t95 = _percentiles(trivial["latencies"])
    trivial_rate = _rate(requests, trivial["seconds"])
    out: dict[str, Any] = {
        "lots": len(page_paths), "lots_with_gtin": len(rows), "clients": clients, "requests": requests,
        "p50_ms": p50 * 1e3, "p95_ms": p95 * 1e3, "rate": rate, "non_200": pages["bad"],
        "baseline_trivial_flask": trivial_rate, "trivial_p50_ms": t50 * 1e3, "trivial_p95_ms": t95 * 1e3,
        "trivial_non_200": trivial["bad"], "ratio": rate / trivial_rate}
    render = ""
    if pages["renders"]:
        r50, r95 = _percentiles(pages["renders"])
        out["server_p50_ms"], out["server_p95_ms"] = r50, r95
        render = f"; Server-Timing app p50 {r50:.1f} ms, p95 {r95:.1f} ms"
    echo(f"consumer page, repeat scans: p50 {p50 * 1e3:.1f} ms, p95 {p95 * 1e3:.1f} ms, {rate:.0f} pages/s; "
         f"trivial Flask route: {trivial_rate:.0f}/s (p50 {t50 * 1e3:.1f} ms, p95 {t95 * 1e3:.1f} ms); "
         f"ratio {rate / trivial_rate:.2f} (targets p95 < 50 ms, ratio ≥ 0.3)")
    echo(f"  {requests} GETs of {len(page_paths)} random lot pages (of {len(rows):,} with a GTIN), {clients} kept-alive "
         f"clients, gunicorn 2 workers × 8 threads; {pages['bad']} non-200{render}")
    if first is not None:
        c50, c95 = _percentiles(first["latencies"])
        cold_rate = _rate(len(cold_paths), first["seconds"])
        out["first_scans"] = {"requests": len(cold_paths), "p50_ms": c50 * 1e3, "p95_ms": c95 * 1e3,
                              "rate": cold_rate, "ratio": cold_rate / trivial_rate, "non_200": first["bad"]}
        echo(f"consumer page, first scans (each lot never asked for before): p50 {c50 * 1e3:.1f} ms, "
             f"p95 {c95 * 1e3:.1f} ms, {cold_rate:.0f} pages/s, ratio {cold_rate / trivial_rate:.2f}; "
             f"{first['bad']} non-200")
    return out


def bench_batch_page(ledger_url: str, folder: Path, echo: Echo, steps: int = 5001, repeats: int = 50) -> dict[str, Any]:
    """The public page of one long chain (`/batches/bench-b0` grown to `steps` events), against gunicorn
    (1 worker, so every request meets the same page cache): the first visit verifies every signature
    and renders page 1; later visits are served from the cache by batch state, or answered 304.
    The cold visit is the baseline the warm ones are compared with."""
    import http.client

    ledger = Ledger(make_engine(ledger_url), secret_key="bench-secret", log_origin="bench.farmtrace/log",
                    checkpoint_interval=None)
    try:
        _bench_batch(ledger)
        with ledger.uow() as uow:
            have = uow.batch("bench-b0").event_count  # type: ignore[union-attr]
        for start in range(have, steps, 500):
            ledger.append_many([_draft("bench-b0", i) for i in range(start, min(steps, start + 500))],
                               actor=Actor(org="bench-farm"))
    finally:
        ledger.engine.dispose()
    env = {**os.environ, "FARMTRACE_DATABASE_URL": ledger_url, "FARMTRACE_INSTANCE": str(folder / "pages-instance"),
           "FARMTRACE_SECRET_KEY": "bench-secret", "FARMTRACE_LOG_ORIGIN": "bench.farmtrace/log"}
    server, port = _gunicorn("farmtrace.web:create_app()", env, workers=1, threads=2)

    def visit(path: str, headers: dict[str, str]) -> tuple[float, int, str]:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        started = time.perf_counter()
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        response.read()
        conn.close()
        return time.perf_counter() - started, response.status, response.getheader("ETag") or ""

    try:
        visit("/batches/no-such-batch", {})  # the worker's first request (imports, templates): not the page's cost
        cold, status, etag = visit("/batches/bench-b0", {})
        warm = [visit("/batches/bench-b0", {})[0] for _ in range(repeats)]
        revalidated = [visit("/batches/bench-b0", {"If-None-Match": etag}) for _ in range(repeats)]
        last_page = visit(f"/batches/bench-b0?page={-(-steps // 100)}", {})[0]  # the cached view, rendered anew
    finally:
        server.terminate()
        server.wait(timeout=30)
    w50, w95 = _percentiles(warm)
    r50, _ = _percentiles([t for t, _, _ in revalidated])
    out = {"steps": steps, "cold_ms": cold * 1e3, "warm_p50_ms": w50 * 1e3, "warm_p95_ms": w95 * 1e3,
           "not_modified_p50_ms": r50 * 1e3, "other_page_ms": last_page * 1e3, "ratio": cold / w50,
           "ok": status == 200 and all(code == 304 for _, code, _ in revalidated)}
    echo(f"batch page, {steps:,}-event chain: cold {cold * 1e3:.0f} ms (verify every signature, render page 1); "
         f"warm p50 {w50 * 1e3:.1f} ms, p95 {w95 * 1e3:.1f} ms; 304 p50 {r50 * 1e3:.1f} ms; last page "
         f"{last_page * 1e3:.1f} ms; cold/warm {cold / w50:.0f}x (gunicorn 1 worker, {repeats} visits each)")
    return out

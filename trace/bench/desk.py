"""`farmtrace bench`, the regulator's desk: trace + SVG render for a lot with many ancestors and for one with
many descendants, and the mock recall of the latter, each beside the bare recursive lineage query on the
same lot in the same run (the ratio is the figure; the machines are shared and noisy).

The two lots are written into the run's big log (`farmtrace bench --events 1000000` for 10^6 events):
`fan` farm lots milled into one (fan-in), and one lot milled into `fan` retail lots (fan-out). Targets
(issue "The regulator's desk"): p95 < 500 ms for the drawn graph, p95 < 100 ms for the drill.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from farmtrace.services.desk import mock_recall
from farmtrace.services.graph import render_svg, trace_graph
from farmtrace.services.ledger import Ledger
from farmtrace.services.lineage import transform
from farmtrace.services.transaction import Actor

Echo = Callable[[str], None]
ORG = "bench-desk-mill"
WIDTH = 100  # inputs (and outputs) per transformation: the declarations allow 1-100


def _p(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def _lots(ledger: Ledger, fan: int) -> tuple[str, str]:
    """Write the fan-in and fan-out lots (once per ledger); return (many ancestors, many descendants).

    A transformation takes at most WIDTH inputs, so each fan has two levels: `fan` farm lots milled in
    groups into ceil(fan / WIDTH) lots, milled into one; and one lot split the same way into `fan` lots."""
    actor = Actor(org=ORG)
    with ledger.uow() as uow:
        if uow.org(ORG) is not None:
            return "desk-fanin", "desk-src"
    ledger.create_org(ORG, "基准测试 米厂", kind="processor", family="produce")
    groups = [list(range(g, min(fan, g + WIDTH))) for g in range(0, fan, WIDTH)]
    drafts = [_create(f"desk-in-{i}", f"DI-{i}", 10) for i in range(fan)] + [_create("desk-src", "DS-0", 10 * fan)]
    for first in range(0, len(drafts), 500):  # the append API's limit per call
        ledger.append_many(drafts[first:first + 500], actor=actor)
    for g, members in enumerate(groups):
        transform(ledger, [{"batch": f"desk-in-{i}", "quantity": "10"} for i in members],
                  [_output(f"desk-mid-in-{g}", f"DMI-{g}", 10 * len(members))], actor=actor, process="milling")
    transform(ledger, [{"batch": f"desk-mid-in-{g}", "quantity": str(10 * len(m))} for g, m in enumerate(groups)],
              [_output("desk-fanin", "DF-IN", 10 * fan)], actor=actor, process="milling")
    transform(ledger, [{"batch": "desk-src", "quantity": str(10 * fan)}],
              [_output(f"desk-mid-out-{g}", f"DMO-{g}", 10 * len(m)) for g, m in enumerate(groups)],
              actor=actor, process="milling")
    for g, members in enumerate(groups):
        transform(ledger, [{"batch": f"desk-mid-out-{g}", "quantity": str(10 * len(members))}],
                  [_output(f"desk-out-{i}", f"DO-{i}", 10) for i in members], actor=actor, process="milling")
    return "desk-fanin", "desk-src"


def _create(batch: str, lot: str, kg: int) -> dict[str, Any]:
    return {"type": "create", "batch": batch,
            "data": {"product": "富硒稻谷", "lot": lot, "family": "produce", "quantity": str(kg), "unit": "KGM"}}


def _output(batch: str, lot: str, kg: int) -> dict[str, Any]:
    return {"batch": batch, "product": "富硒大米", "lot": lot, "family": "produce", "quantity": str(kg), "unit": "KGM"}


def bench_desk(ledger: Ledger, echo: Echo, *, fan: int = 1000, samples: int = 20) -> dict[str, Any]:
    """Time trace + SVG (both lots) and the mock recall (fan-out lot) against the bare recursive query."""
    many_up, many_down = _lots(ledger, fan)
    names = {ORG: "基准测试 米厂"}
    regulator = Actor(org=ORG, user="bench")  # a drill flags nothing, so any org may time one here
    out: dict[str, Any] = {"fan": fan}

    def bare(batch: str, forward: bool) -> float:
        start = time.perf_counter()
        with ledger.uow() as uow:
            (uow.descendants if forward else uow.ancestors)([batch])
        return time.perf_counter() - start

    def drawn(batch: str) -> tuple[float, int]:
        start = time.perf_counter()
        graph = trace_graph(ledger, batch)
        svg = render_svg(graph, lang="zh", names=names, href=lambda b: f"/desk/batches/{b}/trace",
                         words={"title": "bench", "recalled": "已召回"})
        return time.perf_counter() - start, len(svg)

    cases = {"graph_many_ancestors": (many_up, False, drawn), "graph_many_descendants": (many_down, True, drawn),
             "mock_recall": (many_down, True, lambda b: (_drill(ledger, b, regulator), 0))}
    for name, (batch, forward, run) in cases.items():
        ours, base, size = [], [], 0
        for _ in range(samples):  # interleaved, so drift in the machine's load hits both alike
            base.append(bare(batch, forward))
            seconds, size = run(batch)
            ours.append(seconds)
        p50, p95, b50 = _p(ours, 0.5), _p(ours, 0.95), _p(base, 0.5)
        out[name] = {"p50_ms": p50 * 1e3, "p95_ms": p95 * 1e3, "baseline_recursive_query_p50_ms": b50 * 1e3,
                     "ratio": p50 / b50 if b50 else float("inf"), "svg_bytes": size}
        target = 100 if name == "mock_recall" else 500
        echo(f"desk {name:24} p50 {p50 * 1e3:7.1f} ms, p95 {p95 * 1e3:7.1f} ms   bare recursive query "
             f"{b50 * 1e3:6.2f} ms   ratio {p50 / b50 if b50 else 0:.1f}× ({fan} lots; target p95 < {target} ms)")
    return out


def _drill(ledger: Ledger, batch: str, actor: Actor) -> float:
    start = time.perf_counter()
    mock_recall(ledger, batch, actor=actor)
    return time.perf_counter() - start

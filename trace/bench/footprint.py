"""`farmtrace bench`, the carbon footprint: a lot with `fan` (≥ 1,000) ancestors, each with activity data, its
footprint timed beside the plain trace of the same lot in the same run (the ratio is the figure; the machines
are shared and noisy). Target (issue 16): p95 < 100 ms at 10^6 events.

The lot is written into the run's big log: `fan` farm lots (fertiliser, diesel, shipped by road) milled in
groups of WIDTH into ceil(fan / WIDTH) lots (electricity), milled into one (electricity), split into two
outputs so the allocation runs too.
"""

from __future__ import annotations

import time
from decimal import Decimal
from collections.abc import Callable
from typing import Any

from farmtrace.services.footprint import footprint
from farmtrace.services.ledger import Ledger
from farmtrace.services.lineage import trace, transform
from farmtrace.services.transaction import Actor

Echo = Callable[[str], None]
ORG = "bench-carbon-mill"
WIDTH = 100  # inputs per transformation: the declarations allow 1-100
ROOT = "carbon-root"


def _p(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def _kwh(amount: int) -> list[dict[str, str]]:
    return [{"kind": "electricity", "amount": str(amount), "unit": "kWh"}]


def _lot(ledger: Ledger, fan: int) -> str:
    """Write the lot with `fan` + ceil(fan / WIDTH) + 1 ancestors (once per ledger); return its id."""
    actor = Actor(org=ORG)
    with ledger.uow() as uow:
        if uow.org(ORG) is not None:
            return ROOT
    ledger.create_org(ORG, "基准测试 碳足迹米厂", kind="processor", family="produce", county="511903")
    farm_activity = [{"kind": "fertiliser", "amount": "2", "unit": "kg", "nutrient": "N"},
                     {"kind": "fuel", "amount": "1.5", "unit": "L", "fuel": "diesel"},
                     {"kind": "transport", "amount": "0.4", "unit": "TKM", "mode": "road"}]
    drafts = [{"type": "create", "batch": f"carbon-in-{i}", "data": {
        "product": "富硒稻谷", "lot": f"CI-{i}", "family": "produce", "quantity": "10", "unit": "KGM",
        "activity": farm_activity}} for i in range(fan)]
    for first in range(0, len(drafts), 500):  # the append API's limit per call
        ledger.append_many(drafts[first:first + 500], actor=actor)
    groups = [list(range(g, min(fan, g + WIDTH))) for g in range(0, fan, WIDTH)]
    for g, members in enumerate(groups):
        transform(ledger, [{"batch": f"carbon-in-{i}", "quantity": "10"} for i in members],
                  [_output(f"carbon-mid-{g}", f"CM-{g}", 7 * len(members), activity=_kwh(len(members)))],
                  actor=actor, process="milling")
    made = sum(7 * len(m) for m in groups)
    transform(ledger, [{"batch": f"carbon-mid-{g}", "quantity": str(7 * len(m))} for g, m in enumerate(groups)],
              [_output(ROOT, "CR-0", made * 9 // 10, activity=_kwh(fan // 10)),
               _output("carbon-bran", "CB-0", made // 10)], actor=actor, process="polishing")
    return ROOT


def _output(batch: str, lot: str, kg: int, **more: Any) -> dict[str, Any]:
    return {"batch": batch, "product": "富硒大米", "lot": lot, "family": "produce", "quantity": str(kg),
            "unit": "KGM", **more}


def bench_footprint(ledger: Ledger, echo: Echo, *, fan: int = 1000, samples: int = 20) -> dict[str, Any]:
    """Time the footprint of a lot with ≥ `fan` ancestors against the plain backward trace of the same lot."""
    root = _lot(ledger, fan)
    ours, base = [], []
    total = ""
    for _ in range(samples):  # interleaved, so drift in the machine's load hits both alike
        start = time.perf_counter()
        trace(ledger, root, "backward")
        base.append(time.perf_counter() - start)
        start = time.perf_counter()
        fp = footprint(ledger, root)
        ours.append(time.perf_counter() - start)
        total = str(fp.total_kg.quantize(Decimal("0.001")))
    p50, p95, b50, b95 = _p(ours, 0.5), _p(ours, 0.95), _p(base, 0.5), _p(base, 0.95)
    out = {"ancestors": fan + -(-fan // WIDTH), "p50_ms": p50 * 1e3, "p95_ms": p95 * 1e3,
           "trace_p50_ms": b50 * 1e3, "trace_p95_ms": b95 * 1e3, "ratio": p50 / b50 if b50 else float("inf"),
           "total_kg": total}
    echo(f"footprint ({out['ancestors']} ancestors): p50 {p50 * 1e3:7.1f} ms, p95 {p95 * 1e3:7.1f} ms   plain trace "
         f"p50 {b50 * 1e3:6.1f} ms, p95 {b95 * 1e3:6.1f} ms   ratio {out['ratio']:.1f}× (target p95 < 100 ms)")
    return out

"""承诺达标合格证 (commitment certificate, domain.md §1.4), generated from a lot's signed events.

Nothing here is typed in: the producer, product, quantity, origin, date and test basis come from
the batch's events, so the certificate is as trustworthy as the log. A lot made by mixing or
repacking (a transformation) gets its own certificate, whose basis lists its inputs' lots.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from farmtrace.ledger.canonical import parse_json
from farmtrace.ledger.errors import NotFoundError
from farmtrace.services.ledger import Ledger

COMMITMENT = ("我承诺对生产销售的食用农产品：不使用禁用农药兽药、停用兽药和非法添加物；"
              "常规农药兽药残留不超标；对承诺的真实性负责。")
# Products for which a certificate is mandatory from 2026-02-01 (domain.md §1.4): words found in the product name.
MANDATORY_WORDS = ("茶鲜叶", "鲜叶", "蔬菜", "菌", "银耳", "水果", "猪", "畜", "禽", "蛋", "鱼", "芦笋", "马铃薯")


@dataclass(frozen=True)
class CommitmentCertificate:
    batch: str
    lot: str
    product: str
    quantity: str
    unit: str
    issuer: str
    issuer_org: str
    origin: str
    issued: str
    basis: str                       # 自检合格 | 委托检测合格 | 内部质量控制合格
    tests: list[dict[str, Any]] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)
    mandatory: bool = False
    commitment: str = COMMITMENT


def certificate_for(ledger: Ledger, batch_id: str) -> CommitmentCertificate:
    """Build the lot's certificate from its signed events."""
    with ledger.uow() as uow:
        batch = uow.batch(batch_id)
        if batch is None:
            raise NotFoundError(f"no batch {batch_id}", field="batch")
        bodies = [parse_json(text) for text in uow.bodies_of_batch(batch_id)]
        org = uow.org(batch.org_id)
        findings = {f.event_hash: f for f in uow.findings_of_batch(batch_id) if f.rule == "verdict"}
        events = {e.hash: e for e in uow.events_of_batch(batch_id)}
    first = bodies[0]["data"] if bodies else {}
    tests = []
    for ev_hash, row in events.items():
        if row.type == "test":
            data = parse_json(row.canonical)["data"]
            verdict = findings.get(ev_hash)
            tests.append({"analyte": data.get("analyte"), "value": data.get("value"), "unit": data.get("unit"),
                          "lab": row.org_id, "report_no": data.get("report_no"),
                          "verdict": verdict.severity if verdict else "info"})
    own_lab = any(t["lab"] == batch.org_id for t in tests)
    basis = ("自检合格" if own_lab else "委托检测合格") if tests else "内部质量控制合格"
    place = str(first.get("place") or (org.county if org and org.county else ""))
    return CommitmentCertificate(
        batch=batch.id, lot=batch.lot, product=batch.product, quantity=str(batch.quantity or first.get("quantity", "")),
        unit=str(batch.unit or first.get("unit", "")), issuer=org.name if org else batch.org_id, issuer_org=batch.org_id,
        origin=place, issued=str(bodies[-1]["at"])[:10] if bodies else "", basis=basis, tests=tests,
        inputs=[str(i["batch"]) for i in first.get("inputs", [])],
        mandatory=any(word in batch.product for word in MANDATORY_WORDS))

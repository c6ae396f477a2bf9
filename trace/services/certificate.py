"""承诺达标合格证 (commitment certificate, domain.md §1.4): issuing it as a signed event, and showing it.

Rules (farmtrace.rules.families.certificate holds the event type, its checks and the scope table):
1. A certificate is the lot's `certificate_issued` event, signed by the org that issued it: pages
   show what that event says (number, product, quantity and unit as issued, origin, date, the
   committing org and its contact as on the day, the basis), never a value recomputed later.
2. A lot with no such event has no certificate: `certificate_of` says so (`issued` is None).
3. A recall of the lot (or of a lot it was made from) shows on the certificate beside it.
4. `certificate_draft` proposes the form's values from the lot's own events: origin from the place
   of production its events name (walking back through its inputs when it has none), quantity and
   unit as held, the issuing org's contact, a basis from its tests. The producer may change them;
   the rules check them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from farmtrace.ledger.canonical import parse_json
from farmtrace.ledger.errors import NotFoundError, Said
from farmtrace.rules.declare import COUNTIES
from farmtrace.rules.families.certificate import BASES, COMMITMENT, issues_certificate, scope_of
from farmtrace.services.ledger import Ledger
from farmtrace.services.transaction import Actor, StoredEvent

__all__ = ["COMMITMENT", "Certificate", "CertificateView", "certificate_draft", "certificate_of", "issue_certificate"]

TOWN_ENDINGS = ("镇", "乡", "街道")


@dataclass(frozen=True)
class Certificate:
    """An issued certificate, as its `certificate_issued` event says."""

    number: str
    product: str
    quantity: str
    unit: str
    county: str           # GB/T 2260 code
    town: str
    issued: str           # YYYY-MM-DD, the event's date
    issuer: str           # the signing org's name
    issuer_org: str
    contact_name: str
    contact_phone: str
    basis: str            # a key of BASES
    reports: list[str]
    event: str            # the event's hash
    commitment: str = COMMITMENT

    @property
    def origin(self) -> str:
        """The place of production in words: county + town (e.g. 南江县 长赤镇)."""
        return f"{COUNTIES.get(self.county, (self.county, ''))[0]} {self.town}".strip()

    def basis_name(self, lang: str = "zh") -> str:
        words = BASES.get(self.basis)
        return self.basis if words is None else (words[1] if lang == "en" else words[0])


@dataclass(frozen=True)
class CertificateView:
    """A lot and its certificate, if one was issued, with any recall."""

    batch: str
    lot: str
    product: str
    family: str
    in_scope: bool                    # whether lots of its family carry one at all
    issued: Certificate | None
    recalled: bool = False
    recall_reason: str = ""
    recall_at: str = ""
    tests: list[dict[str, Any]] = field(default_factory=list)


def _certificate(row: Any, names: Mapping[str, str]) -> Certificate:
    body = parse_json(row.canonical)
    data = body["data"]
    return Certificate(
        number=str(data["certificate_no"]), product=str(data["product"]), quantity=str(data["quantity"]),
        unit=str(data["unit"]), county=str(data["county"]), town=str(data.get("town", "")), issued=str(body["at"])[:10],
        issuer=names.get(row.org_id, row.org_id), issuer_org=row.org_id,
        contact_name=str(data.get("contact_name", "")), contact_phone=str(data.get("contact_phone", "")),
        basis=str(data["basis"]), reports=[str(r) for r in data.get("reports", [])], event=row.hash)


def certificate_of(ledger: Ledger, batch_id: str) -> CertificateView:
    """The lot's issued certificate (None if none was issued) and its recall, if any.

    Raises:
        NotFoundError: no such batch.
    """
    with ledger.uow() as uow:
        batch = uow.batch(batch_id)
        if batch is None:
            raise NotFoundError(Said(f"no batch {batch_id[:64]}", f"批次 {batch_id[:64]} 不存在"), field="batch")
        rows = uow.events_of_batch(batch_id)
        names = {o.id: o.name for o in uow.orgs()}
        findings = {f.event_hash: f for f in uow.findings_of_batch(batch_id) if f.rule == "verdict"}
        recall_hash = uow.recall_of(batch_id)
        recall = uow.event_by_hash(recall_hash) if recall_hash else None
    issued = next((_certificate(r, names) for r in rows if r.type == "certificate_issued"), None)
    tests = []
    for row in rows:
        if row.type == "test":
            data = parse_json(row.canonical)["data"]
            verdict = findings.get(row.hash)
            tests.append({"analyte": data.get("analyte"), "value": data.get("value"), "unit": data.get("unit"),
                          "report_no": data.get("report_no"), "verdict": verdict.severity if verdict else "info"})
    reason = str(parse_json(recall.canonical)["data"].get("reason", "")) if recall is not None else ""
    return CertificateView(batch.id, batch.lot, batch.product, batch.family, issues_certificate(batch.family), issued,
                           recalled=recall_hash is not None, recall_reason=reason,
                           recall_at=recall.at[:10] if recall is not None else "", tests=tests)


def _origin(bodies: Sequence[Mapping[str, Any]]) -> tuple[str, str]:
    """(county code, town) of the place of production the events name, or ("", "")."""
    for body in bodies:
        data = body.get("data", {})
        place = data.get("place") if isinstance(data, Mapping) else None
        if not isinstance(place, str):
            continue
        for code, (zh, _en) in COUNTIES.items():
            if place.strip().startswith(zh):
                rest = place.strip()[len(zh):].split()
                town = next((w for w in rest if w.endswith(TOWN_ENDINGS)), "")
                return code, town
    for body in bodies:
        data = body.get("data", {})
        if isinstance(data, Mapping) and isinstance(data.get("county"), str):
            return str(data["county"]), ""
    return "", ""


def certificate_draft(ledger: Ledger, batch_id: str) -> dict[str, Any]:
    """The certificate form's proposed values for a lot (see rule 4); {} for an unknown lot."""
    with ledger.uow() as uow:
        batch = uow.batch(batch_id)
        if batch is None:
            return {}
        org = uow.org(batch.org_id)
        seen, queue, county, town = set(), [batch_id], "", ""
        while queue and not county:  # the lot's own events first, then the lots it was made from
            current = queue.pop(0)
            if current in seen:
                continue
            seen.add(current)
            bodies = [parse_json(t) for t in uow.bodies_of_batch(current)]
            county, town = _origin(bodies)
            for body in bodies[:1]:
                queue.extend(str(i["batch"]) for i in body.get("data", {}).get("inputs", []) if isinstance(i, dict))
        tests = [e for e in uow.events_of_batch(batch_id) if e.type == "test"]
    basis = ("own_test" if any(t.org_id == batch.org_id for t in tests) else "commissioned_test") if tests \
        else "quality_control"
    draft = {"product": batch.product, "quantity": batch.quantity, "unit": batch.unit, "county": county,
             "town": town, "contact_name": (org.contact_name or "") if org else "",
             "contact_phone": (org.contact_phone or "") if org else "", "basis": basis,
             "certificate_no": f"HGZ-{batch.lot}"}
    return {k: v for k, v in draft.items() if v not in (None, "")}


def issue_certificate(ledger: Ledger, batch_id: str, *, actor: Actor, **data: Any) -> StoredEvent:
    """Issue the lot's certificate: the draft's values, overridden by `data`, signed by `actor`'s org.

    Raises:
        NotFoundError: no such batch; InvalidEventError / RuleViolationError from the rules.
    """
    draft = certificate_draft(ledger, batch_id)
    if not draft:
        raise NotFoundError(Said(f"no batch {batch_id[:64]}", f"批次 {batch_id[:64]} 不存在"), field="batch")
    body = {**draft, **data}
    return ledger.append({"type": "certificate_issued", "batch": batch_id, "data": body}, actor=actor)


def scope_words(family: str, lang: str = "zh") -> str:
    """Why a family's lots do or do not carry a certificate, in words."""
    row = scope_of(family)
    return "" if row is None else (row.en if lang == "en" else row.zh)

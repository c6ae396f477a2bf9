"""What the producer's label sheets print beyond the lot itself: the 承诺达标合格证 label and the
state of a lot's under-cap codes (issue "The producer app"; the sheets: trace/web/producer/labels.py).

Rules:
1. A 合格证 label is printed for edible farm produce only: lots of the families in
   CERTIFICATE_FAMILIES (domain.md §1.4). Its content is `certificate.certificate_for`'s, unchanged,
   plus the committing org's contact (联系人, 联系电话) where the org has one.
2. Cap codes are never read here: their clear text exists only in what `cap_codes.issue_cap_codes`
   returns. `cap_code_state` counts a lot's serials and how many already have a code.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text

from farmtrace.ledger.errors import NotFoundError
from farmtrace.rules.gs1 import serial_ranges
from farmtrace.services.certificate import CommitmentCertificate, certificate_for
from farmtrace.services.ledger import Ledger

CERTIFICATE_FAMILIES = ("produce", "pork")
_COMMISSIONED = text("SELECT canonical FROM events WHERE batch_id = :b AND type = 'commissioned' ORDER BY seq")
_ISSUED = text("SELECT COUNT(*) FROM cap_codes WHERE batch_id = :b")


@dataclass(frozen=True)
class CertificateLabel:
    """A lot's 合格证 as the label prints it."""

    certificate: CommitmentCertificate
    contact_name: str
    contact_phone: str


@dataclass(frozen=True)
class CapCodeState:
    serials: int  # serials of the lot's `commissioned` ranges
    issued: int  # how many of them already have a code

    @property
    def remaining(self) -> int:
        return max(0, self.serials - self.issued)


def has_certificate(family: str | None) -> bool:
    """Whether lots of this family get a 承诺达标合格证 label."""
    return family in CERTIFICATE_FAMILIES


def certificate_label(ledger: Ledger, batch_id: str) -> CertificateLabel:
    """The lot's certificate with its issuer's contact.

    Raises:
        NotFoundError: no such batch, or its family gets no certificate.
    """
    with ledger.uow() as uow:
        batch = uow.batch(batch_id)
        if batch is None or not has_certificate(batch.family):
            raise NotFoundError(f"no certificate for batch {batch_id[:64]!r}: only edible farm produce "
                                f"({', '.join(CERTIFICATE_FAMILIES)}) gets one", field="batch")
        org = uow.org(batch.org_id)
        name = (org.contact_name or "") if org is not None else ""
        phone = (org.contact_phone or "") if org is not None else ""
    return CertificateLabel(certificate_for(ledger, batch_id), name, phone)


def cap_code_state(ledger: Ledger, batch_id: str) -> CapCodeState:
    """How many serials the lot has and how many already have a cap code (0, 0 for an unknown lot)."""
    with ledger.uow() as uow:
        ranges = serial_ranges(str(row[0]) for row in uow.connection.execute(_COMMISSIONED, {"b": batch_id}))
        issued = int(uow.connection.execute(_ISSUED, {"b": batch_id}).scalar() or 0)
    return CapCodeState(sum(last - first + 1 for _p, first, last, _w in ranges), issued)

"""What the producer's label sheets print beyond the lot itself: the 承诺达标合格证 label and the
state of a lot's under-cap codes (issue "The producer app"; the sheets: trace/web/producer/labels.py).

Rules:
1. A 合格证 label is printed for edible farm produce only: lots of the families the certificate's
   scope table admits (rules/families/certificate.py SCOPE; domain.md §1.4). It prints the lot's
   issued certificate (`certificate.certificate_of`), unchanged: its number, the committing org and
   the contact it gave when issuing. A lot with none issued prints nothing but says so.
2. Cap codes are never read here: their clear text exists only in what `cap_codes.issue_cap_codes`
   returns. `cap_code_state` counts a lot's serials and how many already have a code.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text

from farmtrace.ledger.errors import NotFoundError
from farmtrace.rules.gs1 import serial_ranges
from farmtrace.rules.families.certificate import SCOPE, issues_certificate
from farmtrace.services.certificate import CertificateView, certificate_of
from farmtrace.services.ledger import Ledger

CERTIFICATE_FAMILIES = tuple(dict.fromkeys(r.family for r in SCOPE if issues_certificate(r.family)))
_COMMISSIONED = text("SELECT canonical FROM events WHERE batch_id = :b AND type = 'commissioned' ORDER BY seq")
_ISSUED = text("SELECT COUNT(*) FROM cap_codes WHERE batch_id = :b")


@dataclass(frozen=True)
class CertificateLabel:
    """A lot's 合格证 as the label prints it (`certificate.issued` is None until one is issued)."""

    certificate: CertificateView


@dataclass(frozen=True)
class CapCodeState:
    serials: int  # serials of the lot's `commissioned` ranges
    issued: int  # how many of them already have a code

    @property
    def remaining(self) -> int:
        return max(0, self.serials - self.issued)


def has_certificate(family: str | None) -> bool:
    """Whether lots of this family get a 承诺达标合格证 label."""
    return issues_certificate(family)


def certificate_label(ledger: Ledger, batch_id: str) -> CertificateLabel:
    """The lot's issued certificate, for its label sheet.

    Raises:
        NotFoundError: no such batch, or its family gets no certificate.
    """
    with ledger.uow() as uow:
        batch = uow.batch(batch_id)
        if batch is None or not has_certificate(batch.family):
            raise NotFoundError(f"no certificate for batch {batch_id[:64]!r}: only edible farm produce "
                                f"({', '.join(CERTIFICATE_FAMILIES)}) gets one", field="batch")
    return CertificateLabel(certificate_of(ledger, batch_id))


def cap_code_state(ledger: Ledger, batch_id: str) -> CapCodeState:
    """How many serials the lot has and how many already have a cap code (0, 0 for an unknown lot)."""
    with ledger.uow() as uow:
        ranges = serial_ranges(str(row[0]) for row in uow.connection.execute(_COMMISSIONED, {"b": batch_id}))
        issued = int(uow.connection.execute(_ISSUED, {"b": batch_id}).scalar() or 0)
    return CapCodeState(sum(last - first + 1 for _p, first, last, _w in ranges), issued)

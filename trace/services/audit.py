"""The audit trail (table `audit_log`): acts on accounts and tokens that the signed log does not record.

Rules:
1. Written in the same transaction as the act it records, so there is no act without its entry.
2. Append-only: the database refuses UPDATE and DELETE (triggers; on PostgreSQL the app role may
   only SELECT and INSERT).
3. Recorded acts: an admin making a token for another user (`token_for_other_org` when that user
   is in another org, else `token_for_other_user`), a token revoked because it was sent in a URL
   (`token_revoked_in_url`), a password changed (`password_changed`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from farmtrace.storage.models import AuditEntry
from farmtrace.storage.uow import UnitOfWork, utc_aware

from farmtrace.services.ledger import Ledger


@dataclass(frozen=True)
class AuditRecord:
    id: int
    at: datetime
    actor: str | None  # username; None: the system or the command line
    action: str
    subject: str
    detail: str


def record(uow: UnitOfWork, action: str, subject: str, *, actor_id: int | None = None, detail: str = "") -> None:
    """Add one entry inside the caller's transaction."""
    uow.add(AuditEntry(actor_id=actor_id, action=action[:32], subject=subject[:200], detail=detail))


def recent(ledger: Ledger, limit: int = 200) -> list[AuditRecord]:
    """The newest `limit` entries, newest first."""
    with ledger.uow() as uow:
        rows = uow.execute("SELECT a.id, a.at, u.username, a.action, a.subject, a.detail FROM audit_log a "
                           "LEFT JOIN users u ON u.id = a.actor_id ORDER BY a.id DESC LIMIT :n", n=limit).all()
    return [AuditRecord(int(r[0]), utc_aware(r[1]) or datetime.min, r[2], str(r[3]), str(r[4]), str(r[5]))
            for r in rows]

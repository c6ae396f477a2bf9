"""Key lifecycle as log entries: which key was valid when is decided by log position.

- The log key (the operator's) is the trust root: it signs checkpoints and the key entries.
- `key_added` (signed by the log key) makes an org key valid for entries after it; with
  `replaces`, it ends the old key at the same position (a routine rotation).
- `key_revoked` ends a key at its position; reason "compromise" may name `suspected_since`,
  and events of that key recorded at or after that time are flagged for review by verify.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from farmtrace.storage.models import SigningKey
from farmtrace.storage.uow import UnitOfWork

from farmtrace.services.transaction import AppendTx, Signer, StoredEvent, now_rfc3339
from farmtrace.ledger.errors import KeyStateError, NotFoundError
from farmtrace.ledger.events import EventBody, new_event_id
from farmtrace.ledger.signing import b64, key_id, public_bytes


def new_key(uow: UnitOfWork, signer: Signer, *, org: str | None, purpose: str = "org",
            private: Ed25519PrivateKey | None = None, hold_private: bool = True) -> SigningKey:
    """Make a key row (sealed private half unless the org holds it); not yet valid in the log."""
    private = private or Ed25519PrivateKey.generate()
    raw = public_bytes(private)
    kid = key_id(raw)
    if uow.key(kid) is not None:
        raise KeyStateError(f"key {kid} already exists", field="key")
    row = SigningKey(id=kid, org_id=org, purpose=purpose, public_key=b64(raw),
                     sealed_private=signer.sealer.seal(private, kid, org) if hold_private else None)
    uow.add(row)
    uow.flush()
    return row


def ensure_log_key(uow: UnitOfWork, signer: Signer) -> SigningKey:
    """Return the operator's log key, creating it on first use."""
    key = uow.current_key(None, purpose="log")
    return key or new_key(uow, signer, org=None, purpose="log")


def _log_entry(uow: UnitOfWork, signer: Signer, entry_type: str, org: str, data: dict[str, object]) -> StoredEvent:
    log_key = uow.current_key(None, purpose="log")
    if log_key is None:
        raise KeyStateError("the log has no key yet; run farmtrace init")
    body = EventBody.from_obj({"v": 1, "type": entry_type, "org": org, "key": log_key.id, "at": now_rfc3339(),
                               "id": new_event_id(), "data": data})
    tx = AppendTx(uow, signer)
    entry = tx.store(body, signer.sign(log_key, body.hash), None)
    tx.flush()
    return entry


def add_org_key(uow: UnitOfWork, signer: Signer, org: str, *, replaces: str | None = None,
                private: Ed25519PrivateKey | None = None, hold_private: bool = True) -> SigningKey:
    """Create a key for `org` and log its `key_added` entry (ending `replaces`, if named)."""
    if uow.org(org) is None:
        raise NotFoundError(f"no org {org}", field="org")
    old = None
    if replaces is not None:
        old = uow.key(replaces)
        if old is None or old.org_id != org or old.ended_seq is not None:
            raise KeyStateError(f"key {replaces} is not a current key of {org}", field="key")
    row = new_key(uow, signer, org=org, private=private, hold_private=hold_private)
    data: dict[str, object] = {"key_id": row.id, "public_key": row.public_key, "algorithm": "ed25519"}
    if old is not None:
        data["replaces"] = old.id
    entry = _log_entry(uow, signer, "key_added", org, data)
    row.added_seq = entry.seq
    uow.add(row)
    if old is not None:
        old.ended_seq, old.end_reason = entry.seq, "rotated"
        uow.add(old)
    uow.flush()
    return row


def rotate_org_key(uow: UnitOfWork, signer: Signer, org: str) -> SigningKey:
    """Routine rotation: a new key replaces the org's current one at this log position."""
    current = uow.current_key(org)
    if current is None:
        raise KeyStateError(f"org {org} has no current key to rotate", field="org")
    return add_org_key(uow, signer, org, replaces=current.id)


def revoke_key(uow: UnitOfWork, signer: Signer, kid: str, *, reason: str = "compromise",
               suspected_since: str | None = None) -> StoredEvent:
    """End key `kid` now with a `key_revoked` entry; later events signed by it are refused and flagged."""
    row = uow.key(kid)
    if row is None or row.purpose != "org" or row.org_id is None:
        raise NotFoundError(f"no org key {kid}", field="key")
    if row.ended_seq is not None and row.end_reason in ("compromise", "retired"):
        raise KeyStateError(f"key {kid} is already revoked", field="key")
    data: dict[str, object] = {"key_id": kid, "reason": reason}
    if suspected_since:
        data["suspected_since"] = suspected_since
    entry = _log_entry(uow, signer, "key_revoked", row.org_id, data)
    if row.ended_seq is None:
        row.ended_seq = entry.seq
    row.end_reason, row.suspected_since = reason, suspected_since
    uow.add(row)
    uow.flush()
    return entry

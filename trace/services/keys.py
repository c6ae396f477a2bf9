"""Key lifecycle as log entries: which key was valid when is decided by log position.

- The log key (the operator's) is the trust root: it signs checkpoints and the key entries.
- `key_added` (signed by the log key) makes an org key valid for entries after it; with
  `replaces`, it ends the old key at the same position (a routine rotation).
- `key_revoked` ends a key at its position; reason "compromise" may name `suspected_since`,
  and events of that key recorded at or after that time are flagged for review by verify.
- A device key (purpose "device", services/devices.py) is a sub-key of its org: its `key_added` has
  no `replaces` (the org's key stays valid) and the server never holds its private half. It signs
  pre-signed events of its org only; it is never chosen for custodial signing, and never rotated.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from farmtrace.storage.models import SigningKey
from farmtrace.storage.uow import UnitOfWork

from farmtrace.services.transaction import AppendTx, Signer, StoredEvent, now_rfc3339
from farmtrace.ledger.errors import KeyStateError, NotFoundError
from farmtrace.ledger.events import EventBody, new_event_id
from farmtrace.ledger.signing import b64, key_id, public_bytes

ORG_PURPOSES = ("org", "device")
"""Keys that sign an org's events: its own key (custodial or held by its system) and its devices' keys."""


def new_key(uow: UnitOfWork, signer: Signer, *, org: str | None, purpose: str = "org",
            private: Ed25519PrivateKey | None = None, hold_private: bool = True) -> SigningKey:
    """Make a key row (sealed private half unless the org holds it); not yet valid in the log."""
    private = private or Ed25519PrivateKey.generate()
    raw = public_bytes(private)
    sealed = signer.sealer.seal(private, key_id(raw), org) if hold_private else None
    return new_public_key(uow, org=org, purpose=purpose, public_raw=raw, sealed_private=sealed)


def new_public_key(uow: UnitOfWork, *, org: str | None, purpose: str, public_raw: bytes,
                   sealed_private: bytes | None = None) -> SigningKey:
    """Make a key row from its public half (a device key: the private one never leaves the device);
    not yet valid in the log.

    Raises KeyStateError when a key with this id (so this public key) exists, whoever's and in whatever
    state: a public key is registered once, ever.
    """
    kid = key_id(public_raw)
    if uow.key(kid) is not None:
        raise KeyStateError(f"key {kid} already exists", field="key")
    row = SigningKey(id=kid, org_id=org, purpose=purpose, public_key=b64(public_raw), sealed_private=sealed_private)
    uow.add(row)
    uow.flush()
    return row


def ensure_log_key(uow: UnitOfWork, signer: Signer) -> SigningKey:
    """Return the operator's log key, creating it on first use."""
    key = uow.current_key(None, purpose="log")
    return key or new_key(uow, signer, org=None, purpose="log")


def log_entry(uow: UnitOfWork, signer: Signer, entry_type: str, org: str, data: dict[str, object]) -> StoredEvent:
    """Write one key entry for `org`, signed by the operator's log key (the only writer of key entries)."""
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
        if old is None or old.org_id != org or old.purpose != "org" or old.ended_seq is not None:
            raise KeyStateError(f"key {replaces} is not a current key of {org}", field="key")
    row = new_key(uow, signer, org=org, private=private, hold_private=hold_private)
    data: dict[str, object] = {"key_id": row.id, "public_key": row.public_key, "algorithm": "ed25519"}
    if old is not None:
        data["replaces"] = old.id
    entry = log_entry(uow, signer, "key_added", org, data)
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
               suspected_since: str | None = None, purposes: tuple[str, ...] = ORG_PURPOSES) -> StoredEvent:
    """End key `kid` now with a `key_revoked` entry; later events signed by it are refused and flagged.

    `purposes` limits which keys may be named (an org's own key or a device key; never the log's).
    """
    row = uow.key(kid)
    if row is None or row.purpose not in purposes or row.purpose not in ORG_PURPOSES or row.org_id is None:
        raise NotFoundError(f"no org or device key {kid}", field="key")
    if row.ended_seq is not None and row.end_reason in ("compromise", "retired"):
        raise KeyStateError(f"key {kid} is already revoked", field="key")
    data: dict[str, object] = {"key_id": kid, "reason": reason}
    if suspected_since:
        data["suspected_since"] = suspected_since
    entry = log_entry(uow, signer, "key_revoked", row.org_id, data)
    if row.ended_seq is None:
        row.ended_seq = entry.seq
    row.end_reason, row.suspected_since = reason, suspected_since
    uow.add(row)
    uow.flush()
    return entry

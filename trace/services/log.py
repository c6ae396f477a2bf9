"""The global log: signed checkpoints, inclusion and consistency proofs from the stored nodes.

A checkpoint is a C2SP signed note over the tlog-checkpoint body (origin, size, base64 root),
signed by the operator's log key under the key name = the log origin. Checkpoints are made on
demand (`farmtrace checkpoint`, `GET /log/checkpoint` when the log has grown) and after appends
at most every `checkpoint_interval` seconds; each is stored, and sizes only grow.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar
from datetime import datetime, timezone

from farmtrace.storage.models import Checkpoint
from farmtrace.storage.uow import UnitOfWork

from farmtrace.ledger import merkle
from farmtrace.ledger.checkpoint import Checkpoint as SignedCheckpoint
from farmtrace.ledger.checkpoint import verifier_key
from farmtrace.ledger.errors import KeyStateError, NotFoundError, ProofError
from farmtrace.services.transaction import Signer
from farmtrace.ledger.signing import unb64


T = TypeVar("T")


class Ledger(Protocol):
    """What the log needs of farmtrace.services.ledger.Ledger (which calls make_checkpoint itself)."""

    log_origin: str
    signer: Signer

    def uow(self, *, write: bool = False) -> UnitOfWork: ...

    def write(self, command: Callable[[UnitOfWork], T]) -> T: ...


def log_verifier_key(ledger: Ledger) -> str:
    """The log's current verifier key in signed-note form `name+hash+base64`."""
    with ledger.uow() as uow:
        key = uow.current_key(None, purpose="log")
        if key is None:
            raise KeyStateError("the log has no key yet; run farmtrace init")
        return verifier_key(ledger.log_origin, unb64(key.public_key))


def make_checkpoint(ledger: Ledger, *, force: bool = False, max_age: float = 0.0) -> Checkpoint | None:
    """Sign and store a checkpoint at the log's current size, unless the latest already covers it.

    With `max_age`, a newer checkpoint is made only if the latest is older than that many seconds.
    """
    def command(uow: UnitOfWork) -> Checkpoint | None:
        state = uow.lock_log()
        latest = uow.latest_checkpoint()
        if latest is not None and latest.size >= state.size:
            return latest
        if latest is not None and not force and max_age > 0:
            created = latest.created_at if latest.created_at.tzinfo else latest.created_at.replace(tzinfo=timezone.utc)
            if (datetime.now(timezone.utc) - created).total_seconds() < max_age:
                return latest
        key = uow.current_key(None, purpose="log")
        if key is None:
            raise KeyStateError("the log has no key yet; run farmtrace init")
        root = merkle.CompactRange.from_state(state.size, bytes(state.frontier)).root()
        note = SignedCheckpoint(ledger.log_origin, state.size, root).to_note(ledger.log_origin,
                                                                             ledger.signer.private(key))
        row = Checkpoint(size=state.size, root=merkle.b64(root), note=note.decode("utf-8"), key_id=key.id)
        uow.add(row)
        return row
    return ledger.write(command)


def latest_checkpoint(ledger: Ledger) -> Checkpoint | None:
    with ledger.uow() as uow:
        return uow.latest_checkpoint()


@dataclass(frozen=True)
class InclusionProof:
    index: int
    size: int
    root: bytes
    proof: list[bytes]


def inclusion_proof(ledger: Ledger, event_hash: str, size: int | None = None) -> InclusionProof:
    """Proof that the event is leaf `seq` of the tree of `size` leaves (default: the latest checkpoint)."""
    with ledger.uow() as uow:
        event = uow.event_by_hash(event_hash)
        if event is None:
            raise NotFoundError(f"no event {event_hash}", field="hash")
        if size is None:
            latest = uow.latest_checkpoint()
            size = latest.size if latest is not None else uow.log_size()
        _check_size(uow, size, "size")
        if event.seq >= size:
            raise ProofError(f"event {event_hash} is at index {event.seq}, not inside a tree of size {size}",
                             field="size")
        return InclusionProof(event.seq, size, merkle.root(size, uow.merkle_nodes),
                              merkle.inclusion_proof(event.seq, size, uow.merkle_nodes))


def consistency_proof(ledger: Ledger, first: int, second: int) -> list[bytes]:
    """Proof that the tree of `second` leaves extends the tree of `first` leaves."""
    with ledger.uow() as uow:
        _check_size(uow, second, "to")
        if not 0 < first <= second:
            raise ProofError(f"need 0 < from <= to, got from={first} to={second}", field="from")
        return merkle.consistency_proof(first, second, uow.merkle_nodes)


def _check_size(uow: UnitOfWork, size: int, name: str) -> None:
    have = uow.log_size()
    if not 0 < size <= have:
        raise ProofError(f"{name} must be between 1 and the log size {have}, got {size}", field=name)

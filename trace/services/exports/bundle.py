"""Export a batch's lineage as an offline-verifiable bundle (format: farmtrace.ledger.bundle, docs/bundle.md).

The bundle holds every event of each batch in the lineage, the key entries that say which key
was valid when (the key_added of every key that signed one of them, the entry that replaced it,
any key_revoked; only entries the log key signed), a signed checkpoint covering all of them, and an inclusion proof of each
against that checkpoint.
"""

from __future__ import annotations

import json
from typing import Any

from farmtrace.storage.models import Event
from farmtrace.storage.uow import UnitOfWork

from farmtrace.ledger import merkle
from farmtrace.ledger.bundle import KEY_ENTRY_TYPES, bundle_entry, new_bundle
from farmtrace.ledger.errors import FarmtraceError, NotFoundError
from farmtrace.services.ledger import Ledger
from farmtrace.services.log import log_verifier_key, make_checkpoint


def make_bundle(ledger: Ledger, batch_id: str) -> dict[str, Any]:
    """Build the bundle document for `batch_id` and its lineage.

    Raises:
        NotFoundError: there is no such batch.
    """
    with ledger.uow() as uow:
        if uow.batch(batch_id) is None:
            raise NotFoundError(f"no batch {batch_id}", field="batch")
        chains = {batch: uow.events_of_batch(batch) for batch in _lineage(uow, batch_id)}
        signers = {event.key_id for events in chains.values() for event in events}
        log_keys = {k.id for k in uow.keys() if k.purpose == "log"}
        # Only the log key's own entries say which key was valid when; an entry signed by anyone
        # else is invalid (farmtrace verify names it) and must not make a lot's bundle fail.
        key_entries = [e for e in uow.events_of_types(KEY_ENTRY_TYPES)
                       if e.key_id in log_keys and _concerns(e, signers)]
    # Made after the reads, so it covers every event read: the log only grows.
    checkpoint = make_checkpoint(ledger)
    if checkpoint is None:
        raise FarmtraceError("the log has no checkpoint to prove the events against")
    vkey = log_verifier_key(ledger)
    with ledger.uow() as uow:
        def entry(event: Event) -> dict[str, Any]:
            proof = merkle.inclusion_proof(event.seq, checkpoint.size, uow.merkle_nodes)
            return bundle_entry(event.seq, event.hash, event.canonical, event.signature, proof)
        keys = [entry(e) for e in key_entries]
        batches = [{"id": batch, "head": events[-1].hash, "events": [entry(e) for e in events]}
                   for batch, events in chains.items() if events]
    return new_bundle(subject=batch_id, log_key=vkey, checkpoint=checkpoint.note, keys=keys, batches=batches)


def _lineage(uow: UnitOfWork, batch_id: str) -> list[str]:
    """The batches whose chains the bundle carries: the subject first, then every ancestor back to the farms."""
    return [batch_id, *sorted(uow.ancestors([batch_id]))]


def _concerns(entry: Event, signers: set[str]) -> bool:
    """Whether a key entry adds, replaces or revokes one of the keys that signed the bundle's events."""
    data = json.loads(entry.canonical).get("data", {})
    return bool({data.get("key_id"), data.get("replaces")} & signers)

"""The log layer catches what chains alone cannot: rewritten history, dropped leaves, forked checkpoints."""

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from farmtrace.cli import main
from farmtrace.ledger import merkle
from farmtrace.services.transaction import Actor
from farmtrace.ledger.canonical import canonicalize, sha256_hex
from farmtrace.ledger.checkpoint import Checkpoint
from farmtrace.services.log import make_checkpoint
from farmtrace.ledger.signing import sign_event_hash
from farmtrace.services.verify import verify_log
from farmtrace.storage.engine import make_engine
from tests.services.test_tamper import attacker, verify_cli  # noqa: F401  (fixtures)


@pytest.fixture
def logged(ledger, make_org, make_batch, record):
    farm = make_org()
    batches = [make_batch(farm) for _ in range(3)]
    events = [record(b, f"step-{i}") for i in range(4) for b in batches]
    first = make_checkpoint(ledger, force=True)
    events += [record(batches[0], "late")]
    second = make_checkpoint(ledger, force=True)
    return {"farm": farm, "batches": batches, "events": events, "first": first, "second": second}


def _rebuild_tree(db, run) -> None:
    """What a careful attacker does after rewriting events: recompute every Merkle node and the frontier."""
    engine = make_engine(db["owner_url"])
    with engine.connect() as conn:
        rows = [r[0] for r in conn.execute(text("SELECT canonical FROM events ORDER BY seq"))]
    engine.dispose()
    tree = merkle.MemoryTree()
    compact = merkle.CompactRange()
    for canonical in rows:
        leaf = merkle.leaf_hash(canonical.encode())
        tree.append(leaf)
        compact.append(leaf)
    run("DELETE FROM merkle_nodes")
    for (level, idx), digest in tree.nodes.items():
        run("INSERT INTO merkle_nodes (level, idx, hash) VALUES (:l, :i, :h)", {"l": level, "i": idx, "h": digest})
    run("UPDATE log_state SET size = :n, frontier = :f", {"n": compact.size, "f": compact.state()})


def test_a_rewritten_and_re_signed_event_with_a_rebuilt_tree_breaks_the_signed_checkpoint(
        db, ledger, logged, attacker, verify_cli) -> None:
    victim = logged["events"][4]
    body = json.loads(victim.canonical)
    body["data"]["step"] = "rewritten"
    canonical = canonicalize(body)
    new_hash = sha256_hex(canonical)
    with ledger.uow() as uow:  # the attacker even holds the org's signing key
        signature = sign_event_hash(ledger.signer.private(uow.key(victim.key)), new_hash)
    attacker("UPDATE events SET canonical = :c, hash = :nh, signature = :s WHERE hash = :h",
             {"c": canonical.decode(), "nh": new_hash, "s": signature, "h": victim.hash})
    # the next event of that batch must now name the new hash, and so on: rewrite the batch's chain
    _rebuild_tree(db, attacker)
    code, report = verify_cli()
    reasons = [f["reason"] for f in report["failures"]]
    assert code == 1
    assert any(f"checkpoint at size {logged['first'].size} signs root" in r and "rewritten" in r for r in reasons)
    assert any(f"checkpoint at size {logged['second'].size} signs root" in r for r in reasons)


def test_a_changed_stored_leaf_is_named(db, ledger, logged, attacker, verify_cli) -> None:
    victim = logged["events"][2]
    attacker("UPDATE merkle_nodes SET hash = :h WHERE level = 0 AND idx = :i", {"h": b"\x00" * 32, "i": victim.seq})
    code, report = verify_cli()
    assert code == 1
    assert any(f["event_hash"] == victim.hash and "stored Merkle leaf does not match" in f["reason"]
               for f in report["failures"])


def test_a_dropped_last_leaf_is_named_as_truncation(db, ledger, logged, attacker, verify_cli) -> None:
    last = logged["events"][-1]
    attacker("DELETE FROM events WHERE seq = :s", {"s": last.seq})
    _rebuild_tree(db, attacker)
    attacker("UPDATE batches SET head = :p, event_count = event_count - 1 WHERE id = :b",
             {"p": last.body.prev, "b": last.body.batch})
    code, report = verify_cli()
    assert code == 1
    assert any(f"checkpoint at size {logged['second'].size} is beyond the log" in f["reason"] and "truncated" in
               f["reason"] for f in report["failures"])


def test_a_forked_checkpoint_signed_with_the_log_key_is_named(db, ledger, logged, attacker, verify_cli) -> None:
    size = logged["first"].size - 2
    with ledger.uow() as uow:
        log_key = uow.current_key(None, purpose="log")
        private = ledger.signer.private(log_key)
    forged = Checkpoint(ledger.log_origin, size, b"\x42" * 32).to_note(ledger.log_origin, private)
    attacker("INSERT INTO checkpoints (size, root, note, key_id, created_at) VALUES (:s, :r, :n, :k, CURRENT_TIMESTAMP)",
             {"s": size, "r": merkle.b64(b"\x42" * 32), "n": forged.decode(), "k": log_key.id})
    code, report = verify_cli()
    assert code == 1
    assert [f["reason"] for f in report["failures"]] == [
        f"checkpoint at size {size} signs root {merkle.b64(b'B' * 32)} but the events give "
        f"{report_root(ledger, size)}: the log was rewritten (fork)"]


def report_root(ledger, size: int) -> str:
    with ledger.uow() as uow:
        return merkle.b64(merkle.root(size, uow.merkle_nodes))


def test_a_checkpoint_signed_by_another_key_is_named(db, ledger, logged, attacker, verify_cli) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    size = logged["first"].size - 1
    note = Checkpoint(ledger.log_origin, size, bytes.fromhex(report_root_hex(ledger, size))).to_note(
        ledger.log_origin, Ed25519PrivateKey.generate())
    attacker("INSERT INTO checkpoints (size, root, note, key_id, created_at) VALUES (:s, :r, :n, 'x', CURRENT_TIMESTAMP)",
             {"s": size, "r": "x", "n": note.decode()})
    code, report = verify_cli()
    assert code == 1
    assert any(f"checkpoint at size {size} does not verify" in f["reason"] for f in report["failures"])


def report_root_hex(ledger, size: int) -> str:
    with ledger.uow() as uow:
        return merkle.root(size, uow.merkle_nodes).hex()


def test_appends_sign_checkpoints_automatically(db_url) -> None:
    from farmtrace.services.ledger import Ledger
    engine = make_engine(db_url)
    ledger = Ledger(engine, secret_key="s", log_origin="auto.farmtrace/log", checkpoint_interval=0.0)
    ledger.init()
    ledger.create_org("farm", "农场")
    ledger.append({"type": "create", "batch": "b", "data": {"product": "米", "lot": "1", "family": "produce",
                                                             "quantity": "1", "unit": "KGM"}}, actor=Actor(org="farm"))
    with ledger.uow() as uow:
        latest = uow.latest_checkpoint()
        size = uow.log_size()
    assert latest is not None and latest.size == size == 2
    assert verify_log(engine, log_origin="auto.farmtrace/log").ok
    engine.dispose()


def test_a_changed_interior_node_is_named(db, ledger, logged, attacker, verify_cli) -> None:
    attacker("UPDATE merkle_nodes SET hash = :h WHERE level = 2 AND idx = 1", {"h": b"\x07" * 32})
    code, report = verify_cli()
    assert code == 1
    assert "Merkle node (2, 1) does not match the events below it" in [f["reason"] for f in report["failures"]]

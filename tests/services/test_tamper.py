"""An attacker with file or superuser access edits the ledger; `farmtrace verify` names each change."""

import json
from collections.abc import Callable
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from farmtrace.cli import main
from farmtrace.ledger import merkle
from farmtrace.services.transaction import Actor, now_rfc3339
from farmtrace.ledger.canonical import canonicalize, sha256_hex
from farmtrace.ledger.errors import KeyStateError
from farmtrace.ledger.events import new_event_id
from farmtrace.services.log import make_checkpoint
from farmtrace.ledger.signing import sign_event_hash
from farmtrace.storage.engine import make_engine


@pytest.fixture
def attacker(db: dict[str, str]) -> Callable[[str, dict[str, Any]], None]:
    """Run SQL against the database with the append-only triggers out of the way."""
    engine = make_engine(db["owner_url"])
    with engine.begin() as conn:
        if db["kind"] == "sqlite":
            for table in ("events", "merkle_nodes", "checkpoints"):
                for verb in ("update", "delete"):
                    conn.execute(text(f"DROP TRIGGER {table}_no_{verb}"))

    def run(sql: str, params: dict[str, Any] | None = None) -> None:
        with engine.begin() as conn:
            if db["kind"] == "postgresql":
                conn.execute(text("SET LOCAL session_replication_role = replica"))
            conn.execute(text(sql), params or {})
    yield run
    engine.dispose()


@pytest.fixture
def verify_cli(db: dict[str, str], tmp_path, ledger) -> Callable[[], tuple[int, dict[str, Any]]]:
    def run() -> tuple[int, dict[str, Any]]:
        env = {"FARMTRACE_DATABASE_URL": db["url"], "FARMTRACE_INSTANCE": str(tmp_path / "inst"),
               "FARMTRACE_LOG_ORIGIN": ledger.log_origin}
        result = CliRunner().invoke(main, ["verify", "--json"], env=env)
        return result.exit_code, json.loads(result.output)
    return run


@pytest.fixture
def chain(ledger, make_org, make_batch, record) -> dict[str, Any]:
    """Two orgs, three batches, a dozen events, and a signed checkpoint."""
    farm, mill = make_org(), make_org()
    batches = [make_batch(farm), make_batch(farm), make_batch(mill)]
    events = [record(b, f"step-{i}") for i in range(3) for b in batches]
    make_checkpoint(ledger, force=True)
    return {"farm": farm, "mill": mill, "batches": batches, "events": events}


def _reasons(report: dict[str, Any], event_hash: str | None = None) -> list[str]:
    return [f["reason"] for f in report["failures"] if event_hash is None or f["event_hash"] == event_hash]


def test_an_untouched_ledger_verifies(chain, verify_cli) -> None:
    code, report = verify_cli()
    assert code == 0 and report["ok"] and report["failures"] == []
    assert report["events"] >= 12 and report["checkpoints"] == 1


def test_one_changed_byte_of_stored_text_is_named(chain, attacker, verify_cli) -> None:
    victim = chain["events"][4]
    canonical = victim.canonical.replace('"step-', '"stap-', 1)
    attacker("UPDATE events SET canonical = :c WHERE hash = :h", {"c": canonical, "h": victim.hash})
    code, report = verify_cli()
    assert code == 1
    assert any("stored hash does not match" in r for r in _reasons(report, victim.hash))
    assert any(f["batch"] == victim.body.batch for f in report["failures"])


def test_a_swapped_signature_is_named(chain, attacker, verify_cli) -> None:
    a, b = chain["events"][0], chain["events"][1]
    attacker("UPDATE events SET signature = :s WHERE hash = :h", {"s": b.signature, "h": a.hash})
    code, report = verify_cli()
    assert code == 1
    assert any("signature does not verify" in r for r in _reasons(report, a.hash))


def test_a_rewritten_prev_is_named(chain, attacker, verify_cli) -> None:
    victim = chain["events"][6]
    body = json.loads(victim.canonical)
    body["prev"] = "ab" * 32  # (a second child of a real parent is refused by the unique constraint itself)
    canonical = canonicalize(body).decode()
    new_hash = sha256_hex(canonical.encode())
    attacker("UPDATE events SET canonical = :c, hash = :nh, prev = :p WHERE hash = :h",
             {"c": canonical, "nh": new_hash, "p": body["prev"], "h": victim.hash})
    code, report = verify_cli()
    reasons = _reasons(report, new_hash)
    assert code == 1
    assert any("signature does not verify" in r for r in reasons)
    assert any("is not the chain head" in r for r in reasons)


def test_a_deleted_event_is_named(chain, attacker, verify_cli, ledger) -> None:
    victim = chain["events"][3]
    with ledger.uow() as uow:
        after = [e for e in uow.events_of_batch(victim.body.batch) if e.prev == victim.hash][0]
    attacker("DELETE FROM events WHERE hash = :h", {"h": victim.hash})
    code, report = verify_cli()
    assert code == 1
    assert any(f"positions {victim.seq}..{victim.seq}" in r for r in _reasons(report))
    assert any("is not the chain head" in r for r in _reasons(report, after.hash))


def test_two_swapped_sequence_numbers_are_named(chain, attacker, verify_cli) -> None:
    a, b = chain["events"][0], chain["events"][4]  # different batches: chains alone would not notice
    attacker("UPDATE events SET seq = -1 WHERE seq = :a", {"a": a.seq})
    attacker("UPDATE events SET seq = :a WHERE seq = :b", {"a": a.seq, "b": b.seq})
    attacker("UPDATE events SET seq = :b WHERE seq = -1", {"b": b.seq})
    code, report = verify_cli()
    assert code == 1
    assert any("stored Merkle leaf does not match" in r for r in _reasons(report, a.hash))
    assert any("stored Merkle leaf does not match" in r for r in _reasons(report, b.hash))
    assert any("the log was rewritten" in r for r in _reasons(report))


def test_an_event_signed_by_a_revoked_key_after_revocation_is_named(chain, ledger, attacker, verify_cli) -> None:
    farm, batch = chain["farm"], chain["batches"][0]
    with ledger.uow() as uow:
        key = uow.current_key(farm)
        private = ledger.signer.private(key)
    revoked = ledger.revoke_key(key.id, reason="compromise")
    with ledger.uow() as uow:  # the thief still holds the private key and writes straight to the database
        head = uow.batch(batch).head
        state = uow.lock_log()
        seq = state.size
        body = {"v": 1, "type": "observe", "batch": batch, "org": farm, "key": key.id, "prev": head,
                "at": now_rfc3339(), "id": new_event_id(), "data": {"step": "forged"}}
        canonical = canonicalize(body)
        tree = merkle.CompactRange.from_state(seq, state.frontier)
        nodes = tree.append(merkle.leaf_hash(canonical))
    ev_hash = sha256_hex(canonical)
    attacker("INSERT INTO events (seq, hash, id, type, batch_id, org_id, key_id, prev, at, canonical, signature, "
             "recorded_at) VALUES (:seq, :h, :id, 'observe', :b, :o, :k, :p, :at, :c, :s, CURRENT_TIMESTAMP)",
             {"seq": seq, "h": ev_hash, "id": body["id"], "b": batch, "o": farm, "k": key.id, "p": head,
              "at": body["at"], "c": canonical.decode(), "s": sign_event_hash(private, ev_hash)})
    for level, idx, digest in nodes:
        attacker("INSERT INTO merkle_nodes (level, idx, hash) VALUES (:l, :i, :d)", {"l": level, "i": idx, "d": digest})
    attacker("UPDATE log_state SET size = :n, frontier = :f", {"n": seq + 1, "f": tree.state()})
    attacker("UPDATE batches SET head = :h WHERE id = :b", {"h": ev_hash, "b": batch})
    code, report = verify_cli()
    assert code == 1
    assert _reasons(report, ev_hash) == [f"signed by key {key.id} after it was revoked at position {revoked.seq}"]
    with pytest.raises(KeyStateError):  # and the org cannot sign with it any more
        ledger.append({"type": "observe", "batch": chain["batches"][1], "data": {"step": "x"}},
                      actor=Actor(org=farm))

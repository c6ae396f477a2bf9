"""A bundle exported from a real ledger verifies offline; tampering or any flipped byte is refused and named."""

from __future__ import annotations

import json
import random
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from farmtrace.cli import main
from farmtrace.services.transaction import Actor, AppendTx, StoredEvent, now_rfc3339
from farmtrace.ledger.bundle import MESSAGES, BundleReport, verify_bundle
from farmtrace.ledger.checkpoint import Checkpoint
from farmtrace.ledger.errors import KeyStateError, NotFoundError
from farmtrace.ledger.events import EventBody, new_event_id
from farmtrace.services.exports.bundle import make_bundle
from farmtrace.services.ledger import Ledger
from farmtrace.services.log import log_verifier_key, make_checkpoint
from farmtrace.ledger.signing import sign_event_hash

VERIFY_OFFLINE = Path(__file__).resolve().parents[2] / "scripts" / "verify-offline"
C4_SEED = 20260315
C4_MUTANTS = 1000


@pytest.fixture
def lineage(ledger: Ledger, make_org, make_batch, record) -> dict[str, Any]:
    """A farm's rice batch of six events across a key rotation, interleaved with a mill's batch."""
    farm, mill = make_org(), make_org()
    rice, flour = make_batch(farm, product="富硒大米"), make_batch(mill)
    for i in range(5):
        record(rice, f"晾晒-{i}", note="巴中 恩阳")
        record(flour, f"milled-{i}")
        if i == 2:
            ledger.rotate_key(farm)
    return {"farm": farm, "mill": mill, "rice": rice, "flour": flour}


def codes(report: BundleReport) -> set[str]:
    return {f.code for f in report.failures}


def test_an_exported_bundle_verifies_offline_in_both_languages(ledger: Ledger, lineage, db, tmp_path: Path) -> None:
    out = tmp_path / "rice.json"
    env = {"FARMTRACE_DATABASE_URL": db["url"], "FARMTRACE_INSTANCE": str(tmp_path / "inst"),
           "FARMTRACE_LOG_ORIGIN": ledger.log_origin, "FARMTRACE_SECRET_KEY": ledger.secret_key}
    exported = CliRunner().invoke(main, ["export", "bundle", lineage["rice"], "--out", str(out)], env=env)
    assert exported.exit_code == 0, exported.output
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert [b["id"] for b in doc["batches"]] == [lineage["rice"]] and len(doc["batches"][0]["events"]) == 6
    assert len(doc["keys"]) == 2  # the farm's first key_added, and the one that replaced it
    assert "富硒大米" in out.read_text(encoding="utf-8")  # ensure_ascii=False

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(VERIFY_OFFLINE), str(out), *args], capture_output=True, text=True,
                              encoding="utf-8", timeout=60)
    zh = run()
    assert zh.returncode == 0, zh.stdout + zh.stderr
    assert "✔ 6 个事件全部签名有效" in zh.stdout and "✔ 1 条批次链完整" in zh.stdout
    assert "取自数据包本身" in zh.stdout and "结论：全部核验通过" in zh.stdout
    en = run("--lang", "en", "--log-key", log_verifier_key(ledger))
    assert en.returncode == 0, en.stdout + en.stderr
    assert "✔ all 6 events are signed" in en.stdout and "(the one you gave)" in en.stdout
    assert "Verdict: everything verifies" in en.stdout

    doc["batches"][0]["events"][3]["signature"] = doc["batches"][0]["events"][4]["signature"]
    out.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    refused = run("--lang", "en", "--json")
    assert refused.returncode == 1 and refused.stderr == ""
    assert [f["code"] for f in json.loads(refused.stdout)["failures"]] == ["bad_signature"]


def test_exporting_an_unknown_batch_is_not_found(ledger: Ledger) -> None:
    with pytest.raises(NotFoundError):
        make_bundle(ledger, "no-such-batch")


def test_the_export_reuses_a_checkpoint_that_covers_it_and_signs_one_that_does(ledger, lineage, record) -> None:
    covering = make_checkpoint(ledger, force=True)
    assert make_bundle(ledger, lineage["rice"])["log"]["checkpoint"] == covering.note
    record(lineage["rice"], "packed")
    doc = make_bundle(ledger, lineage["rice"])
    assert doc["log"]["checkpoint"] != covering.note and verify_bundle(doc).ok


def _forge_after_revocation(ledger: Ledger, batch: str, org: str) -> tuple[str, int]:
    """The org's key is revoked; a thief holding it and the database writes one more event."""
    with ledger.uow() as uow:
        key = uow.current_key(org)
        assert key is not None
        private = ledger.signer.private(key)
    revoked = ledger.revoke_key(key.id, reason="compromise")

    def command(uow) -> StoredEvent:
        tx = AppendTx(uow, ledger.signer)
        row = tx.batch(batch)
        assert row is not None
        body = EventBody.from_obj({"v": 1, "type": "observe", "batch": batch, "org": org, "key": key.id,
                                   "prev": row.head, "at": now_rfc3339(), "id": new_event_id(),
                                   "data": {"step": "forged"}})
        stored = tx.store(body, sign_event_hash(private, body.hash), row)
        tx.flush()
        return stored
    return ledger.write(command).hash, revoked.seq


Tamper = Callable[[dict[str, Any]], None]


def _changed_canonical_byte(doc: dict[str, Any]) -> None:
    event = doc["batches"][0]["events"][2]
    event["canonical"] = event["canonical"].replace('"step":"', '"step":"X', 1)


def _swapped_signature(doc: dict[str, Any]) -> None:
    events = doc["batches"][0]["events"]
    events[2]["signature"] = events[1]["signature"]


def _wrong_proof_hash(doc: dict[str, Any]) -> None:
    proof = doc["batches"][0]["events"][2]["proof"]
    proof[-1] = proof[-1][:-1] + ("0" if proof[-1][-1] != "0" else "1")


def _checkpoint_signed_by_another_key(doc: dict[str, Any]) -> None:
    body = doc["log"]["checkpoint"].split("\n\n")[0] + "\n"
    checkpoint = Checkpoint.from_body(body.encode())
    doc["log"]["checkpoint"] = checkpoint.to_note(checkpoint.origin, Ed25519PrivateKey.generate()).decode()


def _dropped_from_the_middle(doc: dict[str, Any]) -> None:
    del doc["batches"][0]["events"][2]


TAMPERING: dict[str, tuple[Tamper, str]] = {  # id: (change to the exported bundle, the code naming event 2)
    "a changed canonical byte": (_changed_canonical_byte, "hash_mismatch"),
    "a swapped signature": (_swapped_signature, "bad_signature"),
    "a wrong proof hash": (_wrong_proof_hash, "proof_invalid"),
    "a checkpoint signed by another key": (_checkpoint_signed_by_another_key, "checkpoint_invalid"),
    "an event dropped from the middle of the chain": (_dropped_from_the_middle, "chain_link"),
}


@pytest.mark.parametrize(("tamper", "code"), list(TAMPERING.values()), ids=list(TAMPERING))
def test_tampering_with_an_exported_bundle_is_named(ledger: Ledger, lineage, tamper: Tamper, code: str) -> None:
    doc = make_bundle(ledger, lineage["rice"])
    victim = doc["batches"][0]["events"][2]
    tamper(doc)
    report = verify_bundle(doc)
    assert not report.ok and code in codes(report), [f.en for f in report.failures]
    named = next(f for f in report.failures if f.code == code)
    if code != "checkpoint_invalid":
        assert named.batch == lineage["rice"]
        assert named.event_hash in (victim["hash"], doc["batches"][0]["events"][2]["hash"])


def test_an_event_signed_after_its_key_was_revoked_is_named(ledger: Ledger, lineage) -> None:
    forged, revoked_at = _forge_after_revocation(ledger, lineage["rice"], lineage["farm"])
    report = verify_bundle(make_bundle(ledger, lineage["rice"]), trusted_log_key=log_verifier_key(ledger))
    assert [(f.code, f.event_hash, f.batch) for f in report.failures] == [("key_revoked", forged, lineage["rice"])]
    assert f"revoked at index {revoked_at}" in report.failures[0].en
    assert report.counts.events == 7 and report.counts.events_ok == 6 and report.counts.proofs_ok == 10
    with pytest.raises(KeyStateError):  # and the ledger itself no longer signs with it
        ledger.append({"type": "observe", "batch": lineage["rice"], "data": {"step": "x"}},
                      actor=Actor(org=lineage["farm"]))


FLIPS: dict[str, Callable[[random.Random], int]] = {  # id: the XOR mask for the chosen byte
    "any new byte value": lambda rng: rng.randrange(1, 256),
    "one flipped bit": lambda rng: 1 << rng.randrange(8),  # mostly stays ASCII: reaches the deeper layers
}


@pytest.mark.parametrize("mask", list(FLIPS.values()), ids=list(FLIPS))
def test_any_flipped_byte_is_refused_and_named_or_changes_nothing(ledger: Ledger, lineage, capsys,
                                                                  mask: Callable[[random.Random], int]) -> None:
    """Reliability plan C4: 1,000 one-byte mutants of a serialized bundle; 0 crashes."""
    raw = json.dumps(make_bundle(ledger, lineage["rice"]), ensure_ascii=False, indent=1).encode("utf-8")
    original = json.loads(raw)
    assert verify_bundle(raw).ok
    rng = random.Random(C4_SEED)
    positions = rng.sample(range(len(raw)), C4_MUTANTS)
    rejected, accepted, crashes = 0, 0, []
    by_code: dict[str, int] = {}
    for position in positions:
        mutant = bytearray(raw)
        mutant[position] ^= mask(rng)
        try:
            report = verify_bundle(bytes(mutant))
        except Exception as err:  # noqa: BLE001 - a crash is what this test counts
            crashes.append((position, repr(err)))
            continue
        if report.ok:
            accepted += 1  # only when the document means exactly what it meant (whitespace to whitespace)
            assert json.loads(bytes(mutant)) == original, f"seed {C4_SEED}: byte {position} accepted but changed"
        else:
            rejected += 1
            assert all(f.code in MESSAGES and f.en and f.zh_CN for f in report.failures)
            first = report.failures[0].code
            by_code[first] = by_code.get(first, 0) + 1
    with capsys.disabled():
        kind = next(name for name, fn in FLIPS.items() if fn is mask)
        print(f"\nC4 bundle-mutation ({kind}): seed {C4_SEED}, {len(raw)} bytes, {C4_MUTANTS} mutants: "
              f"{rejected} rejected with a named failure, {accepted} accepted (JSON whitespace only), "
              f"{len(crashes)} crashes; first failure by code: {dict(sorted(by_code.items(), key=lambda kv: -kv[1]))}")
    assert crashes == [], f"seed {C4_SEED}: {crashes[:5]}"
    assert rejected + accepted == C4_MUTANTS


def test_a_bundle_carries_the_whole_lineage_back_to_the_farms(ledger, make_org, make_batch) -> None:
    from farmtrace.services.transaction import Actor
    from farmtrace.ledger.bundle import verify_bundle
    from farmtrace.services.exports.bundle import make_bundle
    from farmtrace.services.lineage import transform
    farm = make_org()
    a, b = make_batch(farm, quantity="10", unit="KGM"), make_batch(farm, quantity="20", unit="KGM")
    transform(ledger, [{"batch": a, "quantity": "10"}, {"batch": b, "quantity": "20"}],
              [{"batch": "mix-1", "product": "混合米", "lot": "MIX1", "family": "produce", "quantity": "30",
                "unit": "KGM"}], actor=Actor(org=farm), process="mixing")
    doc = make_bundle(ledger, "mix-1")
    assert [x["id"] for x in doc["batches"]] == ["mix-1", *sorted([a, b])]
    assert verify_bundle(doc).ok
    doc["batches"] = doc["batches"][:2]  # drop one input's chain
    report = verify_bundle(doc)
    assert not report.ok and any(f.code == "input_missing" for f in report.failures)

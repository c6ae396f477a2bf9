"""The log's trust root: only the operator's log key writes key entries, and a planted one harms no one.

Before this, any producer's token could append a custodial `key_revoked` naming another org's key
(201, signed with the producer's own key), and the verifiers applied it: every lot of the victim
org failed verification for ever. Each attack below is refused and writes nothing; an entry planted
straight into the database is reported by every verifier and changes no key's validity.
"""

import json
import uuid

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from farmtrace.cli import main as cli_main
from farmtrace.services import keys as core_keys
from farmtrace.services.transaction import Actor, AppendTx
from farmtrace.ledger.errors import InvalidEventError
from farmtrace.ledger import merkle
from farmtrace.ledger.bundle import bundle_entry, verify_bundle
from farmtrace.ledger.events import LOG_ENTRY_TYPES, EventBody
from farmtrace.services.exports.bundle import make_bundle
from farmtrace.services.log import make_checkpoint
from farmtrace.ledger.signing import b64, key_id, public_bytes, sign_event_hash
from farmtrace.services.tokens import create_token
from farmtrace.services.verify import verify_log
from tests.auditor import audit

ATTACKER, VICTIM = "nanjiang-se-rice", "yunding-tea"


@pytest.fixture
def ledger(app):
    return app.extensions["ledger"]


def _victim_key(ledger) -> str:
    with ledger.uow() as uow:
        return uow.current_key(VICTIM).id


def _key_entry_draft(kind: str, victim_key: str) -> dict:
    if kind == "key_revoked":
        return {"type": "key_revoked", "data": {"key_id": victim_key, "reason": "compromise",
                                                "suspected_since": "2026-01-01T00:00:00+08:00"}}
    raw = public_bytes(Ed25519PrivateKey.generate())
    return {"type": "key_added", "data": {"key_id": key_id(raw), "public_key": b64(raw), "algorithm": "ed25519",
                                          "replaces": victim_key}}


def _victim_lots(ledger) -> list[str]:
    with ledger.uow() as uow:
        return [b.id for b in uow.batches(limit=1000) if b.origin_org == VICTIM]


# ---- every append path refuses the log's reserved entry types ------------------------------------

@pytest.mark.parametrize("kind", LOG_ENTRY_TYPES)
def test_a_producer_token_cannot_append_a_key_entry_custodially(client, bearer, ledger, kind) -> None:
    before = ledger.row_counts()
    response = client.post("/api/v1/events", json=_key_entry_draft(kind, _victim_key(ledger)), headers=bearer("rice"))
    assert response.status_code == 422
    assert response.get_json()["error"]["field"] == "type"
    assert "log" in response.get_json()["error"]["message"]
    assert ledger.row_counts() == before


@pytest.mark.parametrize("kind", LOG_ENTRY_TYPES)
def test_a_key_entry_hidden_in_a_batch_append_refuses_the_whole_batch(client, bearer, ledger, kind) -> None:
    before = ledger.row_counts()
    items = [{"type": "create", "batch": "rice-extra", "data": {
        "product": "富硒大米", "lot": "X-1", "family": "produce", "quantity": "10", "unit": "KGM"}},
        _key_entry_draft(kind, _victim_key(ledger))]
    response = client.post("/api/v1/events/batch", json={"items": items}, headers=bearer("rice"))
    assert response.status_code == 422
    assert response.get_json()["error"]["field"] == "items[1].type"
    assert ledger.row_counts() == before


@pytest.mark.parametrize("kind", LOG_ENTRY_TYPES)
def test_a_presigned_key_entry_is_refused_even_with_a_valid_org_signature(client, ledger, kind) -> None:
    ledger.create_org("own-key-farm", "自持密钥合作社", kind="producer", family="produce", with_key=False)
    private = Ed25519PrivateKey.generate()
    key = ledger.write(lambda uow: core_keys.add_org_key(uow, ledger.signer, "own-key-farm", private=private,
                                                         hold_private=False))
    ledger.create_user("own-key-farm", "ownkey", "a-long-password")
    headers = {"Authorization": "Bearer " + create_token(ledger, "ownkey").token}
    body = {"v": 1, "org": "own-key-farm", "key": key.id, "id": str(uuid.uuid4()), "at": "2026-04-01T08:00:00+08:00",
            **_key_entry_draft(kind, _victim_key(ledger))}
    item = {"body": body, "signature": sign_event_hash(private, EventBody.from_obj(body).hash)}
    before = ledger.row_counts()
    single = client.post("/api/v1/events", json=item, headers=headers)
    batch = client.post("/api/v1/events/batch", json={"items": [item]}, headers=headers)
    assert (single.status_code, single.get_json()["error"]["field"]) == (422, "type")
    assert (batch.status_code, batch.get_json()["error"]["field"]) == (422, "items[0].type")
    assert ledger.row_counts() == before


@pytest.mark.parametrize("kind", LOG_ENTRY_TYPES)
def test_the_command_line_event_add_refuses_a_key_entry(app, ledger, db, tmp_path, kind) -> None:
    draft = tmp_path / "entry.json"
    draft.write_text(json.dumps(_key_entry_draft(kind, _victim_key(ledger))))
    settings = app.config["FARMTRACE"]
    env = {"FARMTRACE_INSTANCE": str(settings.instance), "FARMTRACE_DATABASE_URL": db["url"],
           "FARMTRACE_SECRET_KEY": settings.secret_key, "FARMTRACE_LOG_ORIGIN": settings.log_origin}
    before = ledger.row_counts()
    result = CliRunner().invoke(cli_main, ["event", "add", str(draft), "--org", ATTACKER], env=env)
    assert result.exit_code == 1
    assert "type" in result.output and "log" in result.output
    assert ledger.row_counts() == before


def test_the_core_refuses_a_key_entry_from_an_org_whatever_the_caller(ledger) -> None:
    for kind in LOG_ENTRY_TYPES:
        with pytest.raises(InvalidEventError) as refused:
            ledger.append(_key_entry_draft(kind, _victim_key(ledger)), actor=Actor(org=ATTACKER))
        assert refused.value.field == "type"


# ---- an entry planted in the database is reported and harms no one -------------------------------

def _plant(ledger, kind: str) -> str:
    """Write a key entry signed by the attacker's own org key straight into the log, as a database
    writer (or a server from before this fix) could: event row, Merkle leaf and log state."""
    victim_key = _victim_key(ledger)
    with ledger.uow(write=True) as uow:
        attacker = uow.current_key(ATTACKER)
        draft = _key_entry_draft(kind, victim_key)
        body = EventBody.from_obj({"v": 1, "org": VICTIM, "key": attacker.id, "id": str(uuid.uuid4()),
                                   "at": "2026-04-01T08:00:00+08:00", **draft})
        tx = AppendTx(uow, ledger.signer)
        stored = tx.store(body, ledger.signer.sign(attacker, body.hash), None)
        tx.flush()
        uow.commit()
    make_checkpoint(ledger)
    return stored.hash


def test_the_outside_auditor_passes_on_the_demo(live_url) -> None:
    result = audit(live_url)
    assert result.entries > 100
    assert result.invalid == {}
    assert result.root_matches and result.checkpoint_signed
    assert {key["org"] for key in result.keys.values()} >= {ATTACKER, VICTIM}


def _other_attacks() -> dict[str, dict]:
    """The rest of issue 11's refused writes by a producer's token, each on a lot the attacker holds."""
    from farmtrace.demo import GTINS
    lot = "plot-nj-0"
    return {
        "a sample sent to the holder itself as its lab": {
            "type": "sample", "batch": lot, "data": {"lab": ATTACKER, "sample_id": "SELF-1"}},
        "another brand's GTIN on a packed lot": {
            "type": "packed", "batch": lot, "data": {"gtin": GTINS["baijiu"], "units": "10"}},
        "a packed lot code that is not the batch's": {
            "type": "packed", "batch": lot, "data": {"gtin": GTINS["rice"], "lot": "SQUAT-1", "units": "10"}},
        "a step dated 1970": {"type": "observe", "batch": lot, "at": "1970-01-01T00:00:00+08:00",
                              "data": {"step": "inspected"}},
        "a step dated 9999": {"type": "observe", "batch": lot, "at": "9999-12-31T23:59:59+08:00",
                              "data": {"step": "inspected"}},
    }


def test_the_outside_auditor_passes_after_every_refused_attack(client, bearer, ledger, live_url) -> None:
    before = ledger.row_counts()
    attacks = {kind: _key_entry_draft(kind, _victim_key(ledger)) for kind in LOG_ENTRY_TYPES} | _other_attacks()
    for name, draft in attacks.items():
        single = client.post("/api/v1/events", json=draft, headers=bearer("rice"))
        batch = client.post("/api/v1/events/batch", json={"items": [draft]}, headers=bearer("rice"))
        assert 400 <= single.status_code < 500 and 400 <= batch.status_code < 500, name
    assert ledger.row_counts() == before
    result = audit(live_url)
    assert result.ok, result.invalid


@pytest.mark.parametrize("kind", LOG_ENTRY_TYPES)
def test_a_planted_key_entry_is_reported_by_every_verifier_and_changes_no_key(ledger, live_url, kind) -> None:
    planted = _plant(ledger, kind)
    ledger.append({"type": "create", "batch": "tea-after", "data": {  # the victim goes on working
        "product": "云顶绿茶", "lot": "YD-AFTER", "family": "produce", "quantity": "20", "unit": "KGM"}},
        actor=Actor(org=VICTIM))
    make_checkpoint(ledger)

    # farmtrace verify: the planted entry is named, and nothing else fails
    report = verify_log(ledger.engine, log_origin=ledger.log_origin)
    assert [f.event_hash for f in report.failures] == [planted]
    assert "not by the log key" in report.failures[0].reason
    assert report.flagged == []

    # the outside auditor: the same single finding; the victim's key is still valid
    result = audit(live_url)
    assert result.root_matches and result.checkpoint_signed
    assert list(result.invalid.values()) == [f"a {kind} entry not signed by the log key: ignored"]
    victim_key = _victim_key(ledger)
    assert result.keys[victim_key]["until"] is None

    # every lot of the victim org still verifies offline (the bundle carries only the log key's entries)
    lots = _victim_lots(ledger)
    assert "tea-after" in lots
    for lot in lots:
        bundle = make_bundle(ledger, lot)
        assert planted not in {k["hash"] for k in bundle["keys"]}
        assert verify_bundle(json.dumps(bundle).encode()).ok, lot


def test_a_bundle_carrying_a_planted_key_entry_reports_it_and_keeps_the_victims_key(ledger) -> None:
    planted = _plant(ledger, "key_revoked")
    lot = _victim_lots(ledger)[0]
    bundle = make_bundle(ledger, lot)
    size = int(bundle["log"]["checkpoint"].split("\n")[1])  # made after the plant, so it covers it
    with ledger.uow() as uow:
        row = uow.event_by_hash(planted)
        proof = merkle.inclusion_proof(row.seq, size, uow.merkle_nodes)
    bundle["keys"].append(bundle_entry(row.seq, row.hash, row.canonical, row.signature, proof))
    report = verify_bundle(json.dumps(bundle).encode())
    assert {(f.code, f.event_hash) for f in report.failures} == {("key_entry_signer", planted)}

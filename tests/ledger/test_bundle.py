"""Offline bundles built here from keys and events signed in memory: what verifies and what each tampering is called."""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import sys
import subprocess
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from farmtrace.ledger import merkle
from farmtrace.ledger.bundle import (FORMAT, MESSAGES, BundleReport, bundle_entry, new_bundle, render,
                                   verify_bundle)
from farmtrace.ledger.canonical import canonicalize, sha256_hex
from farmtrace.ledger.checkpoint import Checkpoint, verifier_key
from farmtrace.ledger.events import EventBody
from farmtrace.ledger.signing import b64, key_id, public_bytes, sign_event_hash

ORIGIN = "test.farmtrace/log"
_ids = itertools.count(1)


def private_key(seed: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(seed.encode()).digest())


class MemoryLog:
    """A log kept in memory: the log key signs key entries and checkpoints, orgs sign their events.

    >>> log = MemoryLog(); farm = log.add_key("farm"); log.record("rice-1", "farm")
    >>> verify_bundle(log.bundle("rice-1")).ok
    True
    """

    def __init__(self) -> None:
        self.log_key = private_key("log")
        self.log_kid = key_id(public_bytes(self.log_key))
        self.vkey = verifier_key(ORIGIN, public_bytes(self.log_key))
        self.tree = merkle.MemoryTree()
        self.entries: list[dict[str, Any]] = []
        self.keys: dict[str, Ed25519PrivateKey] = {}      # key id -> private key
        self.current: dict[str, str] = {}                 # org -> its current key id
        self.heads: dict[str, str] = {}

    def _append(self, body: dict[str, Any], private: Ed25519PrivateKey) -> dict[str, Any]:
        parsed = EventBody.from_obj(body)
        seq = self.tree.append(merkle.leaf_hash(parsed.canonical))
        entry = {"seq": seq, "hash": parsed.hash, "canonical": parsed.canonical.decode(),
                 "signature": sign_event_hash(private, parsed.hash), "batch": parsed.batch, "type": parsed.type,
                 "key": parsed.key}
        self.entries.append(entry)
        return entry

    def _envelope(self, type_: str, org: str, key: str, data: dict[str, Any]) -> dict[str, Any]:
        return {"v": 1, "type": type_, "org": org, "key": key, "at": "2026-03-15T08:00:00+08:00",
                "id": f"00000000-0000-4000-8000-{next(_ids):012d}", "data": data}

    def add_key(self, org: str, *, rotate: bool = False) -> str:
        private = private_key(f"{org}-{len(self.keys)}")
        kid = key_id(public_bytes(private))
        data: dict[str, Any] = {"key_id": kid, "public_key": b64(public_bytes(private)), "algorithm": "ed25519"}
        if rotate:
            data["replaces"] = self.current[org]
        self._append(self._envelope("key_added", org, self.log_kid, data), self.log_key)
        self.keys[kid], self.current[org] = private, kid
        return kid

    def revoke(self, kid: str, org: str, **data: Any) -> dict[str, Any]:
        return self._append(self._envelope("key_revoked", org, self.log_kid,
                                           {"key_id": kid, "reason": "compromise", **data}), self.log_key)

    def record(self, batch: str, org: str, step: str = "inspected", *, key: str | None = None,
               at: str | None = None) -> dict[str, Any]:
        kid = key or self.current[org]
        if batch in self.heads:
            body = {**self._envelope("observe", org, kid, {"step": step}), "batch": batch, "prev": self.heads[batch]}
        else:
            body = {**self._envelope("create", org, kid, {"product": "富硒大米", "lot": batch[-8:], "family": "produce",
                                                          "quantity": "100", "unit": "KGM"}), "batch": batch}
        if at:
            body["at"] = at
        entry = self._append(body, self.keys[kid])
        self.heads[batch] = entry["hash"]
        return entry

    def bundle(self, subject: str, *batches: str) -> dict[str, Any]:
        size = self.tree.size
        note = Checkpoint(ORIGIN, size, self.tree.root(size)).to_note(ORIGIN, self.log_key).decode()

        def entry(e: dict[str, Any]) -> dict[str, Any]:
            return bundle_entry(e["seq"], e["hash"], e["canonical"], e["signature"],
                                self.tree.inclusion_proof(e["seq"], size))
        chains = []
        used: set[str] = set()
        for batch in (subject, *batches):
            events = [e for e in self.entries if e["batch"] == batch]
            used |= {e["key"] for e in events}
            chains.append({"id": batch, "head": events[-1]["hash"], "events": [entry(e) for e in events]})
        keys = [entry(e) for e in self.entries if e["batch"] is None
                and ({json.loads(e["canonical"])["data"]["key_id"],
                      json.loads(e["canonical"])["data"].get("replaces")} & used)]
        return new_bundle(subject=subject, log_key=self.vkey, checkpoint=note, keys=keys, batches=chains)


@pytest.fixture
def log() -> MemoryLog:
    """Two orgs, the farm's batch of four events and the mill's of three, interleaved."""
    log = MemoryLog()
    log.add_key("farm")
    log.add_key("mill")
    for i in range(4):
        log.record("rice-0001", "farm", f"step-{i}")
        if i < 3:
            log.record("mill-0001", "mill", f"milled-{i}")
    return log


def codes(report: BundleReport) -> set[str]:
    return {f.code for f in report.failures}


def resign(entry: dict[str, Any], body: dict[str, Any], private: Ed25519PrivateKey) -> None:
    """Rewrite an entry's body and sign it again (an insider with the key, but no way to fix the proofs)."""
    canonical = canonicalize(body)
    entry["canonical"], entry["hash"] = canonical.decode(), sha256_hex(canonical)
    entry["signature"] = sign_event_hash(private, entry["hash"])


def test_an_untouched_bundle_verifies_and_says_so_in_both_languages(log: MemoryLog) -> None:
    report = verify_bundle(log.bundle("rice-0001"))
    assert report.ok, report.failures
    c = report.counts
    assert (c.batches, c.chains_ok, c.events, c.events_ok, c.key_entries, c.proofs, c.proofs_ok) == (
        1, 1, 4, 4, 1, 5, 5)
    assert report.checkpoint_ok and report.checkpoint_size == 9 and not report.log_key_trusted
    zh, en = render(report, "zh_CN"), render(report, "en")
    assert "✔ 4 个事件全部签名有效" in zh and "取自数据包本身" in zh and "结论：全部核验通过" in zh
    assert "✔ all 4 events are signed" in en and "taken from the bundle itself" in en
    assert en.rstrip().endswith("Verdict: everything verifies")


def test_a_bundle_of_several_batches_bytes_or_text_verifies_with_the_trusted_log_key(log: MemoryLog) -> None:
    doc = log.bundle("rice-0001", "mill-0001")
    for form in (doc, json.dumps(doc, ensure_ascii=False), json.dumps(doc).encode()):
        report = verify_bundle(form, trusted_log_key=log.vkey)
        assert report.ok and report.log_key_trusted and report.counts.events == 7 and report.counts.chains_ok == 2
    assert "（由您提供）" in render(report)


def test_a_rotated_key_signs_until_its_replacement_and_the_new_key_after(log: MemoryLog) -> None:
    old = log.current["farm"]
    log.add_key("farm", rotate=True)
    log.record("rice-0001", "farm", "after rotation")
    assert verify_bundle(log.bundle("rice-0001")).ok
    late = log.record("rice-0001", "farm", "signed offline with the old key", key=old)
    report = verify_bundle(log.bundle("rice-0001"))
    assert [(f.code, f.event_hash) for f in report.failures] == [("key_rotated_out", late["hash"])]


def test_events_signed_after_a_suspected_compromise_are_flagged_not_failed(log: MemoryLog) -> None:
    kid = log.current["farm"]
    log.add_key("farm", rotate=True)
    log.revoke(kid, "farm", suspected_since="2026-03-15T07:00:00+08:00")
    report = verify_bundle(log.bundle("rice-0001"))
    assert report.ok and {f.code for f in report.flagged} == {"suspected_compromise"}
    assert len(report.flagged) == 4 and "⚑" in render(report, "en")


Change = Callable[[MemoryLog, dict[str, Any]], None]


def _flip_canonical(log: MemoryLog, doc: dict[str, Any]) -> None:
    e = doc["batches"][0]["events"][2]
    e["canonical"] = e["canonical"].replace("step-", "stap-")


def _swap_signature(log: MemoryLog, doc: dict[str, Any]) -> None:
    events = doc["batches"][0]["events"]
    events[1]["signature"] = events[2]["signature"]


def _wrong_proof_hash(log: MemoryLog, doc: dict[str, Any]) -> None:
    proof = doc["batches"][0]["events"][1]["proof"]
    proof[0] = ("0" if proof[0][0] != "0" else "1") + proof[0][1:]


def _foreign_checkpoint(log: MemoryLog, doc: dict[str, Any]) -> None:
    body = Checkpoint.from_body(doc["log"]["checkpoint"].split("\n\n")[0].encode() + b"\n")
    doc["log"]["checkpoint"] = body.to_note(ORIGIN, private_key("stranger")).decode()


def _foreign_log_key_and_checkpoint(log: MemoryLog, doc: dict[str, Any]) -> None:
    _foreign_checkpoint(log, doc)
    doc["log"]["key"] = verifier_key(ORIGIN, public_bytes(private_key("stranger")))


def _drop_middle(log: MemoryLog, doc: dict[str, Any]) -> None:
    del doc["batches"][0]["events"][2]


def _drop_first(log: MemoryLog, doc: dict[str, Any]) -> None:
    del doc["batches"][0]["events"][0]


def _drop_last(log: MemoryLog, doc: dict[str, Any]) -> None:
    del doc["batches"][0]["events"][-1]


def _reorder(log: MemoryLog, doc: dict[str, Any]) -> None:
    events = doc["batches"][0]["events"]
    events[1], events[2] = events[2], events[1]


def _resigned_by_insider(log: MemoryLog, doc: dict[str, Any]) -> None:
    e = doc["batches"][0]["events"][3]
    body = json.loads(e["canonical"])
    body["data"]["step"] = "never happened"
    resign(e, body, log.keys[body["key"]])


def _signed_by_other_org(log: MemoryLog, doc: dict[str, Any]) -> None:
    e = doc["batches"][0]["events"][1]
    body = json.loads(e["canonical"])
    body["key"] = log.current["mill"]
    resign(e, body, log.keys[log.current["mill"]])
    doc["keys"] += [k for k in log.bundle("mill-0001")["keys"]]


def _key_entry_dropped(log: MemoryLog, doc: dict[str, Any]) -> None:
    doc["keys"] = []


def _key_entry_signed_by_org(log: MemoryLog, doc: dict[str, Any]) -> None:
    k = doc["keys"][0]
    body = json.loads(k["canonical"])
    body["key"] = log.current["mill"]
    resign(k, body, log.keys[log.current["mill"]])


def _hash_field(log: MemoryLog, doc: dict[str, Any]) -> None:
    e = doc["batches"][0]["events"][0]
    e["hash"] = e["hash"][::-1]


def _uppercase_proof(log: MemoryLog, doc: dict[str, Any]) -> None:
    proof = doc["batches"][0]["events"][0]["proof"]
    proof[0] = proof[0].upper()


def _malleable_signature(log: MemoryLog, doc: dict[str, Any]) -> None:
    e = doc["batches"][0]["events"][0]  # same 64 bytes, stray bits set in the last base64 digit
    last = e["signature"][-3]
    e["signature"] = e["signature"][:-3] + "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".index(last) ^ 1] + "=="


def _not_canonical(log: MemoryLog, doc: dict[str, Any]) -> None:
    e = doc["batches"][0]["events"][0]
    text = json.dumps(json.loads(e["canonical"]), ensure_ascii=False)  # spaces after ':' and ','
    e["canonical"], e["hash"] = text, sha256_hex(text.encode())
    e["signature"] = sign_event_hash(log.keys[log.current["farm"]], e["hash"])


def _head(log: MemoryLog, doc: dict[str, Any]) -> None:
    doc["batches"][0]["head"] = doc["batches"][0]["events"][2]["hash"]


def _subject(log: MemoryLog, doc: dict[str, Any]) -> None:
    doc["subject"] = "rice-0002"


def _duplicate(log: MemoryLog, doc: dict[str, Any]) -> None:
    doc["batches"].append(copy.deepcopy(doc["batches"][0]))


def _listed_under_other_batch(log: MemoryLog, doc: dict[str, Any]) -> None:
    doc["batches"][0]["id"] = "mill-0001"
    doc["subject"] = "mill-0001"


def _unknown_field(log: MemoryLog, doc: dict[str, Any]) -> None:
    doc["batches"][0]["events"][0]["note"] = "hello"


def _seq_shifted(log: MemoryLog, doc: dict[str, Any]) -> None:
    doc["batches"][0]["events"][1]["seq"] += 1


TAMPERING: dict[str, tuple[Change, set[str]]] = {  # id: (change to a good bundle, the codes it must produce)
    "a changed canonical byte": (_flip_canonical, {"hash_mismatch", "bad_signature", "chain_link", "proof_invalid"}),
    "a swapped signature": (_swap_signature, {"bad_signature"}),
    "a wrong proof hash": (_wrong_proof_hash, {"proof_invalid"}),
    "a checkpoint signed by another key": (_foreign_checkpoint, {"checkpoint_invalid"}),
    "another log key and checkpoint": (_foreign_log_key_and_checkpoint, {"key_entry_signer", "unknown_key"}),
    "an event dropped from the middle": (_drop_middle, {"chain_link"}),
    "the first event dropped": (_drop_first, {"chain_start"}),
    "the last event dropped": (_drop_last, {"head_mismatch"}),
    "two events reordered": (_reorder, {"chain_link", "chain_order"}),
    "an event re-signed by its org": (_resigned_by_insider, {"proof_invalid", "head_mismatch"}),
    "an event signed with another org's key": (_signed_by_other_org, {"key_not_of_org", "proof_invalid",
                                                                       "chain_link"}),
    "the key entries dropped": (_key_entry_dropped, {"unknown_key"}),
    "a key entry signed by an org key": (_key_entry_signed_by_org, {"key_entry_signer", "unknown_key",
                                                                     "proof_invalid"}),
    "a changed hash field": (_hash_field, {"hash_mismatch"}),
    "a proof hash in upper case": (_uppercase_proof, {"bad_field", "chain_start"}),
    "a signature in non-canonical base64": (_malleable_signature, {"bad_signature"}),
    "a body that is not canonical": (_not_canonical, {"not_canonical", "proof_invalid", "chain_link"}),
    "a head that is not the last event": (_head, {"head_mismatch"}),
    "a subject not in the bundle": (_subject, {"subject_missing"}),
    "a batch listed twice": (_duplicate, {"bad_field", "duplicate_entry"}),
    "events listed under another batch": (_listed_under_other_batch, {"wrong_batch"}),
    "an unknown field": (_unknown_field, {"bad_field", "chain_start"}),
    "a shifted log index": (_seq_shifted, {"proof_invalid"}),
}


@pytest.mark.parametrize(("change", "expected"), list(TAMPERING.values()), ids=list(TAMPERING))
def test_each_tampering_is_refused_and_named(log: MemoryLog, change: Change, expected: set[str]) -> None:
    doc = log.bundle("rice-0001")
    change(log, doc)
    report = verify_bundle(doc)
    assert not report.ok
    assert codes(report) == expected, [f.en for f in report.failures]
    for f in report.failures:
        assert f.code in MESSAGES and f.zh_CN and f.en and "{" not in f.en
    assert "✘" in render(report, "zh_CN") and "FAILED" in render(report, "en")


def test_an_event_signed_after_its_key_was_revoked_is_named(log: MemoryLog) -> None:
    kid = log.current["farm"]
    revoked = log.revoke(kid, "farm")
    late = log.record("rice-0001", "farm", "written by the thief", key=kid)
    report = verify_bundle(log.bundle("rice-0001"))
    assert [(f.code, f.event_hash, f.batch, f.index) for f in report.failures] == [
        ("key_revoked", late["hash"], "rice-0001", late["seq"])]
    assert f"revoked at index {revoked['seq']}" in report.failures[0].en
    assert "已在位置" in report.failures[0].zh_CN


def test_an_event_signed_before_its_key_was_added_is_named(log: MemoryLog) -> None:
    early = log.entries[2]  # the farm's first event, before a key_added we move past it
    doc = log.bundle("rice-0001")
    key_entry = doc["keys"][0]
    body = json.loads(key_entry["canonical"])
    assert body["type"] == "key_added" and early["seq"] > key_entry["seq"]
    key_entry["seq"] = early["seq"] + 1  # claims a later position: the proof no longer holds either
    assert {"key_not_yet_valid", "proof_invalid"} <= codes(verify_bundle(doc))


def test_a_trusted_log_key_wins_over_the_bundles_own(log: MemoryLog) -> None:
    doc = log.bundle("rice-0001")
    _foreign_log_key_and_checkpoint(log, doc)
    report = verify_bundle(doc, trusted_log_key=log.vkey)
    assert {"log_key_mismatch", "checkpoint_invalid"} <= codes(report)
    assert report.log_key == log.vkey and report.log_key_trusted


BAD_DOCUMENTS: dict[str, tuple[Any, str]] = {  # id: (document, the code)
    "empty bytes": (b"", "not_json"),
    "not UTF-8": (b"\xff{}", "not_json"),
    "a float": (b'{"format": 1.5}', "bad_field"),
    "a duplicate key": (b'{"format": 1, "format": 2}', "not_json"),
    "NaN": (b'{"format": NaN}', "not_json"),
    "deep nesting": (b"[" * 100_000, "not_json"),
    "a list": ([], "bad_field"),
    "another format": ({"format": "farmtrace-bundle/v2", "subject": "", "log": {}, "keys": [], "batches": []},
                       "bad_format"),
    "no batches": ({"format": FORMAT, "subject": "x", "log": {"key": 1, "checkpoint": None}, "keys": {},
                    "batches": []}, "bad_field"),
    "a lone surrogate": ('{"format": "\\ud800"}', "bad_field"),
    "a huge integer": (b'{"seq": ' + b"9" * 5000 + b"}", "not_json"),
}


@pytest.mark.parametrize(("doc", "code"), list(BAD_DOCUMENTS.values()), ids=list(BAD_DOCUMENTS))
def test_a_malformed_document_is_a_named_failure_not_a_crash(doc: Any, code: str) -> None:
    report = verify_bundle(doc)
    assert not report.ok and code in codes(report)
    render(report, "en")


def test_every_field_of_every_entry_with_a_wrong_type_is_named_not_a_crash(log: MemoryLog) -> None:
    good = log.bundle("rice-0001")
    paths: list[tuple[Any, ...]] = [("format",), ("subject",), ("log",), ("log", "key"), ("log", "checkpoint"),
                                    ("keys",), ("batches",), ("batches", 0), ("batches", 0, "id"),
                                    ("batches", 0, "head"), ("batches", 0, "events")]
    paths += [(*base, name) for base in (("keys", 0), ("batches", 0, "events", 1)) for name in
              ("seq", "hash", "canonical", "signature", "proof")]
    for path, wrong in itertools.product(paths, (None, True, -1, "x", [], {}, [1], "\ud800")):
        doc = copy.deepcopy(good)
        target = doc
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = wrong
        report = verify_bundle(doc)
        assert not report.ok, (path, wrong)
        render(report, "zh_CN")


def test_the_verifier_imports_no_database_or_web_code() -> None:
    code = ("import sys, farmtrace.ledger.bundle; bad = [m for m in sys.modules if m.split('.')[0] in "
            "('sqlalchemy', 'sqlmodel', 'flask', 'psycopg') or m.startswith('farmtrace.storage')]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_strings_from_the_bundle_are_shown_escaped_never_as_terminal_control(log: MemoryLog) -> None:
    doc = log.bundle("rice-0001")
    doc["subject"] = "\x1b[2J\ud800"
    doc["log"]["key"] = "\ud800+abcdef12+" + doc["log"]["key"].split("+")[2]
    doc["batches"][0]["id"] = "rice\n0001"
    report = verify_bundle(doc)
    assert {"log_key_invalid", "subject_missing", "wrong_batch"} <= codes(report)
    for lang in ("zh_CN", "en"):
        text = render(report, lang)
        text.encode("utf-8")
        assert "\x1b" not in text and "\\x1b[2J" in text and "rice\\n0001" in text
    json.dumps(report.to_json(), ensure_ascii=False).encode("utf-8")


def test_the_command_exits_0_1_or_2_with_one_line_for_bad_arguments(log: MemoryLog, tmp_path, capsys) -> None:
    from farmtrace.verify_offline import main
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps(log.bundle("rice-0001"), ensure_ascii=False), encoding="utf-8")
    bad.write_bytes(b"{not json")
    assert main([str(good), "--lang", "en", "--log-key", log.vkey]) == 0
    assert "Verdict: everything verifies" in capsys.readouterr().out
    assert main([str(bad), "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["failures"][0]["code"] == "not_json"
    for args in ([str(tmp_path / "missing.json")], [str(tmp_path)], [str(good), "--lang", "fr"],
                 [str(good), "--log-key", "not-a-key"], []):
        with pytest.raises(SystemExit) as exited:
            main(args)
        err = capsys.readouterr().err
        assert exited.value.code == 2 and err.startswith("verify-offline: ") and err.count("\n") == 1, err

"""verify.js (the in-browser bundle verifier) agrees with farmtrace.ledger.bundle.verify_bundle, and
consumer.js shows its verdict on the page, without a request leaving 127.0.0.1."""

from __future__ import annotations

import base64
import copy
import json
import sqlite3
from collections.abc import Callable
from typing import Any

import pytest

from farmtrace.ledger.bundle import MESSAGES, verify_bundle
from farmtrace.ledger.canonical import canonicalize
from farmtrace.ledger.checkpoint import verifier_key
from farmtrace.ledger.errors import InvalidEventError
from farmtrace.ledger.events import EVENT_TYPES, EventBody
from farmtrace.services.exports.bundle import make_bundle
from farmtrace.rules.families import load_all
from farmtrace.services.log import log_verifier_key

from .conftest import LiveServer, Phone, assert_local_only

LOTS = ["bottles-pc-1", "rice-nj-1", "cuts-qy-1"]  # baijiu bottles, rice with lineage, pork cuts
Doc = dict[str, Any]


# ---- tampering ------------------------------------------------------------------------------


def _subject_events(doc: Doc) -> list[Doc]:
    return doc["batches"][0]["events"]


def _edit_data(events: list[Doc], edit: Callable[[str, str], str | None]) -> None:
    """Change the first data value `edit` changes, keeping the text canonical and the body valid."""
    for event in events:
        body = json.loads(event["canonical"])
        for name, value in sorted(body["data"].items()):
            new = edit(name, value) if isinstance(value, str) else None
            if new is None:
                continue
            edited = canonicalize({**body, "data": {**body["data"], name: new}})
            try:
                EventBody.parse(edited)  # an attacker keeps the body valid (see test_family_data_rules_...)
            except InvalidEventError:
                continue
            event["canonical"] = edited.decode()
            return
    raise AssertionError("nothing to edit")


def changed_body(doc: Doc) -> None:
    """Edit a quantity inside a canonical text (a valid value: the hash and signature no longer fit)."""
    _edit_data(_subject_events(doc)[1:], lambda k, v: str(int(v) + 1) if v.isdigit() else None)


def changed_product(doc: Doc) -> None:
    """Rename the product in the lot's first event."""
    _edit_data(_subject_events(doc)[:1], lambda k, v: v + "（特级）" if k == "product" else None)


def not_canonical(doc: Doc) -> None:
    event = _subject_events(doc)[0]
    event["canonical"] = event["canonical"].replace(",", ", ", 1)


def wrong_signature(doc: Doc) -> None:
    event = _subject_events(doc)[-1]
    sig = bytearray(base64.b64decode(event["signature"]))
    sig[10] ^= 0x01
    event["signature"] = base64.b64encode(bytes(sig)).decode()


def wrong_key_entry_signature(doc: Doc) -> None:
    entry = doc["keys"][0]
    sig = bytearray(base64.b64decode(entry["signature"]))
    sig[40] ^= 0x80
    entry["signature"] = base64.b64encode(bytes(sig)).decode()


def planted_key_entry(doc: Doc) -> None:
    """A key_revoked of the subject's signing key, claiming to be signed by that org key (as a producer's
    token could append one before): reported as an invalid key entry, and the key stays valid."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from farmtrace.ledger.signing import sign_event_hash
    victim = json.loads(_subject_events(doc)[0]["canonical"])
    body = EventBody.from_obj({"v": 1, "type": "key_revoked", "org": victim["org"], "key": victim["key"],
                               "id": "00000000-0000-4000-8000-000000000001", "at": "2026-01-01T00:00:00+08:00",
                               "data": {"key_id": victim["key"], "reason": "compromise"}})
    last = max(e["seq"] for b in doc["batches"] for e in b["events"])
    doc["keys"].append({"seq": last - 1 if last else 0, "hash": body.hash, "canonical": body.canonical.decode(),
                        "signature": sign_event_hash(Ed25519PrivateKey.generate(), body.hash), "proof": []})


def wrong_proof(doc: Doc) -> None:
    event = next(e for e in _subject_events(doc) if e["proof"])
    h = event["proof"][0]
    event["proof"][0] = ("0" if h[0] != "0" else "1") + h[1:]


def wrong_checkpoint_signature(doc: Doc) -> None:
    text, sigs = doc["log"]["checkpoint"].rsplit("\n\n", 1)
    signer, blob = sigs.rstrip("\n").split(" ")[1:]
    raw = bytearray(base64.b64decode(blob))
    raw[20] ^= 0x01  # inside the signature, after the 4-byte key id
    doc["log"]["checkpoint"] = f"{text}\n\n\u2014 {signer} {base64.b64encode(bytes(raw)).decode()}\n"


def dropped_event(doc: Doc) -> None:
    """Broken chain link: an event in the middle of the chain is left out."""
    del _subject_events(doc)[1]


def swapped_events(doc: Doc) -> None:
    events = _subject_events(doc)
    events[1], events[2] = events[2], events[1]


def bundled_log_key_replaced(doc: Doc) -> None:
    """An attacker's own log key in the bundle (no trusted key given): nothing it carries verifies."""
    doc["log"]["key"] = verifier_key("test.farmtrace/log", bytes(range(32)))


def dropped_key_entries(doc: Doc) -> None:
    doc["keys"] = []


def duplicated_event(doc: Doc) -> None:
    events = _subject_events(doc)
    events.append(copy.deepcopy(events[-1]))


def wrong_format(doc: Doc) -> None:
    doc["format"] = "farmtrace-bundle/v0"


def unknown_field(doc: Doc) -> None:
    _subject_events(doc)[0]["extra"] = 1


def subject_missing(doc: Doc) -> None:
    doc["subject"] = "no-such-lot"


TAMPERS: dict[str, Callable[[Doc], None] | None] = {
    "untampered": None, "changed_body": changed_body, "changed_product": changed_product,
    "not_canonical": not_canonical,
    "wrong_signature": wrong_signature, "wrong_key_entry_signature": wrong_key_entry_signature,
    "planted_key_entry": planted_key_entry,
    "wrong_proof": wrong_proof, "wrong_checkpoint_signature": wrong_checkpoint_signature,
    "dropped_event": dropped_event, "swapped_events": swapped_events,
    "bundled_log_key_replaced": bundled_log_key_replaced, "dropped_key_entries": dropped_key_entries,
    "duplicated_event": duplicated_event, "wrong_format": wrong_format,
    "unknown_field": unknown_field, "subject_missing": subject_missing,
}
OTHER_LOG_KEY = verifier_key("test.farmtrace/log", bytes(range(1, 33)))


def cases(live: LiveServer) -> list[tuple[str, Doc, str | None]]:
    """(name, bundle, trusted log key) for every lot × tampering, plus trusted-key cases."""
    real_key = log_verifier_key(live.ledger)
    out: list[tuple[str, Doc, str | None]] = []
    for lot in LOTS:
        doc = make_bundle(live.ledger, lot)
        for name, tamper in TAMPERS.items():
            copied = copy.deepcopy(doc)
            if tamper is not None:
                tamper(copied)
            out.append((f"{lot}/{name}", copied, None))
        out.append((f"{lot}/trusted_key", doc, real_key))
        out.append((f"{lot}/wrong_trusted_key", doc, OTHER_LOG_KEY))
        out.append((f"{lot}/invalid_trusted_key", doc, "not a key"))
    return out


def python_verdict(doc: Doc, trusted: str | None) -> tuple[bool, set[tuple[Any, ...]]]:
    report = verify_bundle(doc, trusted_log_key=trusted)
    return report.ok, {(f.code, f.index, f.batch) for f in report.failures}


def js_verdict(page: Any, doc: Doc, trusted: str | None, mode: str) -> tuple[bool, set[tuple[Any, ...]], Doc]:
    result = page.evaluate("([doc, key, mode]) => FarmtraceVerify.verifyBundle(doc, "
                           "{trustedLogKey: key, ed25519: mode})", [doc, trusted, mode])
    return result["ok"], {(f["code"], f["seq"], f["batch"]) for f in result["failures"]}, result


NO_WEBCRYPTO_ED25519 = """(() => {  // as on an old Android WebView: WebCrypto without Ed25519
  const subtle = crypto.subtle, importKey = subtle.importKey.bind(subtle), verify = subtle.verify.bind(subtle);
  const refuse = (alg) => [alg, alg && alg.name].some((a) => String(a).toLowerCase() === "ed25519");
  const no = () => Promise.reject(new DOMException("Algorithm: Unrecognized name", "NotSupportedError"));
  subtle.importKey = (format, data, alg, ...rest) => refuse(alg) ? no() : importKey(format, data, alg, ...rest);
  subtle.verify = (alg, ...rest) => refuse(alg) ? no() : verify(alg, ...rest);
})();"""


@pytest.fixture
def verify_page(phone: Phone, live_server: LiveServer) -> Any:
    page = phone.new_page()
    page.goto(f"{live_server.url}/_test/verify.html")
    assert page.evaluate("typeof FarmtraceVerify") == "object"
    return page


@pytest.mark.parametrize("mode", ["webcrypto", "fallback"])
def test_js_agrees_with_python(phone: Phone, live_server: LiveServer, mode: str) -> None:
    """Same verdict and failure codes, once with WebCrypto's Ed25519 and once with it taken away."""
    verify_page = phone.new_page()
    if mode == "fallback":
        verify_page.add_init_script(NO_WEBCRYPTO_ED25519)
    verify_page.goto(f"{live_server.url}/_test/verify.html")
    assert verify_page.evaluate("FarmtraceVerify.hasNativeEd25519()") is (mode == "webcrypto")
    disagreements, failing = [], 0
    for name, doc, trusted in cases(live_server):
        want = python_verdict(doc, trusted)
        ok, codes, result = js_verdict(verify_page, doc, trusted, "auto")
        failing += not want[0]
        if (ok, codes) != want:
            messages = [f["message"] for f in result["failures"]]
            disagreements.append(f"{name}: python {want}, js {(ok, codes)} ({messages})")
        if name.endswith("/planted_key_entry"):  # reported, and it revokes nothing
            assert "key_entry_signer" in {c[0] for c in codes} and "key_revoked" not in {c[0] for c in codes}, name
        if name.endswith("/untampered"):
            assert ok and result["events"] == sum(len(b["events"]) for b in doc["batches"]), name
    assert not disagreements, "\n".join(disagreements)
    assert failing >= 3 * (len(TAMPERS) + 1), "each tampering must make the bundle fail"


def test_family_data_rules_are_the_servers(verify_page: Any, live_server: LiveServer) -> None:
    """verify.js does not re-run each event type's data rules: a changed value that breaks one (here a
    serial count that no longer fits its range) is invalid_body in Python and bad_signature in JS. Both
    fail the bundle at the same event."""
    doc = make_bundle(live_server.ledger, "bottles-pc-1")
    event = next(e for e in _subject_events(doc) if '"type":"commissioned"' in e["canonical"])
    body = json.loads(event["canonical"])
    body["data"]["count"] = str(int(body["data"]["count"]) + 1)
    event["canonical"] = canonicalize(body).decode()
    ok, codes = python_verdict(doc, None)
    js_ok, js_codes, _ = js_verdict(verify_page, doc, None, "auto")
    assert not ok and not js_ok
    assert ("invalid_body", event["seq"], "bottles-pc-1") in codes
    assert js_codes == codes - {("invalid_body", event["seq"], "bottles-pc-1")} | {
        ("bad_signature", event["seq"], "bottles-pc-1")}


def test_pure_ed25519_matches_webcrypto(verify_page: Any) -> None:
    """The BigInt fallback gives WebCrypto's (and cryptography's) verdict on valid and altered signatures."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    vectors = []
    for i in range(6):
        private = Ed25519PrivateKey.generate()
        public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        message = f"farmtrace {i}".encode() * i
        signature = bytearray(private.sign(message))
        if i % 2:
            signature[i * 9] ^= 1 << i
        vectors.append([public.hex(), signature.hex(), message.hex(), i % 2 == 0])
    got = verify_page.evaluate("""async (vectors) => {
        const b = (h) => Uint8Array.from(h.match(/../g) || [], (x) => parseInt(x, 16));
        const out = [];
        for (const [pub, sig, msg] of vectors)
          out.push([await FarmtraceVerify.ed25519Verify(b(pub), b(sig), b(msg), true),
                    await FarmtraceVerify.ed25519Verify(b(pub), b(sig), b(msg), false)]);
        return out;
    }""", vectors)
    assert got == [[want, want] for *_, want in vectors]


def test_js_tables_match_python(verify_page: Any) -> None:
    """verify.js's copies of the event-type registry and the failure messages are Python's."""
    load_all()
    tables = verify_page.evaluate("({types: FarmtraceVerify.TYPES, genesis: FarmtraceVerify.GENESIS,"
                                  " messages: FarmtraceVerify.MESSAGES})")
    assert sorted(tables["types"]) == sorted(EVENT_TYPES)
    assert sorted(tables["genesis"]) == sorted(name for name, kind in EVENT_TYPES.items() if kind.genesis)
    assert {code: tuple(m) for code, m in tables["messages"].items()} == MESSAGES


# ---- consumer.js ----------------------------------------------------------------------------


def _open_lot(phone: Phone, server: LiveServer, batch: str) -> Any:
    page = phone.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(f"{server.url}/_test/consumer.html?batch={batch}")
    done = ",".join(f"#verify[data-state={state}]" for state in ("ok", "fail", "error", "unsupported"))
    page.locator(done).wait_for(timeout=20_000)  # a locator, not wait_for_function: the CSP forbids eval
    page.errors = errors
    return page


def test_consumer_page_verifies_a_normal_lot(phone: Phone, live_server: LiveServer) -> None:
    page = _open_lot(phone, live_server, "rice-nj-1")
    section = page.locator("#verify")
    assert section.get_attribute("data-state") == "ok"
    assert "ok" in section.get_attribute("class").split()
    assert page.locator("#verify-status").text_content() == "已在本机验证"
    assert page.locator("#verify-status").is_visible()
    assert page.locator("#verify-failures li").count() == 0
    assert not page.errors
    assert_local_only(phone.requests)


def test_consumer_page_fails_a_lot_tampered_in_the_database(phone: Phone, fresh_server: LiveServer) -> None:
    """An attacker with the SQLite file drops the append-only triggers and rewrites an event's text."""
    bundle = make_bundle(fresh_server.ledger, "bottles-pc-1")
    target = bundle["batches"][0]["events"][1]
    body = json.loads(target["canonical"])
    name = next(k for k, v in sorted(body["data"].items()) if isinstance(v, str))
    body["data"][name] += "（改）"
    with sqlite3.connect(fresh_server.db_path) as db:
        for (trigger,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'events'"):
            db.execute(f'DROP TRIGGER "{trigger}"')
        changed = db.execute("UPDATE events SET canonical = ? WHERE seq = ?",
                             (canonicalize(body).decode(), target["seq"])).rowcount
    assert changed == 1
    page = _open_lot(phone, fresh_server, "bottles-pc-1")
    section = page.locator("#verify")
    assert section.get_attribute("data-state") == "fail"
    assert "fail" in section.get_attribute("class").split()
    assert page.locator("#verify-status").text_content() == "本机验证未通过"
    codes = page.locator("#verify-failures li").evaluate_all("items => items.map(li => li.dataset.code)")
    assert "hash_mismatch" in codes and "bad_signature" in codes
    assert page.locator("#verify-failures li code").first.text_content() in codes
    assert_local_only(phone.requests)


def test_consumer_page_reports_an_unreachable_bundle(phone: Phone, live_server: LiveServer) -> None:
    page = _open_lot(phone, live_server, "no-such-lot")
    assert page.locator("#verify").get_attribute("data-state") == "error"
    assert page.locator("#verify-status").text_content() == "本机验证未通过"


def test_consumer_page_without_webcrypto_says_so(phone: Phone, live_server: LiveServer) -> None:
    """No crypto.subtle (plain HTTP on a LAN address): the unsupported text, the server's verdict stays."""
    phone.add_init_script("Object.defineProperty(Crypto.prototype, 'subtle', {get: () => undefined})")
    page = _open_lot(phone, live_server, "rice-nj-1")
    assert page.locator("#verify").get_attribute("data-state") == "unsupported"
    assert page.locator("#verify-status").text_content() == "此浏览器无法在本机验证"
    assert page.locator("#verify-server").is_visible()
    assert not any(url.endswith("/bundle.json") for url in phone.requests)


def test_no_request_leaves_the_machine(phone: Phone, live_server: LiveServer) -> None:
    """Loading the page asks only 127.0.0.1; a request elsewhere would be aborted and reported."""
    page = _open_lot(phone, live_server, "cuts-qy-1")
    assert page.locator("#verify").get_attribute("data-state") == "ok"
    assert any(url.endswith("/bundle.json") for url in phone.requests)
    assert any(url.endswith("/static/verify.js") for url in phone.requests)
    assert_local_only(phone.requests)
    # The guard itself: a request elsewhere (here a navigation; the CSP already stops a fetch) is
    # aborted before it leaves, and recorded so assert_local_only names it.
    with pytest.raises(Exception, match="ERR_BLOCKED_BY_CLIENT"):
        page.goto("http://192.0.2.1/elsewhere")
    with pytest.raises(AssertionError, match="tried to leave"):
        assert_local_only(phone.requests)

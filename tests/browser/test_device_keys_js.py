"""verify.js accepts a device key's key_added entry (its `data.device` label is signed text like any other)
and, like the Python verifier, refuses what the device signed after its revocation."""

from __future__ import annotations

import json
import uuid
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from farmtrace.ledger.bundle import verify_bundle
from farmtrace.ledger.events import EventBody
from farmtrace.ledger.signing import b64, key_id, public_bytes, sign_event_hash
from farmtrace.services.devices import register_device_key, revoke_device_key
from farmtrace.services.exports.bundle import make_bundle
from farmtrace.services.log import log_verifier_key, make_checkpoint
from farmtrace.services.transaction import Actor, AppendTx, now_rfc3339

from .conftest import LiveServer, Phone

FARM = "nanjiang-se-rice"


def _verdicts(phone: Phone, server: LiveServer, doc: dict[str, Any]) -> tuple[Any, Any]:
    page = phone.new_page()
    page.goto(f"{server.url}/_test/verify.html")
    key = log_verifier_key(server.ledger)
    js = page.evaluate("([doc, key]) => FarmtraceVerify.verifyBundle(doc, {trustedLogKey: key})", [doc, key])
    py = verify_bundle(doc, trusted_log_key=key)
    return ((js["ok"], sorted((f["code"], f["seq"]) for f in js["failures"])),
            (py.ok, sorted((f.code, f.index) for f in py.failures)))


def test_verify_js_accepts_device_signed_entries_and_refuses_one_signed_after_revocation(
        phone: Phone, fresh_server: LiveServer) -> None:
    ledger = fresh_server.ledger
    private = Ed25519PrivateKey.generate()
    kid = key_id(public_bytes(private))
    register_device_key(ledger, FARM, b64(public_bytes(private)), "平板 1 号", by_user=None)

    def body(prev: str | None) -> EventBody:
        obj: dict[str, Any] = {"v": 1, "batch": "tab-js-1", "org": FARM, "key": kid, "id": str(uuid.uuid4()),
                               "at": now_rfc3339()}
        if prev is None:
            obj |= {"type": "create", "data": {"product": "富硒大米", "lot": "TAB-JS-1", "family": "produce",
                                               "quantity": "50", "unit": "KGM"}}
        else:
            obj |= {"type": "observe", "prev": prev, "data": {"step": "weighed"}}
        return EventBody.from_obj(obj)

    first = body(None)
    created = ledger.append_signed(first.as_obj(), sign_event_hash(private, first.hash), actor=Actor(org=FARM))
    revoke_device_key(ledger, FARM, kid, by_user=None, reason="compromise")
    js, py = _verdicts(phone, fresh_server, make_bundle(ledger, "tab-js-1"))
    assert js == py == (True, [])

    late = body(created.hash)  # written behind the server's back after the revocation
    with ledger.uow(write=True) as uow:
        tx = AppendTx(uow, ledger.signer)
        planted = tx.store(late, sign_event_hash(private, late.hash), uow.lock_batch("tab-js-1"))
        tx.flush()
        uow.commit()
    make_checkpoint(ledger, force=True)
    doc = json.loads(json.dumps(make_bundle(ledger, "tab-js-1")))
    js, py = _verdicts(phone, fresh_server, doc)
    assert js == py == (False, [("key_revoked", planted.seq)])

"""Device keys: a tablet's own key is a sub-key of its org, registered and revoked by log entries.

What a device signs verifies from the log alone (farmtrace verify, the offline bundle, the outside
auditor); it signs for its own org only; after its revocation its entries are refused and reported,
while what it signed before still verifies; the org's own key works alongside throughout.
"""

import json
import threading
import uuid
from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from farmtrace.services import audit
from farmtrace.services.devices import device_keys, register_device_key, revoke_device_key, signed_on_device
from farmtrace.services.exports.bundle import make_bundle
from farmtrace.services.log import log_verifier_key, make_checkpoint
from farmtrace.services.transaction import Actor, AppendTx, now_rfc3339
from farmtrace.services.verify import verify_batch, verify_log
from farmtrace.ledger.bundle import verify_bundle
from farmtrace.ledger.errors import (CustodyError, InvalidRequestError, KeyStateError, NotFoundError,
                                     PermissionDeniedError, SignatureError)
from farmtrace.ledger.events import EventBody
from farmtrace.ledger.signing import b64, key_id, public_bytes, sign_event_hash
from farmtrace.storage.models import Event
from tests.auditor import audit as outside_audit

import farmtrace.rules  # noqa: F401  (declares the food event types the bundle verifier checks against)


class Tablet:
    """A tablet holding its own key, as the producer app's WebCrypto key: the server sees the public half only."""

    def __init__(self, org: str) -> None:
        self.org = org
        self.private = Ed25519PrivateKey.generate()
        self.public_b64 = b64(public_bytes(self.private))
        self.key = key_id(public_bytes(self.private))

    def body(self, batch: str, *, head: str | None, org: str | None = None, key: str | None = None) -> dict:
        """A create (no head) or an observe step, made on the tablet now."""
        body = {"v": 1, "batch": batch, "org": org or self.org, "key": key or self.key, "id": str(uuid.uuid4()),
                "at": now_rfc3339()}
        if head is None:
            return body | {"type": "create", "data": {"product": "富硒大米", "lot": f"T-{uuid.uuid4().hex[:8]}",
                                                      "family": "produce", "quantity": "50", "unit": "KGM"}}
        return body | {"type": "observe", "prev": head, "data": {"step": "weighed"}}

    def sign(self, body: dict) -> str:
        return sign_event_hash(self.private, EventBody.from_obj(body).hash)


def head(ledger, batch: str) -> str | None:
    with ledger.uow() as uow:
        row = uow.batch(batch)
        return row.head if row else None


def send(ledger, tablet: Tablet, batch: str, *, actor: str | None = None, **changes):
    """Sign a step on `tablet` and send it pre-signed as `actor` (the tablet's org by default)."""
    body = tablet.body(batch, head=head(ledger, batch)) | changes
    return ledger.append_signed(body, tablet.sign(body), actor=Actor(org=actor or tablet.org))


def org_key(ledger, org: str) -> str:
    with ledger.uow() as uow:
        return uow.current_key(org).id


def bundle_report(ledger, batch: str):
    return verify_bundle(json.dumps(make_bundle(ledger, batch)).encode(), trusted_log_key=log_verifier_key(ledger))


@pytest.fixture
def farm(ledger, make_org) -> str:
    return make_org("produce")


@pytest.fixture
def tablet(ledger, farm) -> Tablet:
    tablet = Tablet(farm)
    register_device_key(ledger, farm, tablet.public_b64, "平板 1 号", by_user=None)
    return tablet


@pytest.fixture
def live_url(ledger, tmp_path) -> Iterator[str]:
    """The web app over real HTTP on the test's database, for the outside auditor."""
    from werkzeug.serving import make_server
    from farmtrace.web import create_app
    app = create_app({"database_url": str(ledger.engine.url.render_as_string(hide_password=False)),
                      "instance": str(tmp_path / "instance"), "secret_key": ledger.secret_key,
                      "log_origin": ledger.log_origin, "TESTING": True})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)
    app.extensions["ledger"].engine.dispose()
    if "throttle" in app.extensions:
        app.extensions["throttle"].close()


# ---- registering ---------------------------------------------------------------------------------

def test_registering_a_device_writes_a_key_added_entry_by_the_log_key_that_leaves_the_org_key_valid(
        ledger, farm) -> None:
    tablet = Tablet(farm)
    own_key = org_key(ledger, farm)
    made = register_device_key(ledger, farm, tablet.public_b64, " 平板 1 号 ", by_user=None)
    assert (made.id, made.org, made.label, made.public_key) == (tablet.key, farm, "平板 1 号", tablet.public_b64)
    with ledger.uow() as uow:
        entry = uow.session.get(Event, made.added_seq)
        log_key = uow.current_key(None, purpose="log").id
        row = uow.key(tablet.key)
    body = json.loads(entry.canonical)
    assert (body["type"], body["org"], body["key"]) == ("key_added", farm, log_key)
    assert body["data"] == {"key_id": tablet.key, "public_key": tablet.public_b64, "algorithm": "ed25519",
                            "device": "平板 1 号"}  # no `replaces`
    assert row.purpose == "device" and row.sealed_private is None  # the server holds no private half
    assert org_key(ledger, farm) == own_key  # still the org's custodial key
    assert [(d.id, d.label, d.added_at, d.revoked_at) for d in device_keys(ledger, farm)] == [
        (tablet.key, "平板 1 号", body["at"], None)]
    assert verify_log(ledger.engine, log_origin=ledger.log_origin).ok
    assert ("device_key_added", f"{tablet.key} ({farm})") in {(a.action, a.subject) for a in audit.recent(ledger)}


def test_an_admin_of_the_org_registers_and_revokes_its_devices_and_the_audit_trail_names_them(
        ledger, farm) -> None:
    ledger.create_user(farm, "farm-admin", "a-long-password", role="admin")
    tablet = Tablet(farm)
    register_device_key(ledger, farm, tablet.public_b64, "称重台", by_user="farm-admin")
    revoke_device_key(ledger, farm, tablet.key, by_user="farm-admin", reason="retired")
    trail = {(a.actor, a.action, a.subject) for a in audit.recent(ledger)}
    assert {("farm-admin", "device_key_added", f"{tablet.key} ({farm})"),
            ("farm-admin", "device_key_revoked", f"{tablet.key} ({farm})")} <= trail


BAD_REGISTRATIONS = {  # id: (public key, label, by_user, error, field); public key None: a fresh tablet's
    "a key that is not base64": ("not base64!", "平板", None, InvalidRequestError, "public_key"),
    "a key of 31 bytes": (b64(bytes(31)), "平板", None, InvalidRequestError, "public_key"),
    "a key with stray padding bits": (b64(bytes(32))[:-2] + "B=", "平板", None, InvalidRequestError, "public_key"),
    "the identity point, with which anyone signs anything": (b64((1).to_bytes(32, "little")), "平板", None,
                                                              InvalidRequestError, "public_key"),
    "all zeros, a point of order 4": (b64(bytes(32)), "平板", None, InvalidRequestError, "public_key"),
    "an empty label": (None, "  ", None, InvalidRequestError, "label"),
    "a label of 65 characters": (None, "平" * 65, None, InvalidRequestError, "label"),
    "a label with a line break": (None, "平板\n2", None, InvalidRequestError, "label"),
    "a producer of the org": (None, "平板", "farm-worker", PermissionDeniedError, "by_user"),
    "an admin of another org": (None, "平板", "other-admin", PermissionDeniedError, "by_user"),
    "an unknown user": (None, "平板", "nobody", NotFoundError, "by_user"),
}


@pytest.mark.parametrize(("public", "label", "by_user", "error", "field"), list(BAD_REGISTRATIONS.values()),
                         ids=list(BAD_REGISTRATIONS))
def test_a_bad_registration_is_refused_naming_its_field_and_writes_nothing(
        ledger, farm, make_org, public, label, by_user, error, field) -> None:
    other = make_org("produce")
    ledger.create_user(farm, "farm-worker", "a-long-password", role="producer")
    ledger.create_user(other, "other-admin", "a-long-password", role="admin")
    before = ledger.row_counts()
    with pytest.raises(error) as refused:
        register_device_key(ledger, farm, public or Tablet(farm).public_b64, label, by_user=by_user)
    assert refused.value.field == field
    assert ledger.row_counts() == before


def test_a_device_of_an_unknown_org_is_refused(ledger) -> None:
    with pytest.raises(NotFoundError) as refused:
        register_device_key(ledger, "no-such-org", Tablet("no-such-org").public_b64, "平板", by_user=None)
    assert refused.value.field == "org"


def test_a_public_key_is_registered_once_ever_whoever_asks(ledger, farm, make_org, tablet) -> None:
    other = make_org("produce")
    with ledger.uow() as uow:
        farm_public = uow.current_key(farm).public_key
        log_public = uow.current_key(None, purpose="log").public_key
    before = ledger.row_counts()
    for org, public in ((farm, tablet.public_b64), (other, tablet.public_b64), (farm, farm_public),
                        (other, farm_public), (farm, log_public)):
        with pytest.raises(KeyStateError) as refused:
            register_device_key(ledger, org, public, "另一台平板", by_user=None)
        assert refused.value.field == "public_key"
    revoke_device_key(ledger, farm, tablet.key, by_user=None)
    before = ledger.row_counts()
    with pytest.raises(KeyStateError):  # a revoked key does not come back
        register_device_key(ledger, farm, tablet.public_b64, "平板 1 号", by_user=None)
    assert ledger.row_counts() == before


def test_a_label_names_one_current_device_of_an_org_and_is_free_again_once_revoked(ledger, farm, tablet) -> None:
    with pytest.raises(KeyStateError) as refused:
        register_device_key(ledger, farm, Tablet(farm).public_b64, "平板 1 号", by_user=None)
    assert refused.value.field == "label"
    revoke_device_key(ledger, farm, tablet.key, by_user=None)
    replacement = Tablet(farm)
    register_device_key(ledger, farm, replacement.public_b64, "平板 1 号", by_user=None)
    assert [d.label for d in device_keys(ledger, farm)] == ["平板 1 号", "平板 1 号"]


# ---- signing on the device -----------------------------------------------------------------------

def test_a_device_signed_event_is_accepted_and_verifies_on_the_server_offline_and_for_an_outside_auditor(
        ledger, farm, tablet, live_url) -> None:
    created = send(ledger, tablet, "tab-b1")
    step = send(ledger, tablet, "tab-b1")
    assert created.key == step.key == tablet.key
    assert signed_on_device(ledger) == {tablet.key: "平板 1 号"}
    assert signed_on_device(ledger, [created.key, org_key(ledger, farm)]) == {tablet.key: "平板 1 号"}

    report = verify_log(ledger.engine, log_origin=ledger.log_origin)
    assert report.ok, report.failures
    with ledger.uow() as uow:
        assert all(check.ok for check in verify_batch(uow, "tab-b1"))
    offline = bundle_report(ledger, "tab-b1")
    assert offline.ok and offline.log_key_trusted, offline.failures
    make_checkpoint(ledger, force=True)
    seen = outside_audit(live_url)
    assert seen.ok, seen.invalid
    assert seen.keys[tablet.key]["org"] == farm and seen.keys[tablet.key]["until"] is None


def test_a_device_key_of_one_org_can_never_sign_for_another(ledger, farm, make_org, tablet) -> None:
    other = make_org("produce")
    send(ledger, tablet, "tab-b1")
    other_batch = "other-b1"
    ledger.append({"type": "create", "batch": other_batch, "data": {
        "product": "富硒大米", "lot": "O-1", "family": "produce", "quantity": "10", "unit": "KGM"}}, actor=Actor(org=other))
    before = ledger.row_counts()
    attempts = {  # id: (batch, body org, sending org, error, field)
        "the other org sends a body of its own signed by this device": ("other-new", other, other, SignatureError, "key"),
        "the other org sends a step on its batch signed by this device": (other_batch, other, other, SignatureError,
                                                                         "key"),
        "the other org sends the device's own org in the body": ("tab-b1", farm, other, CustodyError, "org"),
        "the device's org sends a body naming the other org": ("other-new", other, farm, CustodyError, "org"),
        "the device's org appends to the other org's batch": (other_batch, farm, farm, CustodyError, None),
    }
    for name, (batch, body_org, sender, error, field) in attempts.items():
        with pytest.raises(error) as refused:
            send(ledger, tablet, batch, actor=sender, org=body_org)
        assert field is None or refused.value.field == field, name
    assert ledger.row_counts() == before


def test_a_revoked_device_is_refused_from_then_on_and_what_it_signed_before_still_verifies(
        ledger, farm, tablet, live_url) -> None:
    send(ledger, tablet, "tab-b1")
    earlier_body = tablet.body("tab-b1", head=head(ledger, "tab-b1"))
    earlier = ledger.append_signed(earlier_body, tablet.sign(earlier_body), actor=Actor(org=farm))
    gone = revoke_device_key(ledger, farm, tablet.key, by_user=None, reason="compromise")
    assert gone.is_revoked and gone.reason == "compromise" and gone.revoked_seq > earlier.seq

    before = ledger.row_counts()
    with pytest.raises(SignatureError) as refused:
        send(ledger, tablet, "tab-b1")
    assert refused.value.field == "key" and "no longer valid" in refused.value.message
    assert ledger.row_counts() == before
    again = ledger.append_signed(earlier_body, tablet.sign(earlier_body), actor=Actor(org=farm))
    assert (again.hash, again.created) == (earlier.hash, False)  # a tablet's retry of an entry it synced before

    assert verify_log(ledger.engine, log_origin=ledger.log_origin).ok
    with ledger.uow() as uow:
        assert all(check.ok for check in verify_batch(uow, "tab-b1"))
    offline = bundle_report(ledger, "tab-b1")
    assert offline.ok, offline.failures
    make_checkpoint(ledger, force=True)
    seen = outside_audit(live_url)
    assert seen.ok, seen.invalid
    assert seen.keys[tablet.key]["until"] == gone.revoked_seq
    assert signed_on_device(ledger) == {tablet.key: "平板 1 号"}  # its earlier entries still say so


def test_an_entry_of_a_revoked_device_written_behind_the_servers_back_is_reported_by_every_verifier(
        ledger, farm, tablet, live_url) -> None:
    send(ledger, tablet, "tab-b1")
    revoke_device_key(ledger, farm, tablet.key, by_user=None, reason="compromise")
    body = EventBody.from_obj(tablet.body("tab-b1", head=head(ledger, "tab-b1")))
    with ledger.uow(write=True) as uow:  # as a database writer (or a server without the check) could
        tx = AppendTx(uow, ledger.signer)
        batch = uow.lock_batch("tab-b1")
        planted = tx.store(body, tablet.sign(body.as_obj()), batch)
        tx.flush()
        uow.commit()
    make_checkpoint(ledger, force=True)

    report = verify_log(ledger.engine, log_origin=ledger.log_origin)
    assert [f.event_hash for f in report.failures] == [planted.hash]
    assert "after it was revoked" in report.failures[0].reason
    with ledger.uow() as uow:
        checks = verify_batch(uow, "tab-b1")
    assert [check.ok for check in checks] == [True, False]
    offline = bundle_report(ledger, "tab-b1")
    assert [(f.code, f.event_hash) for f in offline.failures] == [("key_revoked", planted.hash)]
    seen = outside_audit(live_url)
    assert list(seen.invalid) == [planted.seq]


def test_the_orgs_own_key_signs_alongside_its_devices_before_and_after_one_is_revoked(
        ledger, farm, tablet, record) -> None:
    own_key = org_key(ledger, farm)
    send(ledger, tablet, "tab-b1")
    assert record("tab-b1").key == own_key  # custodial signing never picks a device key
    assert send(ledger, tablet, "tab-b1").key == tablet.key
    rotated = ledger.rotate_key(farm)  # a routine rotation replaces the org key, not the device's
    assert send(ledger, tablet, "tab-b1").key == tablet.key
    revoke_device_key(ledger, farm, tablet.key, by_user=None)
    assert record("tab-b1").key == rotated.id
    assert verify_log(ledger.engine, log_origin=ledger.log_origin).ok
    with ledger.uow() as uow:
        assert [check.ok for check in verify_batch(uow, "tab-b1")] == [True] * 5


# ---- revoking ------------------------------------------------------------------------------------

def test_only_a_device_key_of_the_org_named_is_revoked_as_one(ledger, farm, make_org, tablet) -> None:
    other = make_org("produce")
    before = ledger.row_counts()
    refusals = {  # id: (org, key id, reason, error, field)
        "the org's own key": (farm, org_key(ledger, farm), "retired", NotFoundError, "key_id"),
        "the device, named as another org's": (other, tablet.key, "retired", NotFoundError, "key_id"),
        "a key nobody has": (farm, "0" * 16, "retired", NotFoundError, "key_id"),
        "a malformed key id": (farm, "ABC", "retired", InvalidRequestError, "key_id"),
        "an unknown reason": (farm, tablet.key, "lost", InvalidRequestError, "reason"),
    }
    for name, (org, kid, reason, error, field) in refusals.items():
        with pytest.raises(error) as refused:
            revoke_device_key(ledger, org, kid, by_user=None, reason=reason)
        assert refused.value.field == field, name
    assert ledger.row_counts() == before
    revoke_device_key(ledger, farm, tablet.key, by_user=None)
    with pytest.raises(KeyStateError):
        revoke_device_key(ledger, farm, tablet.key, by_user=None)

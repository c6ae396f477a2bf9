"""What a tablet sends (/producer/sync) and how it registers itself (/producer/device/register), over
HTTP with a browser session: pre-signed steps and custodial drafts land once however often they are
resent; a forged request (no CSRF token), a regulator, a key of another org, a malformed group, a
transformation that makes more than it took: each refused with a JSON error, nothing written."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import Flask
from flask.testing import FlaskClient

from farmtrace.ledger.events import EventBody
from farmtrace.ledger.signing import b64, key_id, public_bytes, sign_event_hash
from farmtrace.services.devices import register_device_key
from farmtrace.services.transaction import now_rfc3339
from tests.web.test_account import csrf_of
from tests.web.test_producer import login

FARM, SLAUGHTERHOUSE = "qingyu-pig-farm", "bazhong-meat-park"


class Tablet:
    def __init__(self, org: str) -> None:
        self.org, self.private = org, Ed25519PrivateKey.generate()
        self.public = b64(public_bytes(self.private))
        self.key = key_id(public_bytes(self.private))

    def signed(self, type_: str, batch: str, data: dict[str, Any], prev: str | None = None) -> dict[str, Any]:
        body = {"v": 1, "type": type_, "batch": batch, "org": self.org, "key": self.key, "id": str(uuid.uuid4()),
                "at": now_rfc3339(), "data": data} | ({"prev": prev} if prev else {})
        return {"body": body, "signature": sign_event_hash(self.private, EventBody.from_obj(body).hash)}


def pigs(batch: str) -> dict[str, Any]:
    return {"product": "青峪猪 生猪", "lot": batch.upper(), "family": "pork", "quantity": "2", "unit": "head",
            "tags": ["151192100000401", "151192100000402"], "birth_or_arrival": "2026-01-10", "breed": "青峪猪"}


def sync(client: FlaskClient, items: Any, *, csrf: bool = True) -> Any:
    headers = {"X-CSRFToken": csrf_of(client, "/account/password")} if csrf else {}
    return client.post("/producer/sync", json={"items": items} if not isinstance(items, str) else None,
                       data=items if isinstance(items, str) else None, headers=headers)


@pytest.fixture
def tablet(app: Flask) -> Tablet:
    made = Tablet(FARM)
    register_device_key(app.extensions["ledger"], FARM, made.public, "猪场平板 测试", by_user=None)
    return made


def test_a_pre_signed_step_and_a_draft_each_land_once_however_often_they_are_sent(
        app: Flask, client: FlaskClient, tablet: Tablet) -> None:
    ledger = app.extensions["ledger"]
    login(client, "pigfarm")
    first = tablet.signed("animal_tagged", "qy-sync-1", pigs("qy-sync-1"))
    answers = [sync(client, [first]) for _ in range(3)]
    assert [a.status_code for a in answers] == [201, 200, 200]
    assert [a.get_json()["items"][0]["created"] for a in answers] == [True, False, False]
    stored = answers[0].get_json()["items"][0]
    assert stored["key"] == tablet.key
    draft = {"type": "observe", "batch": "qy-sync-1", "id": str(uuid.uuid4()), "at": now_rfc3339(),
             "data": {"step": "离线巡查"}}
    assert [sync(client, [draft]).status_code for _ in range(2)] == [201, 200]
    with ledger.uow() as uow:
        events = uow.events_of_batch("qy-sync-1")
    assert [e.type for e in events] == ["animal_tagged", "observe"]
    assert events[0].key_id == tablet.key and events[1].key_id != tablet.key  # the draft: the org's key


BAD = {  # id: (who, what is sent, CSRF token sent, status, error code or None for a non-JSON refusal)
    "no CSRF token (a forged form elsewhere)": ("pigfarm", "good", False, 400, None),
    "a regulator": ("regulator", "good", True, 403, None),
    "another org sends the farm tablet's step": ("meat", "good", True, 403, "not_holder"),
    "a body the tablet did not sign": ("pigfarm", "tampered", True, 422, "bad_signature"),
    "not JSON": ("pigfarm", "not json", True, 422, "invalid_request"),
    "items is not a list": ("pigfarm", {"body": 1}, True, 422, "invalid_request"),
    "an empty group": ("pigfarm", [], True, 422, "invalid_request"),
    "a group of 51": ("pigfarm", "too many", True, 422, "invalid_request"),
}


@pytest.mark.parametrize(("who", "sent", "with_csrf", "status", "code"), list(BAD.values()), ids=list(BAD))
def test_a_bad_or_forged_sync_is_refused_and_writes_nothing(app: Flask, client: FlaskClient, tablet: Tablet,
                                                            who: str, sent: Any, with_csrf: bool, status: int,
                                                            code: str | None) -> None:
    ledger = app.extensions["ledger"]
    good = tablet.signed("animal_tagged", "qy-sync-2", pigs("qy-sync-2"))
    items: Any = {"good": [good], "not json": "not json",
                  "tampered": [{**good, "body": {**good["body"], "data": {**good["body"]["data"], "breed": "外来猪"}}}],
                  "too many": [good] * 51}.get(sent, sent) if isinstance(sent, str) else sent
    login(client, who)
    before = ledger.row_counts()
    answer = sync(client, items, csrf=with_csrf)
    assert answer.status_code == status, answer.get_data(as_text=True)[:300]
    if code is not None:
        assert answer.get_json()["error"]["code"] == code
    assert ledger.row_counts() == before


def test_a_transformation_signed_on_a_tablet_is_all_or_nothing_and_may_not_make_more_than_it_took(
        app: Flask, client: FlaskClient) -> None:
    ledger = app.extensions["ledger"]
    meat = Tablet(SLAUGHTERHOUSE)
    register_device_key(ledger, SLAUGHTERHOUSE, meat.public, "屠宰车间平板 测试", by_user=None)
    login(client, "meat")
    lot = meat.signed("create", "bm-sync-1", {"product": "青峪猪 白条", "lot": "BM-SYNC-1", "family": "pork",
                                              "quantity": "100", "unit": "KGM"})
    assert sync(client, [lot]).status_code == 201
    head = lot_head(app, "bm-sync-1")

    def transformation(made: str) -> list[dict[str, Any]]:
        consume = meat.signed("consume", "bm-sync-1", {"quantity": "100", "unit": "KGM", "into": ["bm-sync-2"]},
                              prev=head)
        digest = EventBody.from_obj(consume["body"]).hash
        output = meat.signed("transform", "bm-sync-2", {
            "product": "青峪猪 分割肉", "lot": "BM-SYNC-2", "family": "pork", "quantity": made, "unit": "KGM",
            "process": "cutting", "inputs": [{"batch": "bm-sync-1", "event": digest, "quantity": "100",
                                              "unit": "KGM"}]})
        return [consume, output]

    before = ledger.row_counts()
    too_much = sync(client, transformation("120"))
    assert too_much.status_code == 422  # the output's own rule, or the balance over the group
    assert too_much.get_json()["error"]["field"] in ("items[1].data.quantity", "outputs")
    assert ledger.row_counts() == before
    made = sync(client, transformation("95"))
    assert made.status_code == 201, made.get_json()
    assert [i["batch"] for i in made.get_json()["items"]] == ["bm-sync-1", "bm-sync-2"]


def lot_head(app: Flask, batch: str) -> str:
    with app.extensions["ledger"].uow() as uow:
        row = uow.batch(batch)
        assert row is not None and row.head is not None
        return row.head


def test_only_an_admin_of_the_org_registers_a_tablet_and_a_key_only_once(app: Flask, client: FlaskClient) -> None:
    ledger = app.extensions["ledger"]
    public = b64(public_bytes(Ed25519PrivateKey.generate()))

    def register(label: str, key: str = public) -> Any:
        return client.post("/producer/device/register", json={"public_key": key, "label": label},
                           headers={"X-CSRFToken": csrf_of(client, "/producer/")})

    login(client, "pigfarm")
    before = ledger.row_counts()
    assert register("平板 A").status_code == 403  # a producer, not an admin
    assert ledger.row_counts() == before
    login(client, "pigfarm-admin")
    made = register("平板 A")
    assert made.status_code == 201 and made.get_json()["label"] == "平板 A"
    before = ledger.row_counts()
    again = register("平板 B")
    assert again.status_code == 409 and again.get_json()["error"]["field"] == "public_key"
    assert "已登记" in again.get_json()["error"]["message"]  # in Chinese by default
    bad = register("平板 C", key="not a key")
    assert bad.status_code == 422 and bad.get_json()["error"]["field"] == "public_key"
    assert ledger.row_counts() == before
    listed = client.get("/producer/device/keys.json").get_json()
    assert listed["org"] == FARM and [k["label"] for k in listed["keys"].values()] == ["平板 A"]


def test_a_lots_head_is_told_only_to_its_holder(app: Flask, client: FlaskClient, tablet: Tablet) -> None:
    login(client, "pigfarm")
    assert sync(client, [tablet.signed("animal_tagged", "qy-sync-3", pigs("qy-sync-3"))]).status_code == 201
    mine = client.get("/producer/batches/qy-sync-3/head.json")
    assert mine.status_code == 200 and mine.get_json()["head"] == lot_head(app, "qy-sync-3")
    assert client.get("/producer/batches/no-such-lot/head.json").status_code == 404
    login(client, "meat")
    assert client.get("/producer/batches/qy-sync-3/head.json").status_code == 403

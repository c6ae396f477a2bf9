import json
import uuid

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jsonschema import Draft202012Validator

from farmtrace.services import keys as core_keys
from farmtrace.ledger.canonical import canonicalize
from farmtrace.ledger.events import EventBody
from farmtrace.ledger.signing import sign_event_hash, unb64, verify_event_signature
from farmtrace.services.tokens import create_token
from farmtrace.services.verify import verify_batch

RICE_PLOT = "plot-nj-0"  # held by nanjiang-se-rice (user "rice") in the demo data


def observe(step: str = "irrigated", batch: str = RICE_PLOT, **extra):
    return {"type": "observe", "batch": batch, "id": str(uuid.uuid4()), "data": {"step": step}, **extra}


@pytest.fixture
def ledger(app):
    return app.extensions["ledger"]


@pytest.fixture
def conforms(client):
    """conforms(body, "StoredEventOut"): raise unless `body` matches that component schema of the served document."""
    doc = client.get("/api/v1/openapi.json").get_json()

    def check(body, name: str) -> None:
        Draft202012Validator({"$ref": f"#/components/schemas/{name}", "components": doc["components"]}).validate(body)
    return check


# ---- custodial appends ----
def test_a_draft_is_signed_for_the_tokens_org_and_verifies(client, bearer, ledger, conforms) -> None:
    response = client.post("/api/v1/events", json=observe(), headers=bearer("rice"))
    assert response.status_code == 201, response.get_json()
    stored = response.get_json()
    conforms(stored, "StoredEventOut")
    body = EventBody.parse(stored["canonical"].encode())
    assert body.org == "nanjiang-se-rice" and body.hash == stored["hash"] and stored["created"] is True
    key = next(k for k in client.get("/api/v1/keys").get_json()["keys"] if k["id"] == stored["key"])
    assert verify_event_signature(unb64(key["public_key"]), stored["hash"], stored["signature"])
    with ledger.uow() as uow:
        assert all(check.ok for check in verify_batch(uow, RICE_PLOT))


def test_a_retry_with_the_same_id_returns_the_stored_event(client, bearer, ledger) -> None:
    draft = observe()
    first = client.post("/api/v1/events", json=draft, headers=bearer("rice")).get_json()
    before = ledger.row_counts()
    again = client.post("/api/v1/events", json=draft, headers=bearer("rice"))
    assert again.status_code == 200 and again.get_json() == {**first, "created": False}
    clash = client.post("/api/v1/events", json={**draft, "data": {"step": "harvested"}}, headers=bearer("rice"))
    assert clash.status_code == 409 and clash.get_json()["error"]["field"] == "id"
    assert ledger.row_counts() == before


BAD_DRAFTS = {  # id: (change to a valid draft, status, field the error must name)
    "a server-chosen key": ({"key": "0011223344556677"}, 422, "key"),
    "a sequence number": ({"seq": 5}, 422, "seq"),
    "a hash": ({"hash": "0" * 64}, 422, "hash"),
    "another org": ({"org": "yunding-tea"}, 403, "org"),
    "a float quantity": ({"data": {"step": "weighed", "quantity": 1.5}}, 422, "data.quantity"),
    "an unknown type": ({"type": "teleport"}, 422, "type"),
    "a type that is not text": ({"type": 7}, 422, "type"),
    "an unknown batch": ({"batch": "no-such-batch"}, 404, "batch"),
    "a stale prev": ({"prev": "a" * 64}, 409, "prev"),
}


@pytest.mark.parametrize(("change", "status", "field"), list(BAD_DRAFTS.values()), ids=list(BAD_DRAFTS))
def test_a_bad_draft_is_refused_naming_its_field_and_nothing_is_written(client, bearer, ledger, change, status,
                                                                         field) -> None:
    before = ledger.row_counts()
    response = client.post("/api/v1/events", json={**observe(), **change}, headers=bearer("rice"))
    assert response.status_code == status, response.get_json()
    error = response.get_json()["error"]
    assert error["field"] == field and error["message"] and error["code"]
    assert ledger.row_counts() == before


UNPARSABLE = {"not JSON": b"{nope", "a JSON list": b"[1, 2]", "empty": b"", "NaN": b'{"type": NaN}',
              "a duplicate key": b'{"type": "observe", "type": "observe"}', "not UTF-8": b'{"type": "\xff"}'}


@pytest.mark.parametrize("raw", list(UNPARSABLE.values()), ids=list(UNPARSABLE))
def test_a_body_that_is_not_a_json_object_gets_a_4xx_and_writes_nothing(client, bearer, ledger, raw) -> None:
    before = ledger.row_counts()
    for url in ("/api/v1/events", "/api/v1/events/batch"):
        response = client.post(url, data=raw, headers=bearer("rice"), content_type="application/json")
        assert 400 <= response.status_code < 500 and response.get_json()["error"]["message"]
    assert ledger.row_counts() == before


# ---- pre-signed appends ----
@pytest.fixture
def own_key_org(app, ledger):
    """An org that holds its own signing key (the server has only the public half); its user is 'ownkey'."""
    ledger.create_org("own-key-farm", "自持密钥合作社", kind="producer", family="produce", with_key=False)
    private = Ed25519PrivateKey.generate()
    key = ledger.write(lambda uow: core_keys.add_org_key(uow, ledger.signer, "own-key-farm", private=private,
                                                         hold_private=False))
    ledger.create_user("own-key-farm", "ownkey", "a-long-password")
    return {"org": "own-key-farm", "key": key.id, "private": private,
            "headers": {"Authorization": "Bearer " + create_token(ledger, "ownkey").token}}


def genesis(org: dict, batch: str = "own-b1", lot: str = "OWN-1") -> dict:
    return {"v": 1, "type": "create", "batch": batch, "org": org["org"], "key": org["key"], "id": str(uuid.uuid4()),
            "at": "2026-04-01T08:00:00+08:00", "data": {"product": "富硒大米", "lot": lot, "family": "produce",
                                                        "quantity": "100", "unit": "KGM"}}


def signed(body: dict, private) -> dict:
    digest = EventBody.from_obj(body).hash
    return {"body": body, "signature": sign_event_hash(private, digest)}


def test_a_correctly_presigned_event_is_accepted_and_verifies(client, own_key_org, ledger, conforms) -> None:
    body = genesis(own_key_org)
    response = client.post("/api/v1/events", json=signed(body, own_key_org["private"]), headers=own_key_org["headers"])
    assert response.status_code == 201, response.get_json()
    stored = response.get_json()
    conforms(stored, "StoredEventOut")
    assert stored["canonical"] == canonicalize(body).decode() and stored["key"] == own_key_org["key"]
    with ledger.uow() as uow:
        assert all(check.ok for check in verify_batch(uow, "own-b1"))
    retry = client.post("/api/v1/events", json=signed(body, own_key_org["private"]), headers=own_key_org["headers"])
    assert retry.status_code == 200 and retry.get_json()["hash"] == stored["hash"]


def test_custodial_signing_is_refused_for_an_org_that_holds_its_own_key(client, own_key_org, ledger) -> None:
    before = ledger.row_counts()
    response = client.post("/api/v1/events", json={k: v for k, v in genesis(own_key_org).items() if k not in ("key", "v")},
                           headers=own_key_org["headers"])
    assert response.status_code == 409 and response.get_json()["error"]["field"] == "key"
    assert ledger.row_counts() == before


def _rice_key(ledger) -> str:
    with ledger.uow() as uow:
        return uow.current_key("nanjiang-se-rice").id


PRESIGNED_REFUSALS = {  # id: (how to spoil the submission, field the error must name)
    "a key of another org": (lambda org, ledger: signed({**genesis(org), "key": _rice_key(ledger)}, org["private"]),
                             "key"),
    "a key nobody registered": (lambda org, ledger: signed({**genesis(org), "key": "00" * 8}, org["private"]), "key"),
    "a signature by another private key": (lambda org, ledger: signed(genesis(org), Ed25519PrivateKey.generate()),
                                           "signature"),
    "a signature over a different body": (
        lambda org, ledger: {"body": genesis(org), "signature": signed(genesis(org, lot="OTHER"), org["private"])[
            "signature"]}, "signature"),
    "a body changed after signing": (
        lambda org, ledger: (lambda s: {**s, "body": {**s["body"], "data": {**s["body"]["data"], "quantity": "900"}}})(
            signed(genesis(org), org["private"])), "signature"),
    "a signature that is not base64": (lambda org, ledger: {"body": genesis(org), "signature": "!!"}, "signature"),
    "an extra envelope field": (lambda org, ledger: {**signed(genesis(org), org["private"]), "seq": 1}, "seq"),
}


@pytest.mark.parametrize(("spoil", "field"), list(PRESIGNED_REFUSALS.values()), ids=list(PRESIGNED_REFUSALS))
def test_a_spoiled_presigned_event_is_refused_clearly_and_nothing_is_written(client, own_key_org, ledger, spoil,
                                                                              field) -> None:
    before = ledger.row_counts()
    response = client.post("/api/v1/events", json=spoil(own_key_org, ledger), headers=own_key_org["headers"])
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert error["field"] == field and error["message"]
    assert ledger.row_counts() == before


def test_an_event_presigned_with_a_revoked_key_is_refused(client, own_key_org, ledger) -> None:
    ledger.revoke_key(own_key_org["key"], reason="compromise")
    before = ledger.row_counts()
    response = client.post("/api/v1/events", json=signed(genesis(own_key_org), own_key_org["private"]),
                           headers=own_key_org["headers"])
    assert response.status_code == 422
    assert response.get_json()["error"] == {"code": "bad_signature", "field": "key",
                                            "message": response.get_json()["error"]["message"]}
    assert "no longer valid" in response.get_json()["error"]["message"]
    assert ledger.row_counts() == before


# ---- batch appends ----
def test_a_batch_append_is_answered_per_item(client, bearer, conforms) -> None:
    items = [observe(f"step-{i}") for i in range(3)]
    response = client.post("/api/v1/events/batch", json={"items": items}, headers=bearer("rice"))
    assert response.status_code == 201, response.get_json()
    conforms(response.get_json(), "BatchAppendOut")
    stored = response.get_json()["items"]
    assert [s["seq"] for s in stored] == list(range(stored[0]["seq"], stored[0]["seq"] + 3))
    retry = client.post("/api/v1/events/batch", json={"items": items}, headers=bearer("rice"))
    assert retry.status_code == 200 and [s["created"] for s in retry.get_json()["items"]] == [False] * 3


BAD_BATCHES = {  # id: (items, status, field)
    "one float among good items": ([observe(), observe(), {**observe(), "data": {"step": 1.5}}], 422, "items[2].data.step"),
    "one extra field": ([observe(), {**observe(), "hash": "00"}], 422, "items[1].hash"),
    "one batch held by another org": ([observe(), observe(batch="tea-yd-0")], 403, "items[1].batch"),
    "no items": ([], 422, "items"),
    "501 items": ([observe(f"s{i}") for i in range(501)], 422, "items"),
}


@pytest.mark.parametrize(("items", "status", "field"), list(BAD_BATCHES.values()), ids=list(BAD_BATCHES))
def test_a_bad_item_refuses_the_whole_batch_append(client, bearer, ledger, items, status, field) -> None:
    before = ledger.row_counts()
    response = client.post("/api/v1/events/batch", json={"items": items}, headers=bearer("rice"))
    assert response.status_code == status, response.get_json()
    assert response.get_json()["error"]["field"] == field
    assert ledger.row_counts() == before


# ---- batches, trace, recall, orgs ----
def test_a_producer_lists_only_batches_its_org_holds_or_made(client, bearer, conforms) -> None:
    listed = client.get("/api/v1/batches", headers=bearer("rice")).get_json()
    conforms(listed, "BatchList")
    assert listed["batches"] and all("nanjiang-se-rice" in (b["holder"], b["origin"]) for b in listed["batches"])


def test_a_regulator_searches_every_batch(client, bearer) -> None:
    found = client.get("/api/v1/batches?q=pc-1", headers=bearer("regulator")).get_json()["batches"]
    assert {b["id"] for b in found} == {"bottles-pc-1", "blend-pc-1", "base-a-pc-1", "base-b-pc-1", "grains-pc-1"}
    literal = client.get("/api/v1/batches?q=%25", headers=bearer("regulator")).get_json()["batches"]
    assert all("%" in b["id"] + b["lot"] + b["product"] for b in literal)  # % is matched as itself
    assert client.get("/api/v1/batches?limit=0", headers=bearer("regulator")).status_code == 422


def test_a_batch_shows_its_events_findings_and_recall(client, bearer, conforms) -> None:
    detail = client.get("/api/v1/batches/paddy-nj-1-0", headers=bearer("tea")).get_json()
    conforms(detail, "BatchDetail")
    assert detail["recall"] and detail["batch"]["id"] == "paddy-nj-1-0"
    assert len(detail["events"]) == detail["batch"]["events"] and detail["findings"]


def test_the_trace_walks_backward_and_forward(client, conforms) -> None:
    backward = client.get("/api/v1/batches/rice-nj-1/trace?direction=backward").get_json()
    conforms(backward, "TraceOut")
    assert {"paddy-nj-1-0", "paddy-nj-1-1"} <= {b["id"] for b in backward["batches"]}
    forward = client.get("/api/v1/batches/paddy-nj-1-0/trace?direction=forward").get_json()
    assert "rice-nj-1" in {b["id"] for b in forward["batches"]}
    assert client.get("/api/v1/batches/rice-nj-1/trace?direction=sideways").get_json()["error"]["field"] == "direction"
    assert client.get("/api/v1/batches/no-such/trace").status_code == 404


def test_a_regulator_recalls_a_batch_and_its_descendants(client, bearer, conforms) -> None:
    response = client.post("/api/v1/batches/paddy-nj-0-0/recall", json={"reason": "镉超标 (GB 2762-2022)"},
                           headers=bearer("regulator"))
    assert response.status_code == 201, response.get_json()
    conforms(response.get_json(), "StoredEventOut")
    trace = client.get("/api/v1/batches/paddy-nj-0-0/trace?direction=forward").get_json()
    assert all(b["recall"] == response.get_json()["hash"] for b in trace["batches"])


def test_orgs_are_public_registry_data_only(client, conforms) -> None:
    orgs = client.get("/api/v1/orgs").get_json()
    conforms(orgs, "OrgList")
    assert {"id", "name", "kind", "family", "county"} == set(orgs["orgs"][0])


def test_the_existing_read_endpoints_conform_to_the_document(client, conforms) -> None:
    entries = client.get("/api/v1/log/entries?start=0&end=5").get_json()
    conforms(entries, "LogEntries")
    conforms(client.get("/api/v1/keys").get_json(), "KeyList")
    conforms(client.get(f"/api/v1/events/{entries['entries'][3]['hash']}").get_json(), "EventOut")
    size = client.get("/api/v1/log/entries?start=0&end=1").get_json()["size"]
    conforms(client.get(f"/api/v1/log/inclusion?hash={entries['entries'][3]['hash']}").get_json(), "InclusionProof")
    conforms(client.get(f"/api/v1/log/consistency?from=3&to={size}").get_json(), "ConsistencyProof")
    conforms(client.get("/api/v1/batches/x/trace").get_json(), "ErrorBody")


# ---- the document ----
def test_the_openapi_document_describes_every_api_route(app, client) -> None:
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.1.") and doc["info"]["title"] and doc["components"]["securitySchemes"]["bearer"]
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(("/api/v1/", "/log/")):
            path = rule.rule.replace("<", "{").replace(">", "}")
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                assert method.lower() in doc["paths"][path], f"{method} {path} is not documented"
    for name, schema in doc["components"]["schemas"].items():
        Draft202012Validator.check_schema(schema)
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            assert operation["responses"] and operation["operationId"]
            for status, response in operation["responses"].items():
                if status.startswith("4"):
                    assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorBody"}
            for param in operation.get("parameters", []):
                assert param["in"] in ("path", "query") and "schema" in param
                if param["in"] == "path":
                    assert "{" + param["name"] + "}" in path
        refs = str(operations)
        for name in set(part.split("'")[0] for part in refs.split("#/components/schemas/")[1:]):
            assert name in doc["components"]["schemas"]


def test_a_recall_naming_an_unknown_sibling_lot_is_refused_and_writes_nothing(client, bearer, ledger) -> None:
    before = ledger.row_counts()  # found by schemathesis: this was a foreign-key 500
    response = client.post("/api/v1/batches/plot-nj-0/recall", json={"reason": "抽检", "also": ["no-such-lot"]},
                           headers=bearer("regulator"))
    assert response.status_code == 404 and response.get_json()["error"]["field"] == "data.also"
    assert ledger.row_counts() == before


def test_log_positions_beyond_the_databases_range_are_refused_not_a_500(client) -> None:
    for url in ("/api/v1/log/entries?start=255991042316378", "/api/v1/log/inclusion?hash=" + "0" * 64 + "&size=" +
                "9" * 15, "/api/v1/log/entries?start=2147483647"):
        assert client.get(url).status_code in (200, 404, 422)


def test_five_hundred_drafts_fit_in_one_batch_append(client, bearer, ledger) -> None:
    items = [observe(f"sensor reading {i:03d} 湿度正常，无病虫害") for i in range(500)]
    assert len(json.dumps({"items": items})) > 64 * 1024  # more than one event body may be
    response = client.post("/api/v1/events/batch", json={"items": items}, headers=bearer("rice"))
    assert response.status_code == 201, response.get_json()
    assert len(response.get_json()["items"]) == 500


def test_a_batch_may_mix_presigned_bodies_as_a_tablet_syncs_its_queue(client, own_key_org, ledger, conforms) -> None:
    """A tablet that holds its own key queues signed events offline and sends them in one batch."""
    first = genesis(own_key_org)
    stored_first = EventBody.from_obj(first).hash
    second = {"v": 1, "type": "observe", "batch": "own-b1", "org": own_key_org["org"], "key": own_key_org["key"],
              "prev": stored_first, "id": str(uuid.uuid4()), "at": "2026-04-02T09:00:00+08:00",
              "data": {"step": "inspected"}}
    items = [signed(first, own_key_org["private"]), signed(second, own_key_org["private"])]
    response = client.post("/api/v1/events/batch", json={"items": items}, headers=own_key_org["headers"])
    assert response.status_code == 201, response.get_json()
    conforms(response.get_json(), "BatchAppendOut")
    assert [i["hash"] for i in response.get_json()["items"]] == [stored_first, EventBody.from_obj(second).hash]
    with ledger.uow() as uow:
        assert all(check.ok for check in verify_batch(uow, "own-b1"))
    retry = client.post("/api/v1/events/batch", json={"items": items}, headers=own_key_org["headers"])
    assert retry.status_code == 200 and [i["created"] for i in retry.get_json()["items"]] == [False, False]


@pytest.mark.parametrize(("spoil", "field"), [PRESIGNED_REFUSALS["a body changed after signing"],
                                              PRESIGNED_REFUSALS["a key of another org"]],
                         ids=["changed body", "another org's key"])
def test_one_spoiled_presigned_item_refuses_the_whole_batch(client, own_key_org, ledger, spoil, field) -> None:
    good = signed(genesis(own_key_org, batch="own-b2", lot="OWN-2"), own_key_org["private"])
    before = ledger.row_counts()
    response = client.post("/api/v1/events/batch", json={"items": [good, spoil(own_key_org, ledger)]},
                           headers=own_key_org["headers"])
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["error"]["field"] == f"items[1].{field}"
    assert ledger.row_counts() == before


HUGE_INTEGERS = {  # case: the integer literal, where a client may send one
    "5,000 digits": "1" * 5000,
    "5,000 digits below zero": "-" + "9" * 5000,
    "2^53, one past what RFC 8785 can write": str(2**53),
}
CARRIERS = {  # case: (url, raw body with {n} where the integer goes, the field the 422 must name)
    "a custodial draft": ("/api/v1/events", '{"type": "observe", "batch": "plot-nj-0", '
                                            '"data": {"step": "weighed", "n": {n}}}', "data.n"),
    "a pre-signed body": ("/api/v1/events", '{"body": {"v": 1, "type": "observe", "batch": "plot-nj-0", '
                                            '"data": {"step": "weighed", "n": {n}}}, "signature": "AAAA"}',
                          "body.data.n"),
    "an item of a batch append": ("/api/v1/events/batch", '{"items": [{"type": "observe", "batch": "plot-nj-0", '
                                                          '"data": {"step": "weighed", "readings": [1, {n}]}}]}',
                                  "items[0].data.readings[1]"),
}


def test_an_integer_too_large_for_rfc8785_is_refused_naming_its_field_and_writes_nothing(client, bearer,
                                                                                        ledger) -> None:
    before = ledger.row_counts()
    for number_case, number in HUGE_INTEGERS.items():
        for case, (url, template, field) in CARRIERS.items():
            response = client.post(url, data=template.replace("{n}", number), headers=bearer("rice"),
                                   content_type="application/json")
            assert response.status_code == 422, (number_case, case, response.get_data(as_text=True)[:300])
            error = response.get_json()["error"]
            assert error["field"] == field and "2^53" in error["message"], (number_case, case)
    assert ledger.row_counts() == before
    largest = client.post("/api/v1/events", data=CARRIERS["a custodial draft"][1].replace("{n}", str(2**53 - 1)),
                          headers=bearer("rice"), content_type="application/json")
    assert largest.status_code == 201 and f'"n":{2**53 - 1}' in largest.get_json()["canonical"]


def test_the_openapi_document_describes_each_event_types_data_from_its_declaration(client) -> None:
    """One declaration per type feeds validation and the schema: each example fits both."""
    import jsonschema

    import farmtrace.rules  # noqa: F401
    from farmtrace.ledger.events import EVENT_TYPES
    from farmtrace.rules.declare import DECLARATIONS

    schemas = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    for name, decl in DECLARATIONS.items():
        schema = schemas[f"EventData.{name}"]
        assert schema["title"] == decl.zh and schema["description"] == decl.en
        assert set(schema["required"]) == {k.name for k in decl.kdes if k.required}
        for kde in decl.kdes:
            assert schema["properties"][kde.name]["title"] == kde.zh
        if decl.example is not None:
            jsonschema.validate(decl.example, schema)
            EVENT_TYPES[name].validate(decl.example)

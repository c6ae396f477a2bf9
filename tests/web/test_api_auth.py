from datetime import timedelta

import pytest
from click.testing import CliRunner

from farmtrace.cli import main
from farmtrace.ledger.errors import AuthenticationError, NotFoundError
from farmtrace.services.tokens import authenticate, create_token, list_tokens, revoke_token, token_hash
from farmtrace.storage.models import ApiToken, utcnow
from farmtrace.web.auth import FAILURE_LIMIT


def test_a_token_acts_as_its_user_until_it_is_revoked(app, client) -> None:
    ledger = app.extensions["ledger"]
    made = create_token(ledger, "rice")
    assert made.token.startswith("ft_") and len(made.token) >= 40
    actor = authenticate(ledger, made.token)
    assert (actor.org, actor.user, actor.role) == ("nanjiang-se-rice", "rice", "producer")
    headers = {"Authorization": f"Bearer {made.token}"}
    assert client.get("/api/v1/batches", headers=headers).status_code == 200
    revoke_token(ledger, made.id)
    refused = client.get("/api/v1/batches", headers=headers)
    assert refused.status_code == 401 and refused.get_json()["error"]["code"] == "unauthenticated"
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")


def test_only_the_hash_of_a_token_is_stored(app) -> None:
    ledger = app.extensions["ledger"]
    made = create_token(ledger, "tea")
    with ledger.uow() as uow:
        stored = uow.session.get(ApiToken, made.id)
        dump = str(uow.execute("SELECT * FROM api_tokens").all())
    assert stored.token_hash == token_hash(made.token) and made.token not in dump
    assert stored.prefix == made.token[:10]


def test_an_expired_token_is_refused(app) -> None:
    ledger = app.extensions["ledger"]
    made = create_token(ledger, "rice", days=1)

    def expire(uow):
        row = uow.session.get(ApiToken, made.id)
        row.expires_at = utcnow() - timedelta(seconds=1)
        uow.add(row)
    ledger.write(expire)
    with pytest.raises(AuthenticationError):
        authenticate(ledger, made.token)


def test_unknown_revoked_and_malformed_tokens_get_the_same_answer(app, client) -> None:
    ledger = app.extensions["ledger"]
    revoked = create_token(ledger, "rice")
    revoke_token(ledger, revoked.id)
    answers = {client.get("/api/v1/batches", headers={"Authorization": f"Bearer {token}"}).get_json()["error"]["message"]
               for token in (revoked.token, "ft_" + "x" * 43, "not-a-token", "ft_" + "é" * 10)}
    assert len(answers) == 1


def test_tokens_for_unknown_users_and_ids_are_refused(app) -> None:
    with pytest.raises(NotFoundError):
        create_token(app.extensions["ledger"], "nobody")
    with pytest.raises(NotFoundError):
        revoke_token(app.extensions["ledger"], 999999)


BAD_HEADERS = {
    "no scheme": "ft_abc", "basic auth": "Basic cmljZTpwYXNzd29yZA==", "empty bearer": "Bearer ",
    "an unknown token": "Bearer ft_" + "A" * 43,
}


@pytest.mark.parametrize("header", list(BAD_HEADERS.values()), ids=list(BAD_HEADERS))
def test_a_bad_authorization_header_gets_401_with_the_error_body(client, header) -> None:
    response = client.get("/api/v1/batches", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.get_json()["error"]["field"] == "Authorization"


def test_a_real_token_in_the_query_string_is_refused_and_revoked_and_the_message_says_so(app, client, bearer) -> None:
    from farmtrace.services.audit import recent
    token = bearer("rice")["Authorization"].split()[1]
    response = client.get(f"/api/v1/orgs?token={token}")
    error = response.get_json()["error"]
    assert response.status_code == 401 and error["field"] == "token"
    assert "revoked" in error["message"] and token[:10] in error["message"] and token not in error["message"]
    assert client.get("/api/v1/batches", headers=bearer("rice")).status_code == 401  # it no longer works
    (entry,) = [e for e in recent(app.extensions["ledger"]) if e.action == "token_revoked_in_url"]
    assert entry.subject == "rice (nanjiang-se-rice)" and "/api/v1/orgs" in entry.detail
    assert client.get("/api/v1/batches", headers=bearer("tea")).status_code == 200  # others' tokens are untouched


def test_a_token_in_the_query_string_that_is_not_real_is_refused_and_nothing_is_revoked(app, client, bearer) -> None:
    good = bearer("rice")
    for name in ("access_token", "token", "api_key"):
        response = client.get(f"/api/v1/batches?{name}=ft_{'A' * 43}")
        assert response.status_code == 401 and response.get_json()["error"]["field"] == "access_token"
        assert "never in the URL" in response.get_json()["error"]["message"]
    assert client.get("/api/v1/batches", headers=good).status_code == 200
    assert all(t.revoked_at is None for t in list_tokens(app.extensions["ledger"]))


def test_a_valid_token_still_works_from_an_address_that_failed_many_times(app, client, bearer) -> None:
    good = bearer("rice")
    before = app.extensions["ledger"].row_counts()
    for _ in range(FAILURE_LIMIT):
        assert client.get("/api/v1/batches", headers={"Authorization": "Bearer ft_wrong"}).status_code == 401
    limited = client.get("/api/v1/batches", headers={"Authorization": "Bearer ft_wrong"})
    assert limited.status_code == 429 and limited.get_json()["error"]["code"] == "rate_limited"
    assert 0 < int(limited.headers["Retry-After"]) <= 2 * 60  # this minute and the last are full
    assert client.get("/api/v1/batches", headers=good).status_code == 200
    other_client = client.get("/api/v1/batches", headers={"Authorization": "Bearer ft_wrong"},
                              environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert other_client.status_code == 401
    assert client.get("/api/v1/orgs").status_code == 200  # public reads need no token and are not limited
    assert app.extensions["ledger"].row_counts() == before


def test_two_workers_share_the_token_failure_counts(app, another_worker, bearer) -> None:
    workers = [app.test_client(), another_worker.test_client()]
    wrong = {"Authorization": "Bearer ft_wrong"}
    for attempt in range(FAILURE_LIMIT):
        assert workers[attempt % 2].get("/api/v1/batches", headers=wrong).status_code == 401
    for worker in workers:
        assert worker.get("/api/v1/batches", headers=wrong).status_code == 429
        assert worker.get("/api/v1/batches", headers=bearer("rice")).status_code == 200


def test_a_thousand_wrong_tokens_never_succeed(app, client) -> None:
    statuses = [client.get("/api/v1/batches", headers={"Authorization": f"Bearer ft_guess{i}"},
                           environ_base={"REMOTE_ADDR": f"198.51.100.{i % 40}"}).status_code for i in range(1000)]
    assert set(statuses) == {401, 429} and statuses.count(401) == 40 * FAILURE_LIMIT


def _drafts(n: int) -> dict:
    return {"items": [_draft() for _ in range(n)]}


def test_appends_past_the_per_token_cap_get_429_with_retry_after_and_write_nothing(app, another_worker, client,
                                                                                   bearer, monkeypatch) -> None:
    from farmtrace.web import auth
    assert auth.APPENDS_PER_MINUTE == 600
    monkeypatch.setattr(auth, "APPENDS_PER_MINUTE", 5)
    second = another_worker.test_client()  # another worker counts with us
    ledger = app.extensions["ledger"]
    rice = bearer("rice")
    assert client.post("/api/v1/events/batch", json=_drafts(3), headers=rice).status_code == 201
    before = ledger.row_counts()
    refused = second.post("/api/v1/events/batch", json=_drafts(3), headers=rice)  # 3 + 3 > 5: all refused
    error = refused.get_json()["error"]
    assert refused.status_code == 429 and error["code"] == "rate_limited" and error["field"] == "items"
    assert 0 < int(refused.headers["Retry-After"]) <= 2 * 60
    assert ledger.row_counts() == before
    assert second.post("/api/v1/events", json=_draft(), headers=rice).status_code == 201
    assert client.post("/api/v1/events", json=_draft(), headers=rice).status_code == 201
    assert client.post("/api/v1/events", json=_draft(), headers=rice).status_code == 429
    other_token = {"Authorization": f"Bearer {create_token(ledger, 'rice').token}"}
    assert client.post("/api/v1/events", json=_draft(), headers=other_token).status_code == 201  # per token


def test_tokens_from_the_command_line(app, client, db_url, tmp_path) -> None:
    env = {"FARMTRACE_DATABASE_URL": db_url, "FARMTRACE_INSTANCE": str(tmp_path / "cli-instance")}
    runner = CliRunner()
    created = runner.invoke(main, ["token", "create", "regulator", "--days", "30"], env=env)
    assert created.exit_code == 0, created.output
    token = created.stdout.strip().splitlines()[-1]
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/batches?q=rice", headers=headers).status_code == 200
    listed = runner.invoke(main, ["token", "list"], env=env)
    assert token not in listed.output and "regulator" in listed.output
    token_id = listed.output.strip().splitlines()[-1].split("\t")[0]
    assert runner.invoke(main, ["token", "revoke", token_id], env=env).exit_code == 0
    assert client.get("/api/v1/batches", headers=headers).status_code == 401
    unknown = runner.invoke(main, ["token", "create", "nobody"], env=env)
    assert unknown.exit_code == 1 and "no user nobody" in unknown.stderr


# ---- authorization matrix: every API operation x {anonymous, holder, other producer, regulator, admin} ----
ROLES = {"anonymous": None, "holder": "rice", "other producer": "tea", "regulator": "regulator", "admin": "admin"}
PUBLIC = {role: 200 for role in ROLES}
TOKEN_READ = {**PUBLIC, "anonymous": 401}


def _draft(batch: str = "plot-nj-0") -> dict:
    import uuid
    return {"type": "observe", "batch": batch, "id": str(uuid.uuid4()), "data": {"step": "inspected"}}


def _foreign_document() -> dict:
    """An EPCIS 2.0 document commissioning one lot of another system, its lot code new each time."""
    import uuid
    from tests.web.test_api_exports import FOREIGN
    lot = f"https://id.gs1.org/01/09521001005012/10/EXT-{uuid.uuid4().hex[:8]}"
    first = dict(FOREIGN["epcisBody"]["eventList"][0], quantityList=[{"epcClass": lot, "quantity": 200, "uom": "KGM"}])
    return dict(FOREIGN, epcisBody={"eventList": [first]})


def _first_hash(client) -> str:
    return client.get("/api/v1/log/entries?start=3&end=4").get_json()["entries"][0]["hash"]


LINEAGE_EXPORT = {"anonymous": 401, "holder": 200, "other producer": 403, "regulator": 200, "admin": 200}


def _checkpointed(url: str):
    """The URL, once a checkpoint covers the log (a bundle signs one otherwise, and a GET must write nothing)."""
    def make(client) -> str:
        from farmtrace.services.log import make_checkpoint
        make_checkpoint(client.application.extensions["ledger"], force=True)
        return url
    return make


MATRIX = {  # (method, rule): (url or url(client), body() or None, expected status per role)
    ("GET", "/api/v1/batches"): ("/api/v1/batches", None, TOKEN_READ),
    ("GET", "/api/v1/batches/<batch_id>"): ("/api/v1/batches/plot-nj-0", None, TOKEN_READ),
    ("GET", "/api/v1/batches/<batch_id>/trace"): ("/api/v1/batches/plot-nj-0/trace", None, PUBLIC),
    ("GET", "/api/v1/batches/<batch_id>/footprint"): ("/api/v1/batches/rice-nj-0/footprint", None, PUBLIC),
    ("GET", "/api/v1/carbon/factors"): ("/api/v1/carbon/factors", None, PUBLIC),
    ("POST", "/api/v1/batches/<batch_id>/recall"): (
        "/api/v1/batches/plot-nj-0/recall", lambda: {"reason": "抽检不合格"},
        {"anonymous": 401, "holder": 403, "other producer": 403, "regulator": 201, "admin": 403}),
    ("POST", "/api/v1/events"): (
        "/api/v1/events", _draft,
        {"anonymous": 401, "holder": 201, "other producer": 403, "regulator": 403, "admin": 403}),
    ("POST", "/api/v1/events/batch"): (
        "/api/v1/events/batch", lambda: {"items": [_draft(), _draft()]},
        {"anonymous": 401, "holder": 201, "other producer": 403, "regulator": 403, "admin": 403}),
    ("GET", "/api/v1/events/<event_hash>"): (lambda client: f"/api/v1/events/{_first_hash(client)}", None, PUBLIC),
    ("GET", "/api/v1/orgs"): ("/api/v1/orgs", None, PUBLIC),
    ("GET", "/api/v1/keys"): ("/api/v1/keys", None, PUBLIC),
    ("GET", "/api/v1/log/entries"): ("/api/v1/log/entries", None, PUBLIC),
    ("GET", "/api/v1/log/inclusion"): (lambda client: f"/api/v1/log/inclusion?hash={_first_hash(client)}", None, PUBLIC),
    ("GET", "/api/v1/log/consistency"): ("/api/v1/log/consistency?from=1&to=5", None, PUBLIC),
    ("GET", "/api/v1/openapi.json"): ("/api/v1/openapi.json", None, PUBLIC),
    ("GET", "/log/checkpoint"): ("/log/checkpoint", None, PUBLIC),
    ("GET", "/log/key"): ("/log/key", None, PUBLIC),
    ("GET", "/api/v1/exports/epcis"): ("/api/v1/exports/epcis?batch=plot-nj-0", None, LINEAGE_EXPORT),
    ("GET", "/api/v1/exports/fsma204"): ("/api/v1/exports/fsma204?from=2026-03-01&to=2026-03-31", None,
                                         {**LINEAGE_EXPORT, "holder": 403}),
    ("GET", "/api/v1/batches/<batch_id>/bundle"): (_checkpointed("/api/v1/batches/plot-nj-0/bundle"), None,
                                                   LINEAGE_EXPORT),
    ("POST", "/api/v1/import/epcis"): (  # a document of another system's own lot: each org records its copy
        "/api/v1/import/epcis", lambda: _foreign_document(),
        {"anonymous": 401, "holder": 201, "other producer": 201, "regulator": 201, "admin": 403}),
    # a JSON body is no upload: every role that may store a certificate PDF is told to send the file
    # (uploads themselves: tests/web/test_certificates.py)
    ("POST", "/api/v1/documents"): (
        "/api/v1/documents", lambda: {"file": "not a file"},
        {"anonymous": 401, "holder": 422, "other producer": 422, "regulator": 422, "admin": 403}),
    # the holder's rice lot has no serials to give codes to (bottles: tests/web/test_consumer.py)
    ("POST", "/api/v1/batches/<batch_id>/cap-codes"): (
        "/api/v1/batches/plot-nj-0/cap-codes", None,
        {"anonymous": 401, "holder": 422, "other producer": 403, "regulator": 403, "admin": 403}),
}


def test_the_matrix_covers_every_api_route(app) -> None:
    routes = {(method, rule.rule) for rule in app.url_map.iter_rules() if rule.rule.startswith(("/api/", "/log/"))
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert routes == set(MATRIX)


@pytest.mark.parametrize("route", list(MATRIX), ids=[f"{m} {r}" for m, r in MATRIX])
def test_each_role_gets_the_expected_status_and_a_refusal_writes_nothing(app, client, bearer, route) -> None:
    url, body, expected = MATRIX[route]
    url = url(client) if callable(url) else url
    ledger = app.extensions["ledger"]
    headers = {role: bearer(user) if user else {} for role, user in ROLES.items()}
    # refusals first, so that each is checked against an unchanged ledger
    for role in sorted(ROLES, key=lambda r: expected[r] < 400):
        before = ledger.row_counts()
        response = client.open(url, method=route[0], json=body() if body else None, headers=headers[role])
        assert response.status_code == expected[role], (role, response.get_data(as_text=True)[:300])
        if response.status_code >= 400:
            assert set(response.get_json()["error"]) == {"code", "message", "field"}
            assert ledger.row_counts() == before, role
        elif route[0] == "GET":
            assert ledger.row_counts() == before, role


def test_anonymous_json_carries_no_private_fields(client) -> None:
    orgs = client.get("/api/v1/orgs").get_data(as_text=True)
    keys = client.get("/api/v1/keys").get_data(as_text=True)
    trace = client.get("/api/v1/batches/rice-nj-1/trace?direction=backward").get_data(as_text=True)
    for text in (orgs, keys, trace):
        for private in ("password", "sealed", "token", "uscc", "personal_data", "salt"):
            assert private not in text

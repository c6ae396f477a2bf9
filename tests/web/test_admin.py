"""The admin pages (issue "The producer app", admin): an operator manages every org, an org admin only
their own; each action on a page shows up in the command line's listing and the other way round; a
refused form shows its error beside the field and writes nothing."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import Flask
from flask.testing import FlaskClient

from farmtrace.cli import main
from farmtrace.ledger.signing import b64, key_id, public_bytes
from farmtrace.services import admin, audit
from tests.web.conftest import ORIGIN, SECRET
from tests.web.test_account import csrf_of
from tests.web.test_producer import login
from tests.web.test_words_on_pages import ENGLISH_SENTENCE, _visible_text

FARM, LAB, SAMR = "qingyu-pig-farm", "bazhong-testing", "bazhong-samr"


@pytest.fixture
def cli(db_url: str, tmp_path: Path):
    """`farmtrace ...` on the web app's own database."""
    env = {"FARMTRACE_INSTANCE": str(tmp_path / "cli-instance"), "FARMTRACE_DATABASE_URL": db_url,
           "FARMTRACE_SECRET_KEY": SECRET, "FARMTRACE_LOG_ORIGIN": ORIGIN}

    def run(*args: str, input: str | None = None) -> Any:
        result = CliRunner().invoke(main, list(args), env=env, input=input)
        assert result.exception is None or isinstance(result.exception, SystemExit), result.output
        return result
    return run


@pytest.fixture
def farm_admin(app: Flask) -> str:
    """An admin of the pig farm (the demo's only admin is the operator)."""
    app.extensions["ledger"].create_user(FARM, "farm-boss", "a-long-password", role="admin")
    return "farm-boss"


def _login(client: FlaskClient, username: str, password: str | None = None) -> None:
    if password is None:
        login(client, username)
        return
    client.post("/logout", data={"csrf_token": csrf_of(client, "/login")})
    client.post("/login", data={"csrf_token": csrf_of(client, "/login"), "username": username, "password": password})


def post(client: FlaskClient, page: str, action: str, fields: dict[str, str]) -> Any:
    """Post a form as a browser would: with the CSRF token of the page it is on."""
    return client.post(action, data={"csrf_token": csrf_of(client, page), **fields})


def _text(response: Any) -> str:
    return _visible_text(response.get_data(as_text=True))


PAGES = ["/admin/", "/admin/orgs/new", f"/admin/orgs/{LAB}", f"/admin/orgs/{LAB}/users", f"/admin/orgs/{LAB}/tokens",
         f"/admin/orgs/{LAB}/keys"]


def test_every_admin_page_is_in_chinese_by_default_and_in_english_on_request(client: FlaskClient) -> None:
    login(client, "admin")
    assert "管理" in _text(client.get("/producer/"))  # the header links admins to /admin
    for path in PAGES:
        page = client.get(path)
        assert page.status_code == 200, path
        text = _text(page)
        english = [m.group(0) for line in text.splitlines() for m in ENGLISH_SENTENCE.finditer(line)]
        assert not english, (path, english)
        assert re.search(r"[\u4e00-\u9fff]{2}", text), path
    assert "Users of" in _text(client.get(f"/admin/orgs/{LAB}/users?lang=en"))


def test_a_producer_gets_403_and_a_visitor_the_login_page(client: FlaskClient) -> None:
    assert client.get("/admin/").status_code == 302
    login(client, "pigfarm")
    for path in PAGES:
        assert client.get(path).status_code == 403, path
    assert client.post(f"/admin/orgs/{FARM}/keys/rotate",
                       data={"csrf_token": csrf_of(client, "/producer/")}).status_code == 403


def test_an_org_admin_manages_only_their_own_org(app: Flask, client: FlaskClient, farm_admin: str) -> None:
    ledger = app.extensions["ledger"]
    _login(client, farm_admin, "a-long-password")
    assert client.get("/admin/").headers["Location"].endswith(f"/admin/orgs/{FARM}")
    for page in ("", "/users", "/tokens", "/keys"):
        assert client.get(f"/admin/orgs/{FARM}{page}").status_code == 200
        assert client.get(f"/admin/orgs/{LAB}{page}").status_code == 403, page
        assert client.get(f"/admin/orgs/no-such-org{page}").status_code == 403, page  # nothing told of other orgs
    before = ledger.row_counts()
    token = csrf_of(client, f"/admin/orgs/{FARM}")
    refused = {  # another org's objects, and the operator's own acts
        f"/admin/orgs/{LAB}/edit": {"edit-name": "x", "edit-contact_name": "x"},
        f"/admin/orgs/{LAB}/users": {"new-username": "intruder", "new-role": "admin", "new-password": "a-long-password"},
        f"/admin/orgs/{LAB}/users/lab/role": {"role": "producer"},
        f"/admin/orgs/{FARM}/users/lab/role": {"role": "admin"},  # a user of another org, named under our own
        f"/admin/orgs/{FARM}/users/lab/password": {"password": "a-new-password"},
        f"/admin/orgs/{LAB}/keys/rotate": {},
        f"/admin/orgs/{LAB}/tokens": {"token-username": "lab"},
        "/admin/orgs/new": {"org_id": "mine", "name": "我的", "kind": "producer"},
        f"/admin/orgs/{FARM}/prefixes": {"gs1-prefix": "9529999"},
        f"/admin/orgs/{FARM}/cma": {"cma-cma": "242312050999"},
        f"/admin/orgs/{FARM}/licences": {"licence-kind": "sc", "licence-number": "SC10651192200001"},
    }
    for path, fields in refused.items():
        assert client.post(path, data={"csrf_token": token, **fields}).status_code == 403, path
    assert ledger.row_counts() == before
    renamed = post(client, f"/admin/orgs/{FARM}", f"/admin/orgs/{FARM}/edit",
                   {"edit-name": "改名", "edit-contact_name": "王场长", "edit-contact_phone": "0827-5261234",
                    "edit-address": "通江县青峪镇"})
    assert renamed.status_code == 303
    info = admin.org_info(ledger, FARM, None)
    assert info.name == "通江县青峪猪生态养殖场" and info.contact_name == "王场长"  # the name is the operator's


def test_an_operator_creates_and_edits_an_org_and_the_command_line_lists_it(app: Flask, client: FlaskClient,
                                                                              cli: Any) -> None:
    login(client, "admin")
    made = post(client, "/admin/orgs/new", "/admin/orgs/new", {
        "org_id": "enyang-asparagus", "name": "恩阳芦笋合作社", "kind": "producer", "family": "produce",
        "county": "511903"})
    assert made.status_code == 303, _text(made)[:600]
    page = "/admin/orgs/enyang-asparagus"
    for action, fields in (("edit", {"edit-name": "恩阳区芦笋专业合作社", "edit-contact_name": "李会计",
                                     "edit-contact_phone": "0827-5261234", "edit-address": "恩阳区柳林镇"}),
                           ("prefixes", {"gs1-prefix": "9521010"}),
                           ("licences", {"licence-kind": "sc", "licence-number": "SC10651190300012"})):
        done = post(client, page, f"{page}/{action}", fields)
        assert done.status_code == 303, (action, _text(done)[:600])
    shown = _text(client.get(page))
    assert "恩阳区芦笋专业合作社" in shown and "9521010" in shown and "SC10651190300012" in shown
    assert "enyang-asparagus\tproducer\tproduce\t0\t恩阳区芦笋专业合作社" in cli("org", "list").output
    listed = cli("org", "show", "enyang-asparagus").output
    assert "contact_name\t李会计" in listed and "prefixes\t9521010" in listed
    assert "licence.sc\tSC10651190300012" in listed
    # ... and the other way round: the command line's acts show on the page
    assert cli("org", "licence", "add", "enyang-asparagus", "animal_epidemic", "(川)动防合字第510000号").exit_code == 0
    assert cli("org", "edit", "enyang-asparagus", "--address", "恩阳区登科街道").exit_code == 0
    shown = _text(client.get(page))
    assert "(川)动防合字第510000号" in shown and "恩阳区登科街道" in shown
    removed = post(client, page, f"{page}/licences/sc/remove", {})
    assert removed.status_code == 303 and "licence.sc" not in cli("org", "show", "enyang-asparagus").output
    actions = [e.action for e in audit.recent(app.extensions["ledger"], 20)]
    assert {"org_created", "org_edited", "org_prefix_added", "org_licence_set", "org_licence_removed"} <= set(actions)


def test_users_are_created_given_roles_and_new_passwords_and_the_last_admin_stays(
        app: Flask, client: FlaskClient, farm_admin: str, cli: Any) -> None:
    _login(client, farm_admin, "a-long-password")
    page = f"/admin/orgs/{FARM}/users"
    made = post(client, page, page, {"new-username": "feeder", "new-role": "producer",
                                     "new-password": "a-long-password"})
    assert made.status_code == 303, _text(made)[:600]
    assert "feeder\tqingyu-pig-farm\tproducer\t0" in cli("user", "list", FARM).output
    assert post(client, page, f"{page}/feeder/role", {"role": "admin"}).status_code == 303
    assert "feeder\tqingyu-pig-farm\tadmin" in cli("user", "list", FARM).output
    assert post(client, page, f"{page}/feeder/password", {"password": "another-password"}).status_code == 303
    fresh = app.test_client()
    _login(fresh, "feeder", "another-password")
    assert fresh.get(f"/admin/orgs/{FARM}").status_code == 200
    # the command line's changes show on the page
    assert cli("user", "role", "feeder", "producer").exit_code == 0
    assert "生产人员" in _text(client.get(page)) or "producer" in _text(client.get(page))
    assert cli("user", "role", "pigfarm-admin", "producer").exit_code == 0  # the demo's farm admin
    assert cli("user", "list", FARM).output.count("\tadmin") == 1
    before = app.extensions["ledger"].row_counts()
    last = post(client, page, f"{page}/{farm_admin}/role", {"role": "producer"})
    assert last.status_code == 409
    assert 'aria-invalid="true"' in last.get_data(as_text=True)
    assert cli("user", "role", farm_admin, "producer").exit_code == 1
    regulator = post(client, page, f"{page}/feeder/role", {"role": "regulator"})  # only in a regulator org
    assert regulator.status_code == 422
    assert app.extensions["ledger"].row_counts() == before
    actions = {e.action for e in audit.recent(app.extensions["ledger"], 20)}
    assert {"user_created", "role_changed", "password_reset"} <= actions


BAD_FORMS = {  # id: (page, action, fields, the field whose error shows, the table that must not grow)
    "an org id with a space": ("/admin/orgs/new", "/admin/orgs/new",
                               {"org_id": "bad id", "name": "某机构", "kind": "producer", "family": ""}, "org_id", "orgs"),
    "an org id taken": ("/admin/orgs/new", "/admin/orgs/new",
                        {"org_id": LAB, "name": "某机构", "kind": "producer", "family": ""}, "org_id", "orgs"),
    "a CMA number on a farm": ("/admin/orgs/new", "/admin/orgs/new",
                               {"org_id": "new-farm", "name": "新农场", "kind": "producer", "family": "", "cma": "242312050117"},
                               "cma", "orgs"),
    "a restricted GS1 prefix": (f"/admin/orgs/{FARM}", f"/admin/orgs/{FARM}/prefixes", {"gs1-prefix": "2000"},
                                "gs1-prefix", "org_prefixes"),
    "a short SC number": (f"/admin/orgs/{FARM}", f"/admin/orgs/{FARM}/licences",
                          {"licence-kind": "sc", "licence-number": "SC123"}, "licence-number", "org_licences"),
    "a phone of letters": (f"/admin/orgs/{FARM}", f"/admin/orgs/{FARM}/edit",
                           {"edit-name": "x", "edit-contact_phone": "call me"}, "edit-contact_phone", "orgs"),
    "a short password": (f"/admin/orgs/{FARM}/users", f"/admin/orgs/{FARM}/users",
                         {"new-username": "u1", "new-role": "producer", "new-password": "short"}, "new-password",
                         "users"),
    "a username taken": (f"/admin/orgs/{FARM}/users", f"/admin/orgs/{FARM}/users",
                         {"new-username": "rice", "new-role": "producer", "new-password": "a-long-password"},
                         "new-username", "users"),
    "a token for 0 days": (f"/admin/orgs/{FARM}/tokens", f"/admin/orgs/{FARM}/tokens",
                           {"token-username": "pigfarm", "token-days": "0"}, "token-days", "api_tokens"),
    "a device key that is no key": (f"/admin/orgs/{FARM}/keys", f"/admin/orgs/{FARM}/devices",
                                    {"device-label": "平板 1 号", "device-public_key": "not-base64"},
                                    "device-public_key", "keys"),
}


@pytest.mark.parametrize(("page", "action", "fields", "field", "table"), list(BAD_FORMS.values()), ids=list(BAD_FORMS))
def test_a_bad_form_shows_its_error_beside_the_field_and_writes_nothing(
        app: Flask, client: FlaskClient, page: str, action: str, fields: dict[str, str], field: str,
        table: str) -> None:
    ledger = app.extensions["ledger"]
    login(client, "admin")
    before, trail = ledger.row_counts(), len(audit.recent(ledger))
    refused = post(client, page, action, fields)
    assert 400 <= refused.status_code < 500 and refused.status_code != 403, refused.status_code
    html = refused.get_data(as_text=True)
    assert f'id="{field}-error"' in html, _visible_text(html)[:800]
    assert re.search(rf'id="{field}"[^>]*aria-invalid="true"|aria-invalid="true"[^>]*id="{field}"', html)
    assert 'class="error-summary"' in html
    assert ledger.row_counts() == before and ledger.row_counts()[table] == before[table]
    assert len(audit.recent(ledger)) == trail


def test_tokens_are_made_shown_once_listed_and_revoked_on_the_page_and_the_command_line(
        app: Flask, client: FlaskClient, farm_admin: str, cli: Any) -> None:
    _login(client, farm_admin, "a-long-password")
    page = f"/admin/orgs/{FARM}/tokens"
    made = post(client, page, page, {"token-username": "pigfarm", "token-days": "30"})
    assert made.status_code == 200 and made.headers["Cache-Control"] == "no-store"
    clear = re.search(r'id="new-token">(ft_[^<]+)<', made.get_data(as_text=True)).group(1)
    assert clear not in client.get(page).get_data(as_text=True)  # shown once
    listed = cli("token", "list", "--org", FARM).output
    row = next(line for line in listed.splitlines() if clear[:10] in line)
    token_id = row.split("\t")[0]
    assert "pigfarm" in row and "expires" in row
    made_by_cli = cli("token", "create", "pigfarm")
    assert made_by_cli.exit_code == 0
    shown = _text(client.get(page))
    assert shown.count("pigfarm") >= 2
    assert post(client, page, f"{page}/{token_id}/revoke", {}).status_code == 303
    assert f"{token_id}\t" in cli("token", "list", "--org", FARM).output
    assert "revoked" in next(line for line in cli("token", "list").output.splitlines() if line.startswith(f"{token_id}\t"))
    lab_token = cli("token", "list", "--org", LAB).output
    assert "pigfarm" not in lab_token
    other = admin.create_token(app.extensions["ledger"], "lab", by_user=None)
    assert post(client, page, f"{page}/{other.id}/revoke", {}).status_code == 403  # another org's token


def test_keys_rotate_and_revoke_and_devices_register_and_revoke_on_the_page_and_the_command_line(
        app: Flask, client: FlaskClient, farm_admin: str, cli: Any) -> None:
    ledger = app.extensions["ledger"]
    _login(client, farm_admin, "a-long-password")
    page = f"/admin/orgs/{FARM}/keys"
    first = [k.id for k in admin.org_keys(ledger, FARM, by_user=None) if k.is_current][0]
    assert post(client, page, f"{page}/rotate", {}).status_code == 303
    second = [k.id for k in admin.org_keys(ledger, FARM, by_user=None) if k.is_current][0]
    assert second != first
    listed = cli("key", "list", FARM).output
    assert f"{first}\torg\t" in listed and "rotated at" in listed and f"{second}\torg\t" in listed
    revoked = post(client, page, f"{page}/{second}/revoke", {"reason": "compromise"})
    assert revoked.status_code == 303
    third = [k.id for k in admin.org_keys(ledger, FARM, by_user=None) if k.is_current]
    assert len(third) == 1 and third[0] not in (first, second)  # the org keeps signing with a new key
    assert "compromise at" in cli("key", "list", FARM).output
    assert cli("key", "rotate", FARM).exit_code == 0
    assert len(admin.org_keys(ledger, FARM, by_user=None)) == 4
    assert _text(client.get(page)).count("泄露") + _text(client.get(page)).count("Compromised") >= 1

    private = Ed25519PrivateKey.generate()
    kid = key_id(public_bytes(private))
    added = post(client, page, f"/admin/orgs/{FARM}/devices",
                 {"device-label": "平板 1 号", "device-public_key": b64(public_bytes(private))})
    assert added.status_code == 303, _text(added)[:600]
    assert f"{kid}\tdevice\t" in cli("key", "list", FARM).output
    assert f"{kid}\t平板 1 号\t" in cli("key", "device", "list", FARM).output
    bad_reason = post(client, page, f"/admin/orgs/{FARM}/devices/{kid}/revoke", {"reason": "bored"})
    assert bad_reason.status_code == 422 and f'id="{kid}-reason-error"' in bad_reason.get_data(as_text=True)
    assert post(client, page, f"/admin/orgs/{FARM}/devices/{kid}/revoke", {"reason": "retired"}).status_code == 303
    assert cli("key", "device", "list", FARM).output.rstrip().endswith("retired")
    other = Ed25519PrivateKey.generate()
    assert cli("key", "device", "add", FARM, "--public-key", b64(public_bytes(other)), "--label", "平板 2 号"
               ).exit_code == 0
    assert "平板 2 号" in _text(client.get(page))
    actions = {e.action for e in audit.recent(ledger, 30)}
    assert {"org_key_rotated", "org_key_revoked", "device_key_added", "device_key_revoked"} <= actions


def test_the_operator_manages_another_orgs_device_keys(app: Flask, client: FlaskClient) -> None:
    login(client, "admin")
    page = f"/admin/orgs/{FARM}/keys"
    private = Ed25519PrivateKey.generate()
    added = post(client, page, f"/admin/orgs/{FARM}/devices",
                 {"device-label": "屠宰线平板", "device-public_key": b64(public_bytes(private))})
    assert added.status_code == 303, _text(added)[:600]

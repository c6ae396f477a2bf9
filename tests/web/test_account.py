"""Browser login and the API-token pages, with CSRF switched on as in production."""

import re

import pytest
from flask.testing import FlaskClient

from farmtrace.services.tokens import create_token, list_tokens
from farmtrace.demo import DEMO_PASSWORD

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
CLEAR = re.compile(r"ft_[A-Za-z0-9_-]{20,}")


def csrf_of(client: FlaskClient, path: str) -> str:
    page = client.get(path)
    assert page.status_code == 200, page.status_code
    found = CSRF.search(page.get_data(as_text=True))
    assert found, f"no csrf_token on {path}"
    return found.group(1)


def log_in(client: FlaskClient, username: str, password: str = DEMO_PASSWORD, **extra: str):
    return client.post("/login", data={"csrf_token": csrf_of(client, "/login"), "username": username,
                                       "password": password, **extra})


def make_token(client: FlaskClient, **fields: str) -> tuple[str, str]:
    """Create a token on the page; returns (the clear token shown, the page text)."""
    page = client.post("/account/tokens", data={"csrf_token": csrf_of(client, "/account/tokens"), **fields})
    assert page.status_code == 200, page.get_data(as_text=True)
    text = page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"
    return CLEAR.findall(text)[0], text


def revoke(client: FlaskClient, token_id: int):
    return client.post(f"/account/tokens/{token_id}/revoke", data={"csrf_token": csrf_of(client, "/account/tokens")})


def tokens_of(app, username: str):
    return [t for t in list_tokens(app.extensions["ledger"]) if t.username == username]


def test_login_ok_sets_an_httponly_lax_session_and_logout_ends_it(client) -> None:
    done = log_in(client, "rice", next="/account/tokens")
    assert done.status_code == 303 and done.headers["Location"] == "/account/tokens"
    cookie = next(h for h in done.headers.getlist("Set-Cookie") if h.startswith("session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    page = client.get("/account/tokens").get_data(as_text=True)
    assert "API 令牌" in page and "退出" in page and "rice" in page
    out = client.post("/logout", data={"csrf_token": csrf_of(client, "/account/tokens")})
    assert out.status_code == 303
    assert client.get("/account/tokens").status_code == 302


def test_wrong_password_and_unknown_user_get_the_same_form_error_and_no_session(client) -> None:
    wrong = log_in(client, "rice", "not-the-password")
    unknown = log_in(client, "nobody-here", "not-the-password")
    for page in (wrong, unknown):
        assert page.status_code == 200 and "用户名或密码错误" in page.get_data(as_text=True)
    with client.session_transaction() as sess:
        assert "_user_id" not in sess
    assert client.get("/account/tokens").status_code == 302


def test_a_post_without_csrf_token_is_refused_and_writes_nothing(app, client) -> None:
    ledger = app.extensions["ledger"]
    refused = client.post("/login", data={"username": "rice", "password": DEMO_PASSWORD})
    assert refused.status_code == 400
    with client.session_transaction() as sess:
        assert "_user_id" not in sess
    assert log_in(client, "rice").status_code == 303
    before = ledger.row_counts()
    assert client.post("/account/tokens", data={"days": "30"}).status_code == 400
    mine = create_token(ledger, "rice")
    assert client.post(f"/account/tokens/{mine.id}/revoke").status_code == 400
    assert tokens_of(app, "rice")[-1].revoked_at is None
    assert len(tokens_of(app, "rice")) == 1 and ledger.row_counts()["api_tokens"] == before["api_tokens"] + 1


def test_pages_need_login_and_next_stays_on_this_site(client) -> None:
    away = client.get("/account/tokens")
    assert away.status_code == 302 and away.headers["Location"].startswith("/login?next=")
    for evil in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        done = log_in(client, "tea", next=evil)
        assert done.status_code == 303 and done.headers["Location"] == "/producer/"  # a producer lands on their lots, never off-site


def test_a_token_made_on_the_page_is_shown_once_works_and_dies_when_revoked(app, client) -> None:
    log_in(client, "rice")
    clear, page = make_token(client, days="30")
    assert "只显示这一次" in page
    api = {"Authorization": f"Bearer {clear}"}
    assert client.get("/api/v1/batches", headers=api).status_code == 200
    listing = client.get("/account/tokens").get_data(as_text=True)
    assert clear not in listing and not CLEAR.search(listing) and clear[:10] in listing
    with client.session_transaction() as sess:
        assert clear not in str(dict(sess))
    (made,) = tokens_of(app, "rice")
    assert made.expires_at is not None and made.last_used_at is not None
    done = revoke(client, made.id)
    assert done.status_code == 303
    assert "已吊销" in client.get("/account/tokens").get_data(as_text=True)
    assert client.get("/api/v1/batches", headers=api).status_code == 401


def test_days_out_of_range_is_a_form_error_and_no_token(app, client) -> None:
    log_in(client, "rice")
    for days in ("0", "3651", "abc"):
        page = client.post("/account/tokens", data={"csrf_token": csrf_of(client, "/account/tokens"), "days": days})
        text = page.get_data(as_text=True)
        assert page.status_code == 422 and ("1 至 3650" in text or "请输入整数" in text) and not CLEAR.search(text)
    assert tokens_of(app, "rice") == []


def test_a_producer_sees_only_their_tokens_and_cannot_revoke_or_create_for_others(app, client) -> None:
    theirs = create_token(app.extensions["ledger"], "tea")
    log_in(client, "rice")
    listing = client.get("/account/tokens").get_data(as_text=True)
    assert theirs.prefix not in listing
    refused = revoke(client, theirs.id)
    assert refused.status_code == 403
    assert tokens_of(app, "tea")[0].revoked_at is None
    posed = client.post("/account/tokens", data={"csrf_token": csrf_of(client, "/account/tokens"), "username": "tea"})
    assert posed.status_code == 403 and len(tokens_of(app, "tea")) == 1
    assert revoke(client, 999999).status_code == 404


def test_an_admin_creates_a_token_for_another_user_sees_every_token_and_revokes_it(app, client) -> None:
    create_token(app.extensions["ledger"], "rice")
    log_in(client, "admin")
    clear, page = make_token(client, username="tea")
    (made,) = tokens_of(app, "tea")
    assert made.prefix == clear[:10]
    listing = client.get("/account/tokens").get_data(as_text=True)
    assert "yunding-tea" in listing and "nanjiang-se-rice" in listing and not CLEAR.search(listing)
    assert client.get("/api/v1/batches", headers={"Authorization": f"Bearer {clear}"}).status_code == 200
    assert revoke(client, made.id).status_code == 303
    assert tokens_of(app, "tea")[0].revoked_at is not None
    unknown = client.post("/account/tokens", data={"csrf_token": csrf_of(client, "/account/tokens"),
                                                   "username": "nobody-here"})
    assert unknown.status_code == 422 and "不存在" in unknown.get_data(as_text=True)


def test_pages_are_chinese_by_default_and_english_with_lang_en(client) -> None:
    zh = client.get("/login").get_data(as_text=True)
    assert "登录" in zh and "用户名" in zh and 'lang="zh-CN"' in zh
    en = client.get("/login?lang=en").get_data(as_text=True)
    assert "Log in" in en and "Username" in en and "登录" not in en
    wrong = log_in(client, "rice", "not-the-password")  # the lang cookie now says English
    assert "Wrong username or password." in wrong.get_data(as_text=True)
    log_in(client, "rice")
    assert "API tokens" in client.get("/account/tokens").get_data(as_text=True)


# ---- sessions end on the server (issue 11) ----
def _session_cookie(client: FlaskClient) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None
    return cookie.value


def _replay(app, cookie: str, **environ: str) -> FlaskClient:
    """A second browser that presents a copied session cookie."""
    thief = app.test_client()
    thief.environ_base.update(environ)
    thief.set_cookie("session", cookie)
    return thief


def test_a_session_cookie_copied_before_logout_is_refused_after_it(app, client) -> None:
    assert log_in(client, "rice").status_code == 303
    copied = _session_cookie(client)
    assert _replay(app, copied).get("/account/tokens").status_code == 200  # the copy works while logged in
    assert client.post("/logout", data={"csrf_token": csrf_of(client, "/account/tokens")}).status_code == 303
    refused = _replay(app, copied).get("/account/tokens")
    assert refused.status_code == 302 and refused.headers["Location"].startswith("/login")


def test_a_password_change_ends_every_other_session_and_keeps_this_one(app, client) -> None:
    other = app.test_client()
    log_in(client, "rice")
    log_in(other, "rice")
    copied = _session_cookie(client)
    done = client.post("/account/password", data={"csrf_token": csrf_of(client, "/account/password"),
                                                  "current": DEMO_PASSWORD, "new_password": "new-secret-2026",
                                                  "confirm": "new-secret-2026"})
    assert done.status_code == 303 and done.headers["Location"] == "/account/tokens"
    assert client.get("/account/tokens").status_code == 200
    assert other.get("/account/tokens").status_code == 302
    assert _replay(app, copied).get("/account/tokens").status_code == 302
    assert log_in(app.test_client(), "rice").status_code == 200  # the old password no longer works
    assert log_in(app.test_client(), "rice", "new-secret-2026").status_code == 303
    admin = app.test_client()
    log_in(admin, "admin")
    assert "修改了密码" in admin.get("/account/audit").get_data(as_text=True)


BAD_PASSWORD_CHANGES = {  # id: (form fields, field whose error shows, the message beside it)
    "a wrong current password": ({"current": "not-the-password", "new_password": "new-secret-2026",
                                  "confirm": "new-secret-2026"}, "current", "当前密码不正确"),
    "a new password of 7 characters": ({"current": DEMO_PASSWORD, "new_password": "short-7",
                                        "confirm": "short-7"}, "new_password", "8 至 128"),
    "two different new passwords": ({"current": DEMO_PASSWORD, "new_password": "new-secret-2026",
                                     "confirm": "new-secret-2027"}, "confirm", "两次输入的新密码不一致"),
}


@pytest.mark.parametrize(("fields", "field", "message"), list(BAD_PASSWORD_CHANGES.values()),
                         ids=list(BAD_PASSWORD_CHANGES))
def test_a_bad_password_change_shows_the_error_beside_the_field_and_changes_nothing(app, client, fields, field,
                                                                                     message) -> None:
    log_in(client, "rice")
    page = client.post("/account/password", data={"csrf_token": csrf_of(client, "/account/password"), **fields})
    text = page.get_data(as_text=True)
    assert page.status_code == 422 and message in text
    assert re.search(rf'id="{field}"[^>]*aria-invalid="true"|aria-invalid="true"[^>]*id="{field}"', text)
    assert client.get("/account/tokens").status_code == 200  # still logged in
    assert log_in(app.test_client(), "rice").status_code == 303  # the password is unchanged


def test_a_session_is_dropped_when_its_cookie_comes_from_another_browser(app, client) -> None:
    log_in(client, "rice")
    copied = _session_cookie(client)
    assert _replay(app, copied).get("/account/tokens").status_code == 200
    stolen = _replay(app, copied, HTTP_USER_AGENT="thief/1.0").get("/account/tokens")
    assert stolen.status_code == 302


def test_a_session_ends_eight_hours_after_login_however_busy(app) -> None:
    from farmtrace.services.accounts import account_for_session, check_password
    ledger = app.extensions["ledger"]
    account = check_password(ledger, "rice", DEMO_PASSWORD)
    issued = int(account.session_id.rsplit(":", 1)[1])
    assert account_for_session(ledger, account.session_id, now=issued + 8 * 3600 - 1) is not None
    assert account_for_session(ledger, account.session_id, now=issued + 8 * 3600) is None
    assert app.config["PERMANENT_SESSION_LIFETIME"].total_seconds() == 8 * 3600


def test_login_starts_a_new_session(client) -> None:
    with client.session_transaction() as sess:
        sess["planted"] = "by someone else"
    log_in(client, "rice")
    with client.session_transaction() as sess:
        assert "planted" not in sess and "_user_id" in sess


# ---- login throttles shared by every worker, OWASP device cookies (issue 11) ----
ATTACKER = "203.0.113.9"


def _attempt(client: FlaskClient, username: str, password: str, address: str):
    client.environ_base["REMOTE_ADDR"] = address
    return log_in(client, username, password)


def test_two_workers_share_the_login_failure_counts(app, another_worker) -> None:
    from farmtrace.web.account.views import LOGIN_PER_ADDRESS
    workers = [app.test_client(), another_worker.test_client()]
    for attempt in range(LOGIN_PER_ADDRESS.limit):
        assert _attempt(workers[attempt % 2], "rice", "not-the-password", ATTACKER).status_code == 200
    for worker in workers:
        blocked = _attempt(worker, "rice", DEMO_PASSWORD, ATTACKER)  # even the right password, from here
        assert blocked.status_code == 429 and "登录失败次数过多" in blocked.get_data(as_text=True)
        assert 0 < int(blocked.headers["Retry-After"]) <= 2 * LOGIN_PER_ADDRESS.seconds


def test_the_right_password_from_another_address_still_logs_in_while_the_attacker_is_locked_out(app) -> None:
    from farmtrace.web.account.views import LOGIN_PER_ADDRESS
    attacker = app.test_client()
    for _ in range(LOGIN_PER_ADDRESS.limit):
        _attempt(attacker, "rice", "not-the-password", ATTACKER)
    assert _attempt(attacker, "rice", "guess-number-11", ATTACKER).status_code == 429
    assert _attempt(app.test_client(), "rice", DEMO_PASSWORD, "198.51.100.20").status_code == 303


def test_a_browser_with_the_accounts_device_cookie_logs_in_while_others_are_locked_out_of_it(app) -> None:
    from farmtrace.web.account.views import DEVICE_COOKIE, LOGIN_PER_ACCOUNT, LOGIN_PER_ADDRESS
    owner = app.test_client()
    assert _attempt(owner, "rice", DEMO_PASSWORD, "198.51.100.20").status_code == 303
    cookie = owner.get_cookie(DEVICE_COOKIE, path="/login")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Strict"
    owner.post("/logout", data={"csrf_token": csrf_of(owner, "/account/tokens")})
    botnet = app.test_client()  # many addresses, each under its own limit, together past the account's
    for n in range(LOGIN_PER_ACCOUNT.limit):
        assert _attempt(botnet, "rice", "not-the-password", f"192.0.2.{n // (LOGIN_PER_ADDRESS.limit - 1)}"
                        ).status_code == 200
    stranger = _attempt(app.test_client(), "rice", DEMO_PASSWORD, "198.51.100.99")
    assert stranger.status_code == 429  # no device cookie: the account is locked for this client
    nobody = _attempt(app.test_client(), "nobody-here", "not-the-password", "198.51.100.98")
    assert nobody.status_code == 200  # another account, another address: not locked
    assert _attempt(owner, "rice", DEMO_PASSWORD, "198.51.100.20").status_code == 303


def test_an_unknown_user_is_counted_and_locked_out_exactly_like_a_real_one(app) -> None:
    from farmtrace.web.account.views import LOGIN_PER_ADDRESS
    pages = {}
    for username in ("rice", "nobody-here"):
        client = app.test_client()
        address = f"198.51.100.{len(pages) + 50}"
        for _ in range(LOGIN_PER_ADDRESS.limit):
            _attempt(client, username, "not-the-password", address)
        locked = _attempt(client, username, "not-the-password", address)
        page = re.sub(r"csrf_token[^>]*", "", locked.get_data(as_text=True)).replace(username, "NAME")
        pages[username] = (locked.status_code, re.sub(r"\d+", "N", page))
    assert pages["rice"] == pages["nobody-here"] and pages["rice"][0] == 429


# ---- who made a token; the audit trail (issue 11) ----
def test_an_admin_minting_a_token_for_another_orgs_user_is_in_the_audit_trail(app, client) -> None:
    log_in(client, "admin")
    make_token(client, username="tea")
    make_token(client)  # their own: not an act on someone else
    (made,) = tokens_of(app, "tea")
    assert made.created_by == "admin"
    assert "由 admin 创建" in client.get("/account/tokens").get_data(as_text=True)
    trail = client.get("/account/audit")
    text = trail.get_data(as_text=True)
    assert trail.status_code == 200 and trail.headers["Cache-Control"] == "no-store"
    assert text.count("为其他机构的用户创建了 API 令牌") == 1 and "tea (yunding-tea)" in text and made.prefix in text
    producer = app.test_client()
    log_in(producer, "rice")
    assert producer.get("/account/audit").status_code == 403


def test_the_audit_trail_cannot_be_changed_or_deleted(app, db) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError
    from farmtrace.storage.engine import make_engine
    create_token(app.extensions["ledger"], "tea", created_by="admin")
    for url in {db["url"], db["owner_url"]}:
        engine = make_engine(url)
        for sql in ("UPDATE audit_log SET detail = 'nothing happened'", "DELETE FROM audit_log"):
            with pytest.raises(DBAPIError):
                with engine.begin() as conn:
                    conn.execute(text(sql))
        engine.dispose()


# ---- https: HSTS and Secure on every cookie (issue 11) ----
@pytest.mark.parametrize("base_url", ["https://trace.bazhong.example", "http://127.0.0.1:5000"])
def test_every_cookie_is_secure_and_hsts_is_sent_exactly_when_the_base_url_is_https(db_url, tmp_path,
                                                                                     base_url) -> None:
    from farmtrace.web import create_app
    from farmtrace.web.account.views import DEVICE_COOKIE
    from tests.web.conftest import ORIGIN, SECRET
    https = base_url.startswith("https://")
    app = create_app({"database_url": db_url, "instance": str(tmp_path / "instance"), "secret_key": SECRET,
                      "log_origin": ORIGIN, "base_url": base_url, "TESTING": True})
    try:
        client = app.test_client()
        responses = [client.get("/login?lang=en"), log_in(client, "rice")]
        with app.extensions["ledger"].uow() as uow:
            gtin, lot = uow.execute("SELECT gtin, lot FROM gtin_lots ORDER BY gtin, lot").first()
        responses.append(client.get(f"/01/{gtin}/10/{lot}/21/SECURE0001"))
        cookies = {h.split("=", 1)[0]: h for r in responses for h in r.headers.getlist("Set-Cookie")}
        assert {"lang", "session", DEVICE_COOKIE, "ft_device"} <= set(cookies)
        for header in cookies.values():
            assert ("; Secure" in header) == https, header
        for response in responses:
            hsts = response.headers.get("Strict-Transport-Security")
            if https:
                assert hsts is not None and int(re.search(r"max-age=(\d+)", hsts).group(1)) >= 365 * 86400
            else:
                assert hsts is None
    finally:
        app.extensions["ledger"].engine.dispose()
        if "throttle" in app.extensions:
            app.extensions["throttle"].close()


def test_the_command_line_sets_a_password_and_ends_the_users_sessions(app, client, db_url, tmp_path) -> None:
    from click.testing import CliRunner
    from farmtrace.cli import main
    env = {"FARMTRACE_DATABASE_URL": db_url, "FARMTRACE_INSTANCE": str(tmp_path / "cli-instance")}
    log_in(client, "rice")
    short = CliRunner().invoke(main, ["user", "password", "rice"], input="short\nshort\n", env=env)
    assert short.exit_code == 1 and "8 to 128" in short.stderr
    assert client.get("/account/tokens").status_code == 200
    done = CliRunner().invoke(main, ["user", "password", "rice"], input="from-the-cli-2026\nfrom-the-cli-2026\n",
                              env=env)
    assert done.exit_code == 0, done.output
    assert client.get("/account/tokens").status_code == 302
    assert log_in(app.test_client(), "rice", "from-the-cli-2026").status_code == 303


def test_every_action_the_services_write_to_the_audit_trail_is_named_in_words() -> None:
    """The audit page shows actions in words: each code a service records has a label there."""
    import re
    from pathlib import Path

    from farmtrace.web.account.views import AUDIT_ACTIONS
    services = Path(__file__).resolve().parents[2] / "trace" / "services"
    written = {m.group(1) for f in services.rglob("*.py")
               for m in re.finditer(r'(?:audit\.record|_audit)\(uow, (?:actor, )?"([a-z_]+)"', f.read_text("utf-8"))}
    assert {"device_key_added", "org_created", "password_changed"} <= written  # the pattern still finds them
    assert written - set(AUDIT_ACTIONS) == set()

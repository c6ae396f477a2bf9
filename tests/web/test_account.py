"""Browser login and the API-token pages, with CSRF switched on as in production."""

import re

from flask.testing import FlaskClient

from farmtrace.core.tokens import create_token, list_tokens
from farmtrace.demo import DEMO_PASSWORD
from farmtrace.web.auth import FailureCounter

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


def test_login_failures_are_rate_limited_per_address(app, client) -> None:
    app.extensions["login_failures"] = FailureCounter(limit=3, window=300)
    for _ in range(3):
        assert log_in(client, "rice", "not-the-password").status_code == 200
    blocked = log_in(client, "rice")  # even the right password, until the window has passed
    assert blocked.status_code == 429
    with client.session_transaction() as sess:
        assert "_user_id" not in sess


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
        assert done.status_code == 303 and done.headers["Location"] == "/account/tokens"


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

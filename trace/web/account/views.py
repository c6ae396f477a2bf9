"""People's accounts in the browser: session login/logout, password change, API-token pages, audit trail.

- `/login` checks the password with argon2 (farmtrace.services.accounts); unknown user and wrong
  password get the same form error, the same work and the same limits. Failed logins are counted
  in the database (shared by every worker), following OWASP's device-cookie scheme:
  * a browser that logged in to an account before carries a signed device cookie for it; with a
    valid one it is limited only by its own failures (LOGIN_PER_DEVICE), never locked out by
    failures from elsewhere;
  * any other client is limited per address (LOGIN_PER_ADDRESS) and per account
    (LOGIN_PER_ACCOUNT: many addresses guessing one account lock out only clients without its
    device cookie). A locked-out client gets the form back with 429 and Retry-After, and no
    password is checked for it.
- A session is `strong`-protected (Flask-Login: a changed address or browser ends it), lasts at
  most 8 hours from login (core/accounts.py), and is named by an id that logout and a password
  change invalidate on the server: a session cookie copied before either is refused after it.
- `/account/password` changes the password (current + new, 8-128 characters); every other session ends.
- `/account/tokens` lists tokens (yours; an admin sees everyone's), creates one and shows the
  clear token once on the response page (never stored, not in the session, `no-store`), and
  revokes (your own; an admin any). `/account/audit` shows admins the audit trail. Every POST
  carries a CSRF token (CSRFProtect in create_app).
"""

from __future__ import annotations

import secrets
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Flask, abort, current_app, flash, make_response, redirect, render_template, request, \
    session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, UserMixin, current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from itsdangerous import BadSignature, URLSafeTimedSerializer
from wtforms import IntegerField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, NumberRange, Optional

from farmtrace.services import audit
from farmtrace.services.accounts import Account, account_for_session, change_password, check_password, end_sessions
from farmtrace.ledger.errors import InvalidRequestError, NotFoundError, PermissionDeniedError
from farmtrace.services.ledger import Ledger
from farmtrace.services.throttle import Window, counter_key
from farmtrace.services.tokens import NewToken, TokenInfo, create_token, list_tokens, revoke_token

from farmtrace.web.auth import client_address, throttle

bp = Blueprint("account", __name__)

LOGIN_PER_ADDRESS = Window(limit=10, seconds=300)  # failed logins from one address (any account)
LOGIN_PER_ACCOUNT = Window(limit=20, seconds=900)  # failed logins to one account from clients without its device cookie
LOGIN_PER_DEVICE = Window(limit=10, seconds=900)   # failed logins with one device cookie
PASSWORD_CHANGE = Window(limit=5, seconds=900)     # wrong current passwords on /account/password, per account
DEVICE_COOKIE = "ft_login_device"
DEVICE_COOKIE_DAYS = 90
DEVICE_COOKIE_ACCOUNTS = 8  # one browser remembers at most this many accounts (a shared tablet)


class SessionUser(UserMixin):  # type: ignore[misc]
    """What Flask-Login keeps for a logged-in person; the session stores only `account.session_id`."""

    def __init__(self, account: Account) -> None:
        self.account = account

    def get_id(self) -> str:
        return self.account.session_id


class LoginForm(FlaskForm):  # type: ignore[misc]
    username = StringField(_l("Username"), validators=[DataRequired(_l("Enter your username.")), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Enter your password.")), Length(max=128)])


class PasswordForm(FlaskForm):  # type: ignore[misc]
    current = PasswordField(_l("Current password"), validators=[DataRequired(_l("Enter your current password.")),
                                                               Length(max=128)])
    new_password = PasswordField(_l("New password"), validators=[
        DataRequired(_l("Enter a new password.")),
        Length(8, 128, _l("The new password must be 8 to 128 characters."))])
    confirm = PasswordField(_l("New password again"), validators=[
        DataRequired(_l("Enter the new password again.")),
        EqualTo("new_password", _l("The two new passwords differ."))])


class TokenForm(FlaskForm):  # type: ignore[misc]
    username = StringField(_l("For user"), validators=[Optional(), Length(max=64)])
    days = IntegerField(_l("Valid for (days)"), validators=[
        Optional(), NumberRange(1, 3650, _l("Enter a number of days from 1 to 3650, or leave it empty."))])


def init_app(app: Flask) -> None:
    """Flask-Login for the pages: who is logged in, where to send those who are not."""
    manager = LoginManager(app)
    manager.login_view = "account.login"
    manager.login_message = _l("Please log in to see this page.")
    manager.login_message_category = "info"
    manager.session_protection = "strong"  # a session seen from another address or browser is dropped

    @manager.user_loader
    def _load(session_id: str) -> SessionUser | None:
        account = account_for_session(ledger(), session_id)
        return SessionUser(account) if account is not None else None


def ledger() -> Ledger:
    return current_app.extensions["ledger"]  # type: ignore[no-any-return]


def _devices() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="farmtrace/login-device")  # type: ignore[arg-type]


def device_cookies() -> dict[str, str]:
    """{username: nonce} from this browser's signed device cookie ({} if none, forged or expired)."""
    raw = request.cookies.get(DEVICE_COOKIE)
    if not raw or len(raw) > 4000:
        return {}
    try:
        value = _devices().loads(raw, max_age=DEVICE_COOKIE_DAYS * 86400)
    except BadSignature:
        return {}
    if not isinstance(value, dict):
        return {}
    return {str(k): str(v) for k, v in value.items() if isinstance(k, str) and isinstance(v, str)}


def _with_device_cookie(response: Any, username: str) -> Any:
    """Give the browser a new device cookie for `username` (after a successful login), keeping a few others."""
    known = device_cookies()
    known.pop(username, None)
    known[username] = secrets.token_urlsafe(16)
    kept = dict(list(known.items())[-DEVICE_COOKIE_ACCOUNTS:])
    response.set_cookie(DEVICE_COOKIE, _devices().dumps(kept), max_age=DEVICE_COOKIE_DAYS * 86400, path="/login",
                        httponly=True, samesite="Strict")  # Secure over https: SecureCookieResponse
    return response


def _login_limits(username: str) -> list[tuple[str, str, Window]]:
    """The counters a login attempt for `username` from this client is held to: its device cookie's alone
    if it has a valid one that is not itself locked out, else its address's and the account's."""
    nonce = device_cookies().get(username)
    if nonce is not None:
        device = ("login_device", counter_key(username, nonce), LOGIN_PER_DEVICE)
        if not throttle().wait(*device):
            return [device]
    return [("login_addr", counter_key(client_address()), LOGIN_PER_ADDRESS),
            ("login_account", counter_key(username), LOGIN_PER_ACCOUNT)]


def _locked_for(limits: list[tuple[str, str, Window]]) -> int:
    """Seconds until every counter in `limits` has room for one more failure (0: not locked)."""
    return max((throttle().wait(scope, key, window) for scope, key, window in limits), default=0)


def me() -> Account:
    return current_user.account  # type: ignore[no-any-return]


def safe_next(target: str | None) -> str | None:
    """`target` if it is a path on this site (/...), else None: never an open redirect."""
    if not target or len(target) > 2000 or not target.startswith("/") or target.startswith("//") \
            or "\\" in target or any(ord(c) < 32 or c == "\x7f" for c in target):
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else None


def _private(body: str, status: int = 200) -> Any:
    response = make_response(body, status)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    form = LoginForm()
    next_url = safe_next(request.values.get("next"))
    status = 200
    if form.validate_on_submit():
        username = form.username.data.strip()
        limits = _login_limits(username)
        wait = _locked_for(limits)
        if wait:
            status = 429
            form.form_errors.append(_("Too many failed logins; try again in %(n)s minutes.", n=max(1, -(-wait // 60))))
        else:
            account = check_password(ledger(), username, form.password.data)
            if account is not None:
                session.clear()  # a new session: nothing from before the login survives it (session fixation)
                login_user(SessionUser(account))
                home = url_for("producer.home") if account.role in ("producer", "admin") else url_for("account.tokens")
                return _with_device_cookie(redirect(next_url or home, 303), username)
            for scope, key, window in limits:
                throttle().add(scope, key, window)
            form.form_errors.append(_("Wrong username or password."))
    response = _private(render_template("account/login.html", form=form, next=next_url), status)
    if status == 429:
        response.headers["Retry-After"] = str(wait)
    return response


@bp.post("/logout")
def logout() -> Any:
    """End this session and every other session of the same account (the id changes on the server)."""
    if current_user.is_authenticated:
        end_sessions(ledger(), me().id)
    logout_user()
    session.clear()
    return redirect(url_for("public.index"), 303)


@bp.route("/account/password", methods=["GET", "POST"])
@login_required  # type: ignore[misc]
def password() -> Any:
    form = PasswordForm()
    status = 200
    if form.validate_on_submit():
        status = 422
        limit = ("pw_change", counter_key(me().username), PASSWORD_CHANGE)
        wait = _locked_for([limit])
        if wait:
            status = 429
            form.current.errors = [_("Too many wrong passwords; try again in %(n)s minutes.", n=max(1, -(-wait // 60)))]
        else:
            try:
                renewed = change_password(ledger(), me(), form.current.data, form.new_password.data)
            except InvalidRequestError:
                renewed = None
                form.new_password.errors = [_("The new password must be 8 to 128 characters.")]
            else:
                if renewed is None:
                    throttle().add(*limit)
                    form.current.errors = [_("The current password is wrong.")]
            if renewed is not None:
                session.clear()
                login_user(SessionUser(renewed))
                flash(_("Your password is changed; every other session has ended."), "info")
                return redirect(url_for("account.tokens"), 303)
    elif request.method == "POST":
        status = 422
    return _private(render_template("account/password.html", form=form), status)


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") + " UTC" if moment is not None else ""


def _visible_tokens() -> list[TokenInfo]:
    rows = list_tokens(ledger())
    return rows if me().is_admin else [t for t in rows if t.username == me().username]


def _tokens_page(form: TokenForm, new: NewToken | None = None, status: int = 200) -> Any:
    return _private(render_template("account/tokens.html", form=form, new=new, tokens=_visible_tokens(),
                                    account=me(), when=_when, now=datetime.now(timezone.utc)), status)


@bp.get("/account/tokens")
@login_required  # type: ignore[misc]
def tokens() -> Any:
    return _tokens_page(TokenForm(formdata=None))


@bp.post("/account/tokens")
@login_required  # type: ignore[misc]
def create() -> Any:
    """Make a token and show it in clear on this response only (no redirect: it is never stored)."""
    form = TokenForm()
    if not form.validate_on_submit():
        return _tokens_page(form, status=422)
    wanted = (form.username.data or "").strip() or me().username
    if wanted != me().username and not me().is_admin:
        raise PermissionDeniedError(_("Only an administrator may create tokens for other users."), field="username")
    try:
        new = create_token(ledger(), wanted, days=form.days.data, created_by=me().username)
    except NotFoundError:
        form.username.errors = [_("There is no user %(name)s.", name=wanted)]
        return _tokens_page(form, status=422)
    return _tokens_page(TokenForm(formdata=None), new=new)


@bp.post("/account/tokens/<int:token_id>/revoke")
@login_required  # type: ignore[misc]
def revoke(token_id: int) -> Any:
    found = next((t for t in list_tokens(ledger()) if t.id == token_id), None)
    if found is None:
        abort(404)
    if found.username != me().username and not me().is_admin:
        raise PermissionDeniedError(_("You may revoke only your own tokens."), field="id")
    revoke_token(ledger(), token_id)
    flash(_("Token %(prefix)s… is revoked.", prefix=found.prefix), "info")
    return redirect(url_for("account.tokens"), 303)


@bp.get("/account/audit")
@login_required  # type: ignore[misc]
def audit_trail() -> Any:
    """Admins only: the newest entries of the audit trail."""
    if not me().is_admin:
        raise PermissionDeniedError(_("Only an administrator may read the audit trail."), field="role")
    return _private(render_template("account/audit.html", entries=audit.recent(ledger()), when=_when,
                                    action_label=lambda name: AUDIT_ACTIONS.get(name, name)))


AUDIT_ACTIONS = {  # the audit trail's action codes in words
    "password_changed": _l("Password changed"),
    "token_for_other_org": _l("API token made for a user of another org"),
    "token_for_other_user": _l("API token made for another user"),
    "token_revoked_in_url": _l("API token revoked: it was seen in a URL"),
    "device_key_added": _l("Tablet registered"),
    "device_key_revoked": _l("Tablet's key revoked"),
    "org_created": _l("Org created"),
    "org_edited": _l("Org details changed"),
    "org_prefix_added": _l("GS1 company prefix registered"),
    "org_cma_set": _l("CMA number recorded"),
    "org_licence_set": _l("Licence recorded"),
    "org_licence_removed": _l("Licence removed"),
    "user_created": _l("User created"),
    "role_changed": _l("Role changed"),
    "password_reset": _l("Password reset by an admin"),
    "token_created": _l("API token made"),
    "token_revoked": _l("API token revoked"),
    "org_key_rotated": _l("Org key rotated"),
    "org_key_revoked": _l("Org key revoked"),
}

"""People's accounts in the browser: session login/logout and the API-token pages.

- `/login` checks the password with argon2 (farmtrace.core.accounts); unknown user and wrong
  password get the same form error. Failed logins are counted per client address (a
  FailureCounter of their own, not shared with the API's); past the limit every login POST
  from that address gets a 429 page until the window has passed.
- `/account/tokens` lists tokens (yours; an admin sees everyone's), creates one and shows the
  clear token once on the response page (never stored, not in the session, `no-store`), and
  revokes (your own; an admin any). Every POST carries a CSRF token (CSRFProtect in create_app).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Flask, abort, current_app, flash, make_response, redirect, render_template, request, \
    session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, UserMixin, current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import IntegerField, PasswordField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from farmtrace.core.accounts import Account, account_for_session, check_password
from farmtrace.core.errors import NotFoundError, PermissionDeniedError, TooManyAttemptsError
from farmtrace.core.ledger import Ledger
from farmtrace.core.tokens import NewToken, TokenInfo, create_token, list_tokens, revoke_token

from .auth import FailureCounter

bp = Blueprint("account", __name__)

LOGIN_FAILURE_LIMIT = 10
LOGIN_FAILURE_WINDOW = 300.0


class SessionUser(UserMixin):  # type: ignore[misc]
    """What Flask-Login keeps for a logged-in person; the session stores only `account.session_id`."""

    def __init__(self, account: Account) -> None:
        self.account = account

    def get_id(self) -> str:
        return self.account.session_id


class LoginForm(FlaskForm):  # type: ignore[misc]
    username = StringField(_l("Username"), validators=[DataRequired(_l("Enter your username.")), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Enter your password.")), Length(max=128)])


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

    @manager.user_loader
    def _load(session_id: str) -> SessionUser | None:
        account = account_for_session(ledger(), session_id)
        return SessionUser(account) if account is not None else None


def ledger() -> Ledger:
    return current_app.extensions["ledger"]  # type: ignore[no-any-return]


def login_failures() -> FailureCounter:
    return current_app.extensions.setdefault(  # type: ignore[no-any-return]
        "login_failures", FailureCounter(LOGIN_FAILURE_LIMIT, LOGIN_FAILURE_WINDOW))


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
    if request.method == "POST":
        client, counter = request.remote_addr or "?", login_failures()
        if counter.blocked(client):
            raise TooManyAttemptsError(_("Too many failed logins from your address; try again in %(n)s minutes.",
                                         n=int(counter.window // 60)), field="password")
        if form.validate_on_submit():
            account = check_password(ledger(), form.username.data.strip(), form.password.data)
            if account is not None:
                session.clear()  # nothing from before the login survives it (session fixation)
                login_user(SessionUser(account))
                return redirect(next_url or url_for("account.tokens"), 303)
            counter.fail(client)
            form.form_errors.append(_("Wrong username or password."))
    return _private(render_template("account/login.html", form=form, next=next_url))


@bp.post("/logout")
def logout() -> Any:
    logout_user()
    session.clear()
    return redirect(url_for("public.index"), 303)


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
        new = create_token(ledger(), wanted, days=form.days.data)
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

"""Per-user API tokens: created once in clear, stored as SHA-256, revocable, optionally expiring.

Rules:
1. The clear token (`ft_` + `secrets.token_urlsafe(32)`) is returned once, by `create_token`;
   only its SHA-256 (hex) and a short display prefix are stored.
2. `authenticate` hashes what it is given, finds the row by hash, compares with
   `hmac.compare_digest`, and refuses a revoked or expired token, or one whose user is gone,
   with the same message for every case (no oracle for which tokens exist).
3. A token acts as its user: the user's org and role, read at each request.
4. A token records who made it (`created_by`; NULL from the command line). A token made by one
   user for another is written to the audit trail (core/audit.py).
5. A real token seen in a URL is revoked at once (`revoke_exposed`): URLs end up in access logs,
   proxies and Referer headers, so the token must be taken as already leaked.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from farmtrace.storage.models import ApiToken, User, utcnow
from farmtrace.storage.uow import UnitOfWork, utc_aware

from farmtrace.services import audit
from farmtrace.services.transaction import Actor
from farmtrace.ledger.errors import AuthenticationError, InvalidEventError, NotFoundError
from farmtrace.services.ledger import Ledger

TOKEN_PREFIX = "ft_"
MAX_TOKEN_LENGTH = 200
TOUCH_EVERY = timedelta(minutes=1)  # last_used_at is written at most this often per token


@dataclass(frozen=True)
class NewToken:
    id: int
    token: str  # the clear token: show it once, never store it
    prefix: str
    username: str
    expires_at: datetime | None


@dataclass(frozen=True)
class TokenInfo:
    id: int
    username: str
    org: str
    role: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    created_by: str | None = None  # username; None: made on the command line


@dataclass(frozen=True)
class Authenticated:
    """Who a valid token stands for, and which token it was (the append cap counts per token)."""

    actor: Actor
    token_id: int


def token_hash(token: str) -> str:
    """Lowercase hex SHA-256 of the clear token's UTF-8 bytes."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def create_token(ledger: Ledger, username: str, *, days: int | None = None,
                 created_by: str | None = None) -> NewToken:
    """Make a token for `username`, valid for `days` (None: until revoked); return it in clear once.

    `created_by` is the username of whoever asked (None: the command line); when it is not
    `username`, the audit trail records it.
    """
    check_days(days)
    return ledger.write(lambda uow: mint(uow, username, days=days, created_by=created_by))


def check_days(days: int | None) -> None:
    if days is not None and not 1 <= days <= 3650:
        raise InvalidEventError("days must be between 1 and 3650", field="days")


def mint(uow: UnitOfWork, username: str, *, days: int | None, created_by: str | None) -> NewToken:
    """`create_token` inside a transaction already open (services/admin.py audits it there too)."""
    clear = TOKEN_PREFIX + secrets.token_urlsafe(32)
    user = uow.user(username)
    if user is None or user.id is None:
        raise NotFoundError(f"no user {username}", field="username")
    creator = uow.user(created_by) if created_by is not None else None
    if created_by is not None and (creator is None or creator.id is None):
        raise NotFoundError(f"no user {created_by}", field="created_by")
    expires = utcnow() + timedelta(days=days) if days is not None else None
    row = ApiToken(user_id=user.id, token_hash=token_hash(clear), prefix=clear[:10], expires_at=expires,
                   created_by=creator.id if creator is not None else None)
    uow.add(row)
    uow.flush()
    assert row.id is not None
    if creator is not None and creator.id != user.id:
        other_org = creator.org_id != user.org_id
        audit.record(uow, "token_for_other_org" if other_org else "token_for_other_user",
                     f"{username} ({user.org_id})", actor_id=creator.id,
                     detail=f"token {row.id} {row.prefix}… made by {created_by} ({creator.org_id}), "
                            f"expires {expires.isoformat(timespec='seconds') if expires else 'never'}")
    return NewToken(row.id, clear, row.prefix, username, expires)


def revoke_exposed(ledger: Ledger, clear: str, *, where: str) -> TokenInfo | None:
    """Revoke the token `clear` if it is a real, live one (it was seen in `where`, e.g. a URL); None if not."""
    if not clear.startswith(TOKEN_PREFIX) or len(clear) > MAX_TOKEN_LENGTH:
        return None
    wanted = token_hash(clear)
    with ledger.uow() as reader:  # most such values are not tokens: look before taking the write lock
        found = reader.token_row(wanted)
    if found is None or found.revoked_at is not None:
        return None

    def command(uow: UnitOfWork) -> TokenInfo | None:
        row = uow.session.scalars(select(ApiToken).where(ApiToken.token_hash == wanted)).first()  # type: ignore[arg-type]
        if row is None or not hmac.compare_digest(row.token_hash, wanted) or row.revoked_at is not None:
            return None
        row.revoked_at = utcnow()
        uow.add(row)
        info = _info(uow, row)
        audit.record(uow, "token_revoked_in_url", f"{info.username} ({info.org})",
                     detail=f"token {info.id} {info.prefix}… was sent in {where[:120]}; revoked automatically")
        return info
    return ledger.write(command)


def revoke_token(ledger: Ledger, token_id: int) -> TokenInfo:
    """Revoke a token by id (idempotent: revoking twice keeps the first time)."""
    return ledger.write(lambda uow: revoke_row(uow, token_id))


def revoke_row(uow: UnitOfWork, token_id: int) -> TokenInfo:
    """`revoke_token` inside a transaction already open."""
    row = uow.session.get(ApiToken, token_id)
    if row is None:
        raise NotFoundError(f"no token {token_id}", field="id")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        uow.add(row)
    return _info(uow, row)


def token_info(uow: UnitOfWork, token_id: int) -> TokenInfo | None:
    """One token's details (None if there is no such token)."""
    row = uow.session.get(ApiToken, token_id)
    return _info(uow, row) if row is not None else None


def list_tokens(ledger: Ledger) -> list[TokenInfo]:
    with ledger.uow() as uow:
        return [_info(uow, row) for row in uow.session.scalars(select(ApiToken).order_by(ApiToken.id))]  # type: ignore[arg-type]


def _info(uow: UnitOfWork, row: ApiToken) -> TokenInfo:
    user = uow.session.get(User, row.user_id)
    creator = uow.session.get(User, row.created_by) if row.created_by is not None else None
    assert row.id is not None
    return TokenInfo(row.id, user.username if user else "?", user.org_id if user else "?", user.role if user else "?",
                     row.prefix, row.created_at, utc_aware(row.expires_at), utc_aware(row.revoked_at),
                     utc_aware(row.last_used_at), creator.username if creator else None)


def authenticate(ledger: Ledger, token: str) -> Actor:
    """The actor a clear token stands for; AuthenticationError if it is unknown, revoked or expired."""
    return identify(ledger, token).actor


def identify(ledger: Ledger, token: str) -> Authenticated:
    """The actor a clear token stands for and the token's id; AuthenticationError as `authenticate`."""
    refused = AuthenticationError("the API token is not valid (unknown, revoked or expired)", field="Authorization")
    if not token.startswith(TOKEN_PREFIX) or len(token) > MAX_TOKEN_LENGTH:
        raise refused
    wanted = token_hash(token)
    now = utcnow()
    with ledger.uow() as uow:
        row = uow.token_row(wanted)
    if row is None or not hmac.compare_digest(row.token_hash, wanted):
        raise refused
    if row.revoked_at is not None or (row.expires_at is not None and row.expires_at <= now):
        raise refused
    if row.last_used_at is None or now - row.last_used_at > TOUCH_EVERY:
        _touch(ledger, row.id, now)
    return Authenticated(Actor(org=row.org_id, user=row.username, role=row.role), row.id)


def _touch(ledger: Ledger, token_id: int, now: datetime) -> None:
    def command(uow: UnitOfWork) -> None:
        row = uow.session.get(ApiToken, token_id)
        if row is not None:
            row.last_used_at = now
            uow.add(row)
    ledger.write(command)

"""Per-user API tokens: created once in clear, stored as SHA-256, revocable, optionally expiring.

Rules:
1. The clear token (`ft_` + `secrets.token_urlsafe(32)`) is returned once, by `create_token`;
   only its SHA-256 (hex) and a short display prefix are stored.
2. `authenticate` hashes what it is given, finds the row by hash, compares with
   `hmac.compare_digest`, and refuses a revoked or expired token, or one whose user is gone,
   with the same message for every case (no oracle for which tokens exist).
3. A token acts as its user: the user's org and role, read at each request.
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

from .append import Actor
from .errors import AuthenticationError, InvalidEventError, NotFoundError
from .ledger import Ledger

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


def token_hash(token: str) -> str:
    """Lowercase hex SHA-256 of the clear token's UTF-8 bytes."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def create_token(ledger: Ledger, username: str, *, days: int | None = None) -> NewToken:
    """Make a token for `username`, valid for `days` (None: until revoked); return it in clear once."""
    if days is not None and not 1 <= days <= 3650:
        raise InvalidEventError("days must be between 1 and 3650", field="days")
    clear = TOKEN_PREFIX + secrets.token_urlsafe(32)

    def command(uow: UnitOfWork) -> NewToken:
        user = uow.user(username)
        if user is None or user.id is None:
            raise NotFoundError(f"no user {username}", field="username")
        expires = utcnow() + timedelta(days=days) if days is not None else None
        row = ApiToken(user_id=user.id, token_hash=token_hash(clear), prefix=clear[:10], expires_at=expires)
        uow.add(row)
        uow.flush()
        assert row.id is not None
        return NewToken(row.id, clear, row.prefix, username, expires)
    return ledger.write(command)


def revoke_token(ledger: Ledger, token_id: int) -> TokenInfo:
    """Revoke a token by id (idempotent: revoking twice keeps the first time)."""
    def command(uow: UnitOfWork) -> TokenInfo:
        row = uow.session.get(ApiToken, token_id)
        if row is None:
            raise NotFoundError(f"no token {token_id}", field="id")
        if row.revoked_at is None:
            row.revoked_at = utcnow()
            uow.add(row)
        return _info(uow, row)
    return ledger.write(command)


def list_tokens(ledger: Ledger) -> list[TokenInfo]:
    with ledger.uow() as uow:
        return [_info(uow, row) for row in uow.session.scalars(select(ApiToken).order_by(ApiToken.id))]  # type: ignore[arg-type]


def _info(uow: UnitOfWork, row: ApiToken) -> TokenInfo:
    user = uow.session.get(User, row.user_id)
    assert row.id is not None
    return TokenInfo(row.id, user.username if user else "?", user.org_id if user else "?", user.role if user else "?",
                     row.prefix, row.created_at, utc_aware(row.expires_at), utc_aware(row.revoked_at),
                     utc_aware(row.last_used_at))


def authenticate(ledger: Ledger, token: str) -> Actor:
    """The actor a clear token stands for; AuthenticationError if it is unknown, revoked or expired."""
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
    return Actor(org=row.org_id, user=row.username, role=row.role)


def _touch(ledger: Ledger, token_id: int, now: datetime) -> None:
    def command(uow: UnitOfWork) -> None:
        row = uow.session.get(ApiToken, token_id)
        if row is not None:
            row.last_used_at = now
            uow.add(row)
    ledger.write(command)

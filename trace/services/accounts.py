"""People who log in to the web pages: password check and lookup (argon2 hashes, see Ledger.create_user).

Rules:
1. `check_password` answers the same (None) for an unknown user and a wrong password, and
   spends the same argon2 work on both, so neither the answer nor its timing tells which.
2. A session names its account by `session_id`: `user id:generation:fingerprint:issued`, where
   the generation is the user's `session_generation` (bumped by logout and by a password change),
   the fingerprint is of the password hash, and `issued` is the login time (epoch seconds). It is
   checked on every request, so a session cookie copied before a logout or a password change is
   refused after it, and no session outlives SESSION_LIFETIME after its login, however busy.
3. A new password is 8 to 128 characters, hashed with argon2; changing it needs the current one
   (the command line's `farmtrace user password` does not) and is written to the audit trail.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import timedelta

from argon2.exceptions import InvalidHashError, VerificationError

from farmtrace.storage.models import User
from farmtrace.storage.uow import UnitOfWork

from farmtrace.services import audit
from farmtrace.ledger.errors import InvalidRequestError, NotFoundError
from farmtrace.services.ledger import PASSWORDS, Ledger

MAX_PASSWORD_LENGTH = 128
MIN_PASSWORD_LENGTH = 8
SESSION_LIFETIME = timedelta(hours=8)  # absolute, from login: a working day
_DUMMY_HASH = PASSWORDS.hash("farmtrace: no such user")


@dataclass(frozen=True)
class Account:
    id: int
    username: str
    org: str
    role: str
    session_id: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


OPERATOR_ORG_KIND = "regulator"


def is_operator(uow: UnitOfWork, user: User) -> bool:
    """Whether `user` is an operator: an admin of an org of kind regulator (docs/admin.md). An operator
    manages every org on the admin pages; any other admin only their own org."""
    if user.role != "admin":
        return False
    org = uow.org(user.org_id)
    return org is not None and org.kind == OPERATOR_ORG_KIND


def _fingerprint(user: User) -> str:
    return f"{user.id}:{user.session_generation}:{hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]}"


def _account(user: User, issued: int) -> Account:
    assert user.id is not None
    return Account(user.id, user.username, user.org_id, user.role, f"{_fingerprint(user)}:{issued}")


def check_password(ledger: Ledger, username: str, password: str) -> Account | None:
    """The account if `password` is right for `username`; None otherwise (unknown user or wrong password)."""
    with ledger.uow() as uow:
        user = uow.user(username) if username else None
    stored = user.password_hash if user is not None else _DUMMY_HASH
    try:
        ok = len(password) <= MAX_PASSWORD_LENGTH and PASSWORDS.verify(stored, password)
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok or user is None or user.id is None:
        return None
    return _account(user, int(time.time()))


def account_for_session(ledger: Ledger, session_id: str, *, now: float | None = None) -> Account | None:
    """The account a session id names, or None if the user is gone, logged out or changed password since,
    or the session is older than SESSION_LIFETIME."""
    user_part, _, rest = session_id.partition(":")
    _, _, issued = rest.rpartition(":")
    if not user_part.isdigit() or len(user_part) > 9 or not issued.isdigit() or len(issued) > 12:
        return None
    age = (time.time() if now is None else now) - int(issued)
    if not -60 <= age < SESSION_LIFETIME.total_seconds():
        return None
    with ledger.uow() as uow:
        user = uow.session.get(User, int(user_part))
    if user is None or user.id is None or f"{_fingerprint(user)}:{issued}" != session_id:
        return None
    return _account(user, int(issued))


def end_sessions(ledger: Ledger, user_id: int) -> None:
    """End every session of the user, on every device (logout)."""
    def command(uow: UnitOfWork) -> None:
        user = uow.session.get(User, user_id)
        if user is not None:
            user.session_generation += 1
            uow.add(user)
    ledger.write(command)


def _check_new_password(new: str) -> None:
    if not MIN_PASSWORD_LENGTH <= len(new) <= MAX_PASSWORD_LENGTH:
        raise InvalidRequestError(f"the new password must be {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} "
                                  "characters", field="new_password")


def _set_password(uow: UnitOfWork, user: User, new: str, *, by: int | None) -> None:
    user.password_hash = PASSWORDS.hash(new)
    user.session_generation += 1  # every session made before ends, here and on other devices
    uow.add(user)
    audit.record(uow, "password_changed", f"{user.username} ({user.org_id})", actor_id=by,
                 detail="every earlier session ended")


def change_password(ledger: Ledger, account: Account, current: str, new: str) -> Account | None:
    """Set a new password if `current` is right (None if not); every other session ends. Returns the account
    with a fresh session id for the browser that asked."""
    _check_new_password(new)
    if check_password(ledger, account.username, current) is None:
        return None

    def command(uow: UnitOfWork) -> Account:
        user = uow.session.get(User, account.id)
        if user is None:
            raise NotFoundError(f"no user {account.username}", field="username")
        _set_password(uow, user, new, by=user.id)
        return _account(user, int(time.time()))
    return ledger.write(command)


def set_password(ledger: Ledger, username: str, new: str) -> None:
    """Set a user's password without the current one (the operator, on the command line); sessions end."""
    _check_new_password(new)

    def command(uow: UnitOfWork) -> None:
        user = uow.user(username)
        if user is None:
            raise NotFoundError(f"no user {username}", field="username")
        _set_password(uow, user, new, by=None)
    ledger.write(command)

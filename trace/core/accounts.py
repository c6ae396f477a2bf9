"""People who log in to the web pages: password check and lookup (argon2 hashes, see Ledger.create_user).

Rules:
1. `check_password` answers the same (None) for an unknown user and a wrong password, and
   spends the same argon2 work on both, so neither the answer nor its timing tells which.
2. A session names its account by `session_id`: the user id plus a fingerprint of the password
   hash, so changing a password ends every session made with the old one.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from argon2.exceptions import InvalidHashError, VerificationError

from farmtrace.storage.models import User

from .ledger import PASSWORDS, Ledger

MAX_PASSWORD_LENGTH = 128
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


def _session_id(user_id: int, password_hash: str) -> str:
    return f"{user_id}:{hashlib.sha256(password_hash.encode()).hexdigest()[:16]}"


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
    return Account(user.id, user.username, user.org_id, user.role, _session_id(user.id, user.password_hash))


def account_for_session(ledger: Ledger, session_id: str) -> Account | None:
    """The account a session id names, or None if the user is gone or changed password."""
    user_part, _, _fingerprint = session_id.partition(":")
    if not user_part.isdigit() or len(user_part) > 9:
        return None
    with ledger.uow() as uow:
        user = uow.session.get(User, int(user_part))
    if user is None or user.id is None or _session_id(user.id, user.password_hash) != session_id:
        return None
    return Account(user.id, user.username, user.org_id, user.role, session_id)

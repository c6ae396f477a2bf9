"""API authentication: `Authorization: Bearer <token>` only, and a per-client limit on failures.

A token in the URL is refused (it would land in logs and Referer headers). After
FAILURE_LIMIT failed attempts within FAILURE_WINDOW seconds from one client address, every
authenticated request from it gets 429 until the window has passed (in memory, per process:
with many workers the limit is per worker, so at most workers x FAILURE_LIMIT guesses a minute).
"""

from __future__ import annotations

import threading
import time
from collections import deque

from flask import current_app, request

from farmtrace.core.append import Actor
from farmtrace.core.errors import AuthenticationError, PermissionDeniedError, TooManyAttemptsError
from farmtrace.core.tokens import authenticate

FAILURE_LIMIT = 20
FAILURE_WINDOW = 60.0
TOKEN_QUERY_NAMES = ("access_token", "token", "api_token", "api_key", "bearer")


class FailureCounter:
    """Failed authentication attempts per client address within a sliding window."""

    def __init__(self, limit: int = FAILURE_LIMIT, window: float = FAILURE_WINDOW) -> None:
        self.limit, self.window = limit, window
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, client: str, now: float) -> deque[float]:
        seen = self._seen.setdefault(client, deque())
        while seen and seen[0] <= now - self.window:
            seen.popleft()
        return seen

    def blocked(self, client: str) -> bool:
        with self._lock:
            now = time.monotonic()
            recent = self._recent(client, now)
            if not recent:
                self._seen.pop(client, None)
            return len(recent) >= self.limit

    def fail(self, client: str) -> None:
        with self._lock:
            now = time.monotonic()
            self._recent(client, now).append(now)
            if len(self._seen) > 100_000:  # a flood of addresses: forget the quiet ones
                for quiet in [c for c, q in self._seen.items() if not q or q[-1] <= now - self.window]:
                    del self._seen[quiet]


def failures() -> FailureCounter:
    return current_app.extensions.setdefault("auth_failures", FailureCounter())  # type: ignore[no-any-return]


def refuse_token_in_url() -> None:
    """Before every API request: a token in the query string is refused, not ignored."""
    if any(name in request.args for name in TOKEN_QUERY_NAMES):
        failures().fail(request.remote_addr or "?")
        raise AuthenticationError("send the API token in the Authorization header (Bearer), never in the URL",
                                  field="access_token")


def current_actor() -> Actor:
    """The actor the request's bearer token stands for; 401 without one, 429 after too many failures."""
    client = request.remote_addr or "?"
    counter = failures()
    if counter.blocked(client):
        raise TooManyAttemptsError(f"too many failed authentication attempts; try again in "
                                   f"{int(counter.window)} seconds", field="Authorization")
    header = request.headers.get("Authorization")
    if header is None:
        raise AuthenticationError("this needs an API token: Authorization: Bearer <token>", field="Authorization")
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        counter.fail(client)
        raise AuthenticationError("the Authorization header must be 'Bearer <token>'", field="Authorization")
    try:
        return authenticate(current_app.extensions["ledger"], token.strip())
    except AuthenticationError:
        counter.fail(client)
        raise


def require_role(actor: Actor, *roles: str) -> None:
    if actor.role not in roles:
        raise PermissionDeniedError(f"role {actor.role} may not do this; needs {' or '.join(roles)}", field="role")

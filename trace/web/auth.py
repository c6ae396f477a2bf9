"""API authentication: `Authorization: Bearer <token>` only; limits every worker shares.

Rules (decisions in docs/api.md and docs/security.md):
1. A valid token always authenticates: tokens carry 256 random bits, so no number of failures
   from anyone makes guessing one feasible, and an attacker's failures never lock out its owner.
2. Only failures are counted, per client address (IPv6: per /64), in the database
   (core/throttle.py), so every gunicorn worker sees the same count. An address past
   TOKEN_FAILURES gets 429 for *invalid* tokens until there is room again; its valid tokens still work.
3. A token in the query string is refused; if it is a real token it is also revoked, because a
   URL lands in access logs, proxies and Referer headers (the error message says so).
4. Appends are capped per token: at most APPENDS_PER_MINUTE events a minute (a batch counts its
   items), in the same shared counters; past it, 429 with Retry-After.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from collections import deque

from flask import current_app, g, request

from farmtrace.services.transaction import Actor
from farmtrace.ledger.errors import AuthenticationError, PermissionDeniedError, TooManyAttemptsError
from farmtrace.services.ledger import Ledger
from farmtrace.services.throttle import Throttle, Window, counter_key
from farmtrace.services.tokens import identify, revoke_exposed

TOKEN_FAILURES = Window(limit=20, seconds=60)  # failed token attempts per address
FAILURE_LIMIT = TOKEN_FAILURES.limit
APPENDS_PER_MINUTE = 600  # appended events per token per minute (a batch counts its items)
TOKEN_QUERY_NAMES = ("access_token", "token", "api_token", "api_key", "bearer")


class FailureCounter:
    """Events per client within a sliding window, in this process's memory only.

    Not for authentication (that is shared through the database, see `throttle`); kept for
    counts where a per-process budget is enough.
    """

    def __init__(self, limit: int = 20, window: float = 60.0) -> None:
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


def ledger() -> Ledger:
    return current_app.extensions["ledger"]  # type: ignore[no-any-return]


def throttle() -> Throttle:
    """The shared counters of this app's database (one Throttle per app)."""
    found = current_app.extensions.get("throttle")
    if found is None:
        found = current_app.extensions.setdefault("throttle", Throttle(ledger().engine))
    return found  # type: ignore[no-any-return]


def client_address() -> str:
    """The client's address as counted: IPv4 as is, IPv6 by its /64 (one subscriber's whole block)."""
    raw = request.remote_addr or "?"
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        return raw[:64]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def _count_token_failure() -> None:
    """Count a failed token for the client's address; 429 if the address is already past its limit."""
    counters, key = throttle(), counter_key(client_address())
    wait = counters.wait("token_fail", key, TOKEN_FAILURES)
    if wait:
        raise TooManyAttemptsError(f"too many failed authentication attempts from your address; invalid tokens "
                                   f"are refused for {wait} more seconds (valid tokens still work)",
                                   field="Authorization", retry_after=wait)
    counters.add("token_fail", key, TOKEN_FAILURES)


def refuse_token_in_url() -> None:
    """Before every API request: a token in the query string is refused, and revoked if it is real."""
    names = [name for name in TOKEN_QUERY_NAMES if name in request.args]
    if not names:
        return
    revoked = [info for name in names for value in request.args.getlist(name)
               if (info := revoke_exposed(ledger(), value.strip(), where=f"the URL of {request.method} {request.path}"))]
    if revoked:
        raise AuthenticationError(
            f"an API token ({', '.join(t.prefix + '…' for t in revoked)}) was sent in the URL, where logs keep it: "
            "it has been revoked. Make a new token and send it only in the Authorization header (Bearer)",
            field=names[0])
    _count_token_failure()
    raise AuthenticationError("send the API token in the Authorization header (Bearer), never in the URL",
                              field="access_token")


def current_actor() -> Actor:
    """The actor the request's bearer token stands for; 401 without a valid one, 429 past the failure limit."""
    header = request.headers.get("Authorization")
    if header is None:
        raise AuthenticationError("this needs an API token: Authorization: Bearer <token>", field="Authorization")
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        _count_token_failure()
        raise AuthenticationError("the Authorization header must be 'Bearer <token>'", field="Authorization")
    try:
        found = identify(ledger(), token.strip())
    except AuthenticationError:
        _count_token_failure()
        raise
    g.api_token_id = found.token_id
    return found.actor


class AppendLeases:
    """This process's slices of each token's shared per-minute append budget.

    Counting every append in the database would add a write (on SQLite, a turn on the writers'
    lock) to each append and halve HTTP throughput. So a worker reserves LEASE events at a time from
    the shared counter and spends them locally; the shared count never passes the limit, and at most
    LEASE - 1 reserved events per worker go unused when a window ends or a token stops.
    """

    LEASE = 50

    def __init__(self) -> None:
        self._left: dict[str, tuple[int, int]] = {}  # counter key -> (window start, events left)
        self._lock = threading.Lock()

    def take(self, shared: Throttle, key: str, window: Window, n: int) -> bool:
        """Spend `n` of `key`'s budget; False (nothing spent) when the shared limit has no room."""
        now = time.time()
        start = window.start(now)
        with self._lock:
            held_start, left = self._left.get(key, (start, 0))
            left = left if held_start == start else 0
            if left < n:
                want = n - left
                got = shared.add("appends", key, window, max(want, self.LEASE), limit=window.limit, now=now)
                if got is None and want < self.LEASE:
                    got = shared.add("appends", key, window, want, limit=window.limit, now=now)
                    left += want if got is not None else 0
                elif got is not None:
                    left += max(want, self.LEASE)
                if got is None:
                    self._left[key] = (start, left)
                    return False
            self._left[key] = (start, left - n)
            if len(self._left) > 10_000:  # forget the tokens of finished windows
                self._left = {k: v for k, v in self._left.items() if v[0] == start}
            return True


def charge_appends(n: int, *, field: str | None = None) -> None:
    """Count `n` events to append against the request's token; 429 (nothing counted) past APPENDS_PER_MINUTE."""
    token_id = g.get("api_token_id")
    if token_id is None:
        return
    window = Window(APPENDS_PER_MINUTE, 60)
    key = counter_key("token", str(token_id))
    leases: AppendLeases = current_app.extensions.setdefault("append_leases", AppendLeases())
    if not leases.take(throttle(), key, window, n):
        wait = throttle().wait("appends", key, window, n)
        raise TooManyAttemptsError(f"at most {window.limit} events a minute may be appended with one token "
                                   f"(this request has {n}); try again in {wait} seconds", field=field,
                                   retry_after=wait)


def require_role(actor: Actor, *roles: str) -> None:
    if actor.role not in roles:
        raise PermissionDeniedError(f"role {actor.role} may not do this; needs {' or '.join(roles)}", field="role")

"""Counters every worker shares (table `throttle_counts`): failed logins and tokens, appends per token.

Rules:
1. A counter is (scope, key, fixed window): `window_start` is the time rounded down to a multiple
   of the window's length, so every worker and every database agrees on which row to bump.
2. What a limit holds to is the current window plus the one before it: "at most `limit` in the last
   one to two windows". So a burst at a window's edge gets no second budget, and a count does not
   fall to zero at an arbitrary moment; `wait` says how long until there is room again.
3. One short write transaction per bump: an upsert (`INSERT ... ON CONFLICT DO UPDATE`, the same
   text on SQLite and PostgreSQL) that returns the new count. A bump with a `limit` is refused
   whole (None) when it would pass the limit, and then counts nothing.
4. Counters are not ledger data: on SQLite they are written through connections with
   synchronous=NORMAL, on PostgreSQL with synchronous_commit off for the transaction, so a
   counter costs no fsync of its own. A power cut may forget the last counts; nothing else.
5. Rows whose window ended more than PRUNE_AFTER seconds ago are deleted when a new window's row
   is made, so the table holds about two windows of rows per active key.
6. Keys are SHA-256 of what they count by (address, username, device, token id): the table holds
   no addresses or usernames in clear.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from sqlalchemy import Engine

from farmtrace.storage.engine import is_sqlite, make_engine
from farmtrace.storage.uow import UnitOfWork

PRUNE_AFTER = 3600

_BUMP = ("INSERT INTO throttle_counts (scope, key, window_start, count) VALUES (:scope, :key, :start, :n) "
         "ON CONFLICT (scope, key, window_start) DO UPDATE SET count = throttle_counts.count + excluded.count")
_UNDER_LIMIT = " WHERE throttle_counts.count + excluded.count <= :room"


@dataclass(frozen=True)
class Window:
    """A limit: at most `limit` counts in the current window of `seconds` and the one before it."""

    limit: int
    seconds: int

    def start(self, now: float) -> int:
        return int(now) - int(now) % self.seconds

    def left(self, now: float) -> int:
        """Whole seconds until the current window ends (at least 1)."""
        return max(1, self.start(now) + self.seconds - int(now))


def counter_key(*parts: str) -> str:
    """The stored key for what is counted (hex SHA-256: no address or name in clear)."""
    return hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


class Throttle:
    """Shared counters in the database behind `engine` (the ledger's)."""

    def __init__(self, engine: Engine) -> None:
        self.sqlite = is_sqlite(engine)
        # SQLite: connections of our own with synchronous=NORMAL (closed by `close`, or with this object)
        self.engine = (make_engine(engine.url.render_as_string(hide_password=False), synchronous="NORMAL")
                       if self.sqlite else engine)

    def _counts(self, uow: UnitOfWork, scope: str, key: str, window: Window, moment: float) -> tuple[int, int]:
        start = window.start(moment)
        rows = uow.execute("SELECT window_start, count FROM throttle_counts WHERE scope = :scope AND key = :key "
                           "AND window_start IN (:previous, :current)", scope=scope, key=key,
                           previous=start - window.seconds, current=start).all()
        found = {int(r[0]): int(r[1]) for r in rows}
        return found.get(start - window.seconds, 0), found.get(start, 0)

    def count(self, scope: str, key: str, window: Window, *, now: float | None = None) -> int:
        """The count of `key` under `scope` in the current and the previous window."""
        with UnitOfWork(self.engine) as uow:
            return sum(self._counts(uow, scope, key, window, time.time() if now is None else now))

    def wait(self, scope: str, key: str, window: Window, n: int = 1, *, now: float | None = None) -> int:
        """Seconds until `n` more would fit under the window's limit (0: they fit now)."""
        moment = time.time() if now is None else now
        with UnitOfWork(self.engine) as uow:
            previous, current = self._counts(uow, scope, key, window, moment)
        if previous + current + n <= window.limit:
            return 0
        if current + n <= window.limit:  # room once the previous window drops out
            return window.left(moment)
        return window.left(moment) + window.seconds

    def add(self, scope: str, key: str, window: Window, n: int = 1, *, limit: int | None = None,
            now: float | None = None) -> int | None:
        """Count `n` more for `key`; return the new count in the current window, or None (nothing counted) if
        the current and previous windows together would pass `limit`."""
        moment = time.time() if now is None else now
        start = window.start(moment)
        params: dict[str, object] = {"scope": scope, "key": key, "start": start, "n": n}
        with UnitOfWork(self.engine, write=True) as uow:
            if not self.sqlite:
                uow.execute("SET LOCAL synchronous_commit TO OFF")
            if limit is not None:  # the previous window is closed: nothing writes it any more
                room = limit - self._counts(uow, scope, key, window, moment)[0]
                if n > room:
                    return None
                params["room"] = room
            found = uow.execute(_BUMP + (_UNDER_LIMIT if limit is not None else "") + " RETURNING count",
                                **params).scalar()
            if found is not None and int(found) == n:  # a new window's row: forget long-finished windows
                uow.execute("DELETE FROM throttle_counts WHERE window_start < :old",
                            old=int(moment) - window.seconds - PRUNE_AFTER)
            uow.commit()
        return None if found is None else int(found)

    def close(self) -> None:
        if self.sqlite:
            self.engine.dispose()

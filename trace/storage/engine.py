"""Engines with the durability settings the ledger needs.

SQLite: WAL, synchronous=FULL, foreign keys on, a busy timeout, and writers that begin with
BEGIN IMMEDIATE (so a chain head read under the write lock is still the head at commit).
PostgreSQL: fsync, synchronous_commit and full_page_writes must be on.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.pool import NullPool

from farmtrace.core.errors import FarmtraceError

WRITE = "farmtrace_write"


class DurabilityError(FarmtraceError):
    code = "not_durable"


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine for `url` with the ledger's connection settings applied to every connection."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 60, "check_same_thread": False}, **kwargs)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=60000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(WRITE) else "BEGIN")

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def durability_report(engine: Engine) -> dict[str, str]:
    """The settings a connection reports; `require_durable` checks them."""
    with engine.connect() as conn:
        if is_sqlite(engine):
            return {name: str(conn.exec_driver_sql(f"PRAGMA {name}").scalar())
                    for name in ("journal_mode", "synchronous", "foreign_keys")}
        return {name: str(conn.execute(text(f"SHOW {name}")).scalar())
                for name in ("fsync", "synchronous_commit", "full_page_writes")}


def require_durable(engine: Engine) -> None:
    """Raise DurabilityError unless the database commits durably (the app refuses to start otherwise)."""
    got = durability_report(engine)
    want = ({"journal_mode": "wal", "synchronous": "2", "foreign_keys": "1"} if is_sqlite(engine)
            else {"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"})
    wrong = {k: v for k, v in got.items() if v.lower() != want[k]}
    if wrong:
        raise DurabilityError(f"database is not durable: {wrong} (want {want})")


__all__ = ["make_engine", "is_sqlite", "require_durable", "durability_report", "WRITE", "NullPool"]

"""Engines with the durability settings the ledger needs.

SQLite: WAL, synchronous=FULL, foreign keys on, a busy timeout, and writers that begin with
BEGIN IMMEDIATE (so a chain head read under the write lock is still the head at commit).
PostgreSQL: fsync, synchronous_commit and full_page_writes must be on.

Files: a SQLite database file is created by us, mode 0600, before SQLite opens it (an empty file
is an empty database), in a folder made 0700 if it is missing; SQLite gives its `-wal` and
`-shm` files the main file's mode, so no byte of the database is ever readable by others,
whatever the umask.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, make_url, text
from sqlalchemy.pool import NullPool

from farmtrace.config import make_instance_folder
from farmtrace.ledger.errors import FarmtraceError

WRITE = "farmtrace_write"


class DurabilityError(FarmtraceError):
    code = "not_durable"


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def create_private_file(path: Path) -> None:
    """Make `path` (mode 0600) and its folder (0700) if they are missing, before anything writes to them."""
    make_instance_folder(path.parent)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass


def make_engine(url: str, *, synchronous: str = "FULL", **kwargs: Any) -> Engine:
    """Create an engine for `url` with the ledger's connection settings applied to every connection.

    `synchronous="NORMAL"` is for data that may lose its last commits on power loss (the shared
    throttle counters), never for the ledger: `require_durable` refuses such an engine.
    """
    if url.startswith("sqlite"):
        database = make_url(url).database
        if database and database != ":memory:" and not database.startswith("file:"):
            create_private_file(Path(database).resolve())
        engine = create_engine(url, connect_args={"timeout": 60, "check_same_thread": False}, **kwargs)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA synchronous={'NORMAL' if synchronous == 'NORMAL' else 'FULL'}")
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


__all__ = ["make_engine", "create_private_file", "is_sqlite", "require_durable", "durability_report", "WRITE", "NullPool"]

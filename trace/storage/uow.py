"""Unit of work: one database session, one transaction, thin query helpers for the core.

    with UnitOfWork(engine, write=True) as uow:   # BEGIN IMMEDIATE on SQLite
        batch = uow.lock_batch("b1")               # SELECT ... FOR UPDATE on PostgreSQL
        ...
        uow.commit()                               # leaving without commit() rolls back
"""

from __future__ import annotations

import fcntl
import os
import re
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from types import TracebackType
from typing import Any

from sqlalchemy import Connection, Engine, func, select, text
from sqlmodel import Session

from farmtrace.storage.engine import WRITE, is_sqlite
from farmtrace.storage.models import (ApiToken, Batch, Checkpoint, Event, Finding, Lineage, LogState, MerkleNode, Org,
                                     OrgLicence, OrgPrefix, PersonalData, Recall, SigningKey, User)


# The append path's statements. An append runs them on every call, so they go straight to the
# driver (sqlite3 or psycopg) inside the session's transaction; written with :name parameters
# and translated once to psycopg's %(name)s.
_FAST_SQL = {
    "key": "SELECT id, org_id, purpose, public_key, sealed_private FROM keys WHERE org_id = :org "
           "AND purpose = 'org' AND ended_seq IS NULL ORDER BY created_at DESC LIMIT 1",
    "batch": "SELECT id, org_id, family, product, lot, head, created_seq, event_count, quantity, unit, status, "
             "transit_to, origin_org FROM batches WHERE id = :id",
    "log": "SELECT size, frontier FROM log_state WHERE id = 1",
    "set_head": "UPDATE batches SET head = :head, event_count = :n, org_id = :org, quantity = :q, status = :st, "
                "transit_to = :to WHERE id = :id",
    "org_record": "SELECT kind, cma_number FROM orgs WHERE id = :id",
    "org_prefixes": "SELECT prefix FROM org_prefixes WHERE org_id = :id",
    "event_at": "SELECT at FROM events WHERE hash = :hash",
    "recalled": "SELECT recall FROM recalls WHERE batch_id = :id LIMIT 1",
    "set_log": "UPDATE log_state SET size = :size, frontier = :frontier WHERE id = 1",
    "event_id": "SELECT seq FROM events WHERE id = :id",
    "lot": "SELECT 1 FROM batches WHERE origin_org = :o AND product = :p AND lot = :l",
    "gtin_lot": "SELECT batch_id FROM gtin_lots WHERE gtin = :gtin AND lot = :lot",
    "lineage_heads": "WITH RECURSIVE walk(id) AS (SELECT CAST(:id AS VARCHAR(64)) UNION "
                     "SELECT l.parent FROM lineage l JOIN walk w ON l.child = w.id) "
                     "SELECT b.id, b.head, (SELECT r.recall FROM recalls r WHERE r.batch_id = :id LIMIT 1) "
                     "FROM batches b JOIN walk ON b.id = walk.id",
    "token": "SELECT t.id, t.token_hash, t.expires_at, t.revoked_at, t.last_used_at, u.org_id, u.username, u.role "
             "FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = :hash",
}
_LOCKING = {"batch", "log"}
_SQL_BY_DIALECT = {
    "sqlite": _FAST_SQL,
    "postgresql": {name: re.sub(r":(\w+)", r"%(\1)s", sql) + (" FOR UPDATE" if name in _LOCKING else "")
                   for name, sql in _FAST_SQL.items()},
}
_WRITE_BINDS: dict[int, tuple[Engine, Engine]] = {}


def _write_bind(engine: Engine) -> Engine:
    """The engine with the write option (BEGIN IMMEDIATE on SQLite), made once per engine."""
    cached = _WRITE_BINDS.get(id(engine))
    if cached is None or cached[0] is not engine:
        cached = _WRITE_BINDS[id(engine)] = (engine, engine.execution_options(**{WRITE: True}))
    return cached[1]


@dataclass
class BatchRow:
    """A locked batch as the append path sees it (a plain object, not a session-tracked row)."""

    id: str
    org_id: str
    family: str
    product: str
    lot: str
    head: str | None
    created_seq: int
    event_count: int
    quantity: str | None = None
    unit: str | None = None
    status: str = "held"
    transit_to: str | None = None
    origin_org: str | None = None


@dataclass(frozen=True)
class KeyRow:
    id: str
    org_id: str | None
    purpose: str
    public_key: str
    sealed_private: bytes | None


@dataclass(frozen=True)
class TokenRow:
    """An API token joined with its user, as authentication needs it (times are UTC-aware)."""

    id: int
    token_hash: str
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    org_id: str
    username: str
    role: str


def utc_aware(value: Any) -> datetime | None:
    """A timestamp column as the driver or the ORM returns it (sqlite3: text or naive UTC; psycopg:
    datetime), UTC-aware."""
    if value is None:
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class LogRow:
    size: int
    frontier: bytes


class WriterGate:
    """Writers to one SQLite file queue here before BEGIN IMMEDIATE: a thread lock, then an flock.

    SQLite lets one writer in at a time and makes the others poll (its busy handler sleeps 1, 2,
    5, 10 ms ... between tries), so under concurrent appends from several gunicorn workers or
    threads most of the time went to sleeping while the lock was already free. Queueing on an
    flock of `<database>.writers` wakes the next writer as soon as the last one commits. The
    lock is advisory: SQLite's own locking still guarantees correctness (a writer that ignores the
    gate, such as the sqlite3 shell, is merely polled as before).
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._pid = -1
        self._fd = -1
        self._threads = threading.Lock()

    def acquire(self) -> None:
        if not self._threads.acquire(timeout=60):  # as long as SQLite's own busy timeout
            raise TimeoutError(f"waited 60 s for the writer lock {self.path}")
        try:
            if self._pid != os.getpid():  # a forked worker opens its own file description
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
                self._pid = os.getpid()
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        except BaseException:
            self._threads.release()
            raise

    def release(self) -> None:
        try:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()


_GATES: dict[str, WriterGate] = {}
_GATES_LOCK = threading.Lock()


def writer_gate(engine: Engine) -> WriterGate | None:
    """The gate of the SQLite file behind `engine` (None for an in-memory database or PostgreSQL)."""
    database = engine.url.database if is_sqlite(engine) else None
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    path = os.path.abspath(database) + ".writers"
    with _GATES_LOCK:
        gate = _GATES.get(path)
        if gate is None:
            gate = _GATES[path] = WriterGate(path)
        return gate


class UnitOfWork:
    def __init__(self, engine: Engine, *, write: bool = False) -> None:
        self.engine = engine
        self.write = write
        self.sqlite = is_sqlite(engine)
        self._committed = False

    def __enter__(self) -> UnitOfWork:
        self._bind = _write_bind(self.engine) if self.write else self.engine
        self._connection: Connection | None = None
        self._session: Session | None = None
        self._cursor: Any = None
        self._committed = False
        self._gate: WriterGate | None = None
        return self

    @property
    def connection(self) -> Connection:
        """The unit of work's connection, in its transaction (BEGIN IMMEDIATE on SQLite for writers)."""
        if self._connection is None:
            if self.write and self.sqlite:
                self._gate = writer_gate(self.engine)
                if self._gate is not None:
                    self._gate.acquire()
            try:
                self._connection = self._bind.connect()
                self._connection.begin()
            except BaseException:
                self._open_gate()
                raise
        return self._connection

    def _open_gate(self) -> None:
        if self._gate is not None:
            gate, self._gate = self._gate, None
            gate.release()

    @property
    def session(self) -> Session:
        """An ORM session on the same connection and transaction, made on first use."""
        if self._session is None:
            self._session = Session(bind=self.connection, expire_on_commit=False, autoflush=False,
                                    join_transaction_mode="rollback_only")
        return self._session

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._close_cursor()
        try:
            if not self._committed and self._connection is not None:
                if self._session is not None and exc_type is None:
                    self._session.expunge_all()  # keep what was read usable after the transaction
                self._connection.rollback()
        finally:
            if self._session is not None:
                self._session.close()
            if self._connection is not None:
                self._connection.close()
            self._open_gate()

    def _close_cursor(self) -> None:
        if self._cursor is not None:
            self._cursor.close()  # before the connection goes back to the pool
            self._cursor = None

    def commit(self) -> None:
        self._close_cursor()
        if self._session is not None:
            self._session.flush()
        if self._connection is not None:
            self._connection.commit()
        self._committed = True

    def rollback(self) -> None:
        self._close_cursor()
        if self._connection is not None:
            self._connection.rollback()
            self._connection.begin()

    def flush(self) -> None:
        self.session.flush()

    def add(self, row: Any) -> None:
        self.session.add(row)

    # ---- locks (the append's critical sections) ----
    # ---- the append path: straight to the driver, inside this unit of work's transaction ----
    def _fast(self, name: str, params: dict[str, Any] | None = None) -> Any:
        if self._cursor is None:
            self._cursor = self.connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
            self._sql = _SQL_BY_DIALECT["sqlite" if self.sqlite else "postgresql"]
        if name:
            self._cursor.execute(self._sql[name], params or {})
        return self._cursor

    def gtin_lot(self, gtin: str, lot: str) -> str | None:
        """The batch GS1 Digital Link /01/{gtin}/10/{lot} names, if any (gtin in its 14-digit form)."""
        row = self._fast("gtin_lot", {"gtin": gtin, "lot": lot}).fetchone()
        return None if row is None else str(row[0])

    def lineage_heads(self, batch_id: str) -> tuple[dict[str, str | None], str | None]:
        """({batch: head} for the batch and every ancestor, the batch's recall hash or None): one statement."""
        rows = self._fast("lineage_heads", {"id": batch_id}).fetchall()
        return {str(r[0]): r[1] for r in rows}, (str(rows[0][2]) if rows and rows[0][2] is not None else None)

    def token_row(self, token_hash: str) -> TokenRow | None:
        """The API token with this SHA-256 and its user, in one statement (every API request asks)."""
        row = self._fast("token", {"hash": token_hash}).fetchone()
        if row is None:
            return None
        return TokenRow(int(row[0]), row[1], utc_aware(row[2]), utc_aware(row[3]), utc_aware(row[4]), row[5], row[6], row[7])

    def lock_batch(self, batch_id: str) -> BatchRow | None:
        """The batch row, locked for this transaction (changes go through set_batch_head)."""
        row = self._fast("batch", {"id": batch_id}).fetchone()
        return None if row is None else BatchRow(*row)

    def lock_log(self) -> LogRow:
        """The log's size and Merkle frontier, locked for this transaction."""
        row = self._fast("log").fetchone()
        if row is None:
            raise RuntimeError("log_state has no row: run the migrations")
        return LogRow(int(row[0]), bytes(row[1] or b""))

    def insert_rows(self, model: Any, rows: list[dict[str, Any]]) -> None:
        """Insert many rows (dicts with the same keys) with one executemany."""
        if not rows:
            return
        columns = list(rows[0])
        key = f"insert:{model.__tablename__}:{','.join(columns)}"
        if key not in _SQL_BY_DIALECT["sqlite"]:
            names = ", ".join(columns)
            _SQL_BY_DIALECT["sqlite"][key] = (f"INSERT INTO {model.__tablename__} ({names}) VALUES "
                                              f"({', '.join(':' + c for c in columns)})")
            _SQL_BY_DIALECT["postgresql"][key] = (f"INSERT INTO {model.__tablename__} ({names}) VALUES "
                                                  f"({', '.join('%(' + c + ')s' for c in columns)})")
        if self.sqlite:  # stored as SQLAlchemy stores UTC datetimes on SQLite: naive ISO text
            rows = [{k: v.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f") if isinstance(v, datetime) else v
                     for k, v in row.items()} for row in rows]
        self._fast("", None)  # make sure the cursor and transaction exist
        self._cursor.executemany(self._sql[key], rows)

    def set_batch_state(self, batch: BatchRow) -> None:
        """Write a batch's chain head, holder, quantity and custody status."""
        self._fast("set_head", {"head": batch.head, "n": batch.event_count, "org": batch.org_id, "q": batch.quantity,
                                "st": batch.status, "to": batch.transit_to, "id": batch.id})

    def org_record(self, org_id: str) -> tuple[str, str | None] | None:
        """(kind, CMA number) of an org, or None when there is no such org."""
        row = self._fast("org_record", {"id": org_id}).fetchone()
        return None if row is None else (str(row[0]), None if row[1] is None else str(row[1]))

    def company_prefixes(self, org_id: str) -> list[str]:
        """The GS1 company prefixes registered to an org."""
        return [str(r[0]) for r in self._fast("org_prefixes", {"id": org_id}).fetchall()]

    def event_at(self, event_hash: str) -> str | None:
        """The `at` of a stored event, as written in its body."""
        row = self._fast("event_at", {"hash": event_hash}).fetchone()
        return None if row is None else str(row[0])

    def recall_of(self, batch_id: str) -> str | None:
        """The hash of a recall covering the batch, or None."""
        row = self._fast("recalled", {"id": batch_id}).fetchone()
        return None if row is None else str(row[0])

    def descendants(self, batch_ids: Sequence[str]) -> set[str]:
        """Every batch made, at any depth, from any of `batch_ids` (one recursive query)."""
        return set(lineage_walk(self.connection, batch_ids, forward=True))

    def ancestors(self, batch_ids: Sequence[str]) -> set[str]:
        """Every batch that went, at any depth, into any of `batch_ids` (one recursive query)."""
        return set(lineage_walk(self.connection, batch_ids, forward=False))

    def batch_summaries(self, batch_ids: Sequence[str]) -> list[dict[str, Any]]:
        if not batch_ids:
            return []
        marks = ", ".join(f":b{i}" for i in range(len(batch_ids)))
        rows = self.connection.execute(text(
            "SELECT b.id, b.org_id, b.family, b.product, b.lot, b.quantity, b.unit, b.status, "  # nosec B608
            f"(SELECT MIN(r.recall) FROM recalls r WHERE r.batch_id = b.id) FROM batches b WHERE b.id IN ({marks}) "
            "ORDER BY b.created_seq"), {f"b{i}": b for i, b in enumerate(batch_ids)})
        return [{"id": r[0], "holder": r[1], "family": r[2], "product": r[3], "lot": r[4], "quantity": r[5],
                 "unit": r[6], "status": r[7], "recall": r[8]} for r in rows]

    def lineage_edges(self, batch_ids: Sequence[str]) -> list[dict[str, str]]:
        if not batch_ids:
            return []
        marks = ", ".join(f":b{i}" for i in range(len(batch_ids)))
        rows = self.connection.execute(text(
            f"SELECT child, parent, via, quantity, unit FROM lineage WHERE child IN ({marks}) "  # nosec B608
            f"AND parent IN ({marks}) ORDER BY child, parent"), {f"b{i}": b for i, b in enumerate(batch_ids)})
        return [{"child": r[0], "parent": r[1], "via": r[2], "quantity": r[3], "unit": r[4]} for r in rows]

    # A footprint's reads (services/footprint.py): each starts with the trace's recursive walk over the lineage
    # edges (child -> parent), from the root itself, so no list of a thousand ids is sent three times.
    _WALK = ("WITH RECURSIVE walk(id) AS (SELECT CAST(:root AS VARCHAR(64)) UNION "
             "SELECT l.parent FROM lineage l JOIN walk w ON l.child = w.id) ")

    def carbon_edges(self, root: str) -> list[tuple[str, str, str, str, str]]:
        """(child, parent, via, quantity, unit) of every consume that fed `root` or an ancestor, with the
        consume's other outputs (a split's siblings), for allocating a footprint."""
        rows = self.connection.execute(text(
            self._WALK + "SELECT l.child, l.parent, l.via, l.quantity, l.unit FROM walk w JOIN lineage l "
            "ON l.parent = w.id WHERE l.via IN (SELECT f.via FROM walk v JOIN lineage f ON f.child = v.id)"),
            {"root": root})
        return [(str(r[0]), str(r[1]), str(r[2]), str(r[3]), str(r[4])) for r in rows]

    _CARBON_COLUMNS = ("SELECT e.batch_id, e.org_id, e.type, e.at, e.canonical, e.prev IS NULL, o.county, b.unit, "
                       "e.seq FROM events e JOIN orgs o ON o.id = e.org_id JOIN batches b ON b.id = e.batch_id ")
    _HAS_CARBON = "(e.prev IS NULL OR e.canonical LIKE '%\"activity\":%')"

    def carbon_events(self, root: str | None = None, *, org: str | None = None) -> list[tuple[Any, ...]]:
        """(batch, org, type, at, canonical, is_first, org county, batch unit, seq) of the events that can
        carry carbon data (each batch's first event, for its quantity, and every event with activity data):
        of `root`, its ancestors and the first events of their splits' other outputs; or every such event
        signed by `org`. Log order."""
        if org is not None:
            sql = self._CARBON_COLUMNS + f"WHERE e.org_id = :org AND {self._HAS_CARBON} ORDER BY e.seq"
            return [tuple(r) for r in self.connection.execute(text(sql), {"org": org})]
        sql = (self._WALK + ", siblings(id) AS (SELECT DISTINCT l.child FROM walk w JOIN lineage l ON l.parent = w.id "
               "EXCEPT SELECT id FROM walk) "
               + self._CARBON_COLUMNS + f"JOIN walk ON walk.id = e.batch_id WHERE {self._HAS_CARBON} UNION ALL "
               + self._CARBON_COLUMNS + "JOIN siblings s ON s.id = e.batch_id WHERE e.prev IS NULL")
        # sorted here, not by ORDER BY: SQLite would then merge the two halves in seq order and scan every event
        return sorted((tuple(r) for r in self.connection.execute(text(sql), {"root": root})), key=lambda r: int(r[8]))

    def carbon_batches(self, root: str) -> list[tuple[str, str, str, str, int]]:
        """(id, product, origin org, its name, created_seq) of `root` and each ancestor, for a footprint's stages."""
        rows = self.connection.execute(text(
            self._WALK + "SELECT b.id, b.product, COALESCE(b.origin_org, b.org_id), o.name, b.created_seq "
            "FROM walk JOIN batches b ON b.id = walk.id LEFT JOIN orgs o ON o.id = COALESCE(b.origin_org, b.org_id)"),
            {"root": root})
        return [(str(r[0]), str(r[1]), str(r[2]), str(r[3] or r[2]), int(r[4])) for r in rows]

    def findings_of_batch(self, batch_id: str) -> list[Finding]:
        return list(self.session.scalars(select(Finding).where(Finding.batch_id == batch_id).order_by(Finding.id)))

    def bodies_of_batch(self, batch_id: str) -> list[str]:
        """The canonical texts of a batch's events in chain order."""
        rows = self.connection.execute(text("SELECT canonical FROM events WHERE batch_id = :b ORDER BY seq"),
                                       {"b": batch_id})
        return [str(r[0]) for r in rows]

    def set_log_state(self, size: int, frontier: bytes) -> None:
        self._fast("set_log", {"size": size, "frontier": frontier})

    def signing_key_for(self, org_id: str) -> KeyRow | None:
        """The org's current key: the append path's one key query."""
        row = self._fast("key", {"org": org_id}).fetchone()
        return None if row is None else KeyRow(row[0], row[1], row[2], row[3], None if row[4] is None else bytes(row[4]))

    def event_id_taken(self, event_id: str) -> bool:
        return self._fast("event_id", {"id": event_id}).fetchone() is not None

    def lot_taken(self, org_id: str, product: str, lot: str) -> bool:
        return self._fast("lot", {"o": org_id, "p": product, "l": lot}).fetchone() is not None

    def log_size(self) -> int:
        return int(self.session.scalar(select(LogState.size).where(LogState.id == 1)) or 0)

    # ---- reads ----
    def org(self, org_id: str) -> Org | None:
        return self.session.get(Org, org_id)

    def orgs(self) -> list[Org]:
        return list(self.session.scalars(select(Org).order_by(Org.id)))

    def org_licences(self, org_id: str | None = None) -> dict[str, dict[str, str]]:
        """Licence numbers by kind, per org (one org's, or every org's when `org_id` is None)."""
        query = select(OrgLicence)
        if org_id is not None:
            query = query.where(OrgLicence.org_id == org_id)  # type: ignore[arg-type]
        out: dict[str, dict[str, str]] = {}
        for row in self.session.scalars(query):
            out.setdefault(row.org_id, {})[row.kind] = row.number
        return out

    def all_company_prefixes(self) -> list[OrgPrefix]:
        """Every registered GS1 company prefix, by org then prefix."""
        return list(self.session.scalars(select(OrgPrefix).order_by(OrgPrefix.org_id, OrgPrefix.prefix)))

    def user(self, username: str) -> User | None:
        return self.session.scalars(select(User).where(User.username == username)).first()

    def batch(self, batch_id: str) -> Batch | None:
        return self.session.get(Batch, batch_id)

    def batches(self, org_id: str | None = None, limit: int = 200) -> list[Batch]:
        stmt = select(Batch).order_by(Batch.created_seq.desc()).limit(limit)  # type: ignore[union-attr]
        if org_id:
            stmt = stmt.where(Batch.org_id == org_id)
        return list(self.session.scalars(stmt))

    def search_batches(self, org_id: str | None = None, q: str | None = None, limit: int = 50) -> list[Batch]:
        """Newest first: batches an org holds or created (every batch when `org_id` is None), whose
        id, lot or product contains `q`."""
        stmt = select(Batch).order_by(Batch.created_seq.desc()).limit(limit)  # type: ignore[union-attr]
        if org_id:
            stmt = stmt.where((Batch.org_id == org_id) | (Batch.origin_org == org_id))
        if q:
            pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            stmt = stmt.where(Batch.id.like(pattern, escape="\\") | Batch.lot.like(pattern, escape="\\")  # type: ignore[attr-defined]
                              | Batch.product.like(pattern, escape="\\"))  # type: ignore[attr-defined]
        return list(self.session.scalars(stmt))

    def event_by_id(self, event_id: str) -> Event | None:
        return self.session.scalars(select(Event).where(Event.id == event_id)).first()

    def event_by_hash(self, event_hash: str) -> Event | None:
        return self.session.scalars(select(Event).where(Event.hash == event_hash)).first()

    def events_of_batch(self, batch_id: str) -> list[Event]:
        return list(self.session.scalars(select(Event).where(Event.batch_id == batch_id).order_by(Event.seq)))

    def stream_events(self, start: int = 0, end: int | None = None, chunk: int = 2000) -> Iterator[Event]:
        """Every event in sequence order, fetched in keyset pages so memory stays flat."""
        after = start - 1
        while True:
            stmt = select(Event).where(Event.seq > after).order_by(Event.seq).limit(chunk)
            if end is not None:
                stmt = stmt.where(Event.seq < end)
            rows = list(self.session.scalars(stmt))
            if not rows:
                return
            yield from rows
            after = rows[-1].seq
            self.session.expunge_all()

    def row_counts(self) -> dict[str, int]:
        counts = {}
        for model in (Org, User, SigningKey, Batch, Event, MerkleNode, Checkpoint, Lineage, Recall, Finding,
                      PersonalData, ApiToken, OrgPrefix, OrgLicence):
            counts[model.__tablename__] = int(self.session.scalar(select(func.count()).select_from(model)) or 0)  # type: ignore[arg-type]
        return counts

    # ---- keys ----
    def key(self, kid: str) -> SigningKey | None:
        return self.session.get(SigningKey, kid)

    def keys(self) -> list[SigningKey]:
        return list(self.session.scalars(select(SigningKey).order_by(SigningKey.added_seq, SigningKey.id)))

    def current_key(self, org_id: str | None, purpose: str = "org") -> SigningKey | None:
        stmt = (select(SigningKey).where(SigningKey.purpose == purpose, SigningKey.ended_seq.is_(None))  # type: ignore[union-attr]
                .order_by(SigningKey.created_at.desc()))  # type: ignore[attr-defined]
        stmt = stmt.where(SigningKey.org_id.is_(None) if org_id is None else SigningKey.org_id == org_id)  # type: ignore[union-attr]
        return self.session.scalars(stmt).first()

    # ---- Merkle nodes ----
    def merkle_nodes(self, wanted: Sequence[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        """Fetch stored complete-subtree hashes in one query (the core's NodeReader).

        Grouped by level as `(level = L AND idx IN (...)) OR ...` so each term is a primary-key
        lookup on SQLite and PostgreSQL alike; the values are integers we computed, never input.
        """
        by_level: dict[int, set[int]] = {}
        for level, idx in wanted:
            by_level.setdefault(int(level), set()).add(int(idx))
        if not by_level:
            return {}
        where = " OR ".join(f"(level = {level} AND idx IN ({', '.join(map(str, sorted(ids)))}))"
                            for level, ids in sorted(by_level.items()))
        rows = self.connection.exec_driver_sql(f"SELECT level, idx, hash FROM merkle_nodes WHERE {where}")  # nosec B608
        return {(int(level), int(idx)): bytes(digest) for level, idx, digest in rows}

    # ---- checkpoints ----
    def latest_checkpoint(self) -> Checkpoint | None:
        return self.session.scalars(select(Checkpoint).order_by(Checkpoint.size.desc()).limit(1)).first()  # type: ignore[attr-defined]

    def checkpoint(self, size: int) -> Checkpoint | None:
        return self.session.get(Checkpoint, size)

    def checkpoints(self) -> list[Checkpoint]:
        return list(self.session.scalars(select(Checkpoint).order_by(Checkpoint.size)))

    def execute(self, sql: str, **params: Any) -> Any:
        return self.session.execute(text(sql), params)

    def events_of_types(self, types: Sequence[str]) -> list[Event]:
        """Every event of the given types, in log order (e.g. the key entries, for an export bundle)."""
        return list(self.session.scalars(select(Event).where(Event.type.in_(types)).order_by(Event.seq)))  # type: ignore[attr-defined]


EVENT_RANGE_SQL = text(
    "SELECT e.seq, e.hash, e.canonical, e.signature, e.id, e.type, e.batch_id, e.org_id, e.key_id, e.prev, e.at, "
    "m.hash AS leaf FROM events e LEFT JOIN merkle_nodes m ON m.level = 0 AND m.idx = e.seq "
    "WHERE e.seq >= :start AND e.seq < :end ORDER BY e.seq")


def lineage_walk(conn: Connection, batch_ids: Sequence[str], *, forward: bool) -> list[str]:
    """Batches reachable from `batch_ids` along lineage edges (forward: to descendants), excluding them."""
    if not batch_ids:
        return []
    start, step = ("parent", "child") if forward else ("child", "parent")
    marks = ", ".join(f":b{i}" for i in range(len(batch_ids)))
    sql = text(f"WITH RECURSIVE walk(id) AS (SELECT {step} FROM lineage WHERE {start} IN ({marks}) "  # nosec B608
               f"UNION SELECT l.{step} FROM lineage l JOIN walk w ON l.{start} = w.id) SELECT id FROM walk")
    return [str(r[0]) for r in conn.execute(sql, {f"b{i}": b for i, b in enumerate(batch_ids)})]


def read_event_range(engine: Engine, start: int, end: int) -> list[tuple[Any, ...]]:
    """Raw event rows (with their stored leaf hash) whose sequence number is in [start, end)."""
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(EVENT_RANGE_SQL, {"start": start, "end": end})]


def seq_bounds(engine: Engine) -> tuple[int, int]:
    """Lowest and highest stored sequence numbers ((0, -1) for an empty log)."""
    with engine.connect() as conn:
        low, high = conn.execute(text("SELECT MIN(seq), MAX(seq) FROM events")).one()
    return (0, -1) if low is None else (int(low), int(high))


def key_entries(engine: Engine) -> list[tuple[int, str, str, str]]:
    """(seq, canonical, signing key id, signature) of every key_added entry, in log order."""
    with engine.connect() as conn:
        return [(int(r[0]), str(r[1]), str(r[2]), str(r[3])) for r in conn.execute(
            text("SELECT seq, canonical, key_id, signature FROM events WHERE type = 'key_added' ORDER BY seq"))]


def read_merkle_nodes(engine: Engine, level: int, start: int, end: int) -> list[tuple[int, bytes]]:
    """Stored nodes of one level with index in [start, end)."""
    with engine.connect() as conn:
        return [(int(i), bytes(h)) for i, h in conn.execute(
            text("SELECT idx, hash FROM merkle_nodes WHERE level = :lv AND idx >= :s AND idx < :e ORDER BY idx"),
            {"lv": level, "s": start, "e": end})]


def stream_batch_heads(engine: Engine, *, chunk: int = 20000) -> Iterator[tuple[str, str | None]]:
    """(batch id, chain head) of every batch, in id order, a page at a time."""
    after = ""
    with engine.connect() as conn:
        while True:
            rows = list(conn.execute(text("SELECT id, head FROM batches WHERE id > :after ORDER BY id LIMIT :limit"),
                                     {"after": after, "limit": chunk}))
            if not rows:
                return
            for batch_id, head in rows:
                yield str(batch_id), None if head is None else str(head)
            after = rows[-1][0]
            conn.rollback()


def stream_merkle_level(engine: Engine, level: int, *, chunk: int = 20000) -> Iterator[tuple[int, bytes]]:
    """Stored nodes of one level in index order."""
    after = -1
    with engine.connect() as conn:
        while True:
            rows = list(conn.execute(text("SELECT idx, hash FROM merkle_nodes WHERE level = :lv AND idx > :after "
                                          "ORDER BY idx LIMIT :limit"), {"lv": level, "after": after, "limit": chunk}))
            if not rows:
                return
            for idx, digest in rows:
                yield int(idx), bytes(digest)
            after = rows[-1][0]
            conn.rollback()

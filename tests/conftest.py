"""Fixtures shared by every test folder.

- `db_url`: a fresh, migrated database, once on SQLite (a real file) and once on PostgreSQL
  (a throwaway server started for the session; that half is skipped with one line if it can't run).
- `ledger`: a Ledger on that database with the log key made; `make_org`, `make_batch`, `record`
  factories go through the real core, so every event is really signed and chained.

Folders mirror trace/: tests/ledger (pure formats, no database), tests/rules (family rules, no
database), tests/services (commands over a real store, both databases), tests/storage (schema,
migrations, the throwaway PostgreSQL), tests/web (Flask test client), tests/browser (Chromium).
"""

from __future__ import annotations

import itertools
import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from farmtrace.services.transaction import Actor, StoredEvent
from farmtrace.services.ledger import Ledger
from farmtrace.storage.engine import make_engine
from farmtrace.storage.migrate import upgrade
from tests.pgserver import PostgresUnavailable, ThrowawayPostgres

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
APP_ROLE = "farmtrace_app"
APP_PASSWORD = "app-" + secrets.token_hex(8)
_db_counter = itertools.count()


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"../shared is not beside the repository ({SHARED})")
    return SHARED


@pytest.fixture(scope="session")
def postgres() -> Iterator[ThrowawayPostgres]:
    reason = ThrowawayPostgres.unavailable_reason()
    if reason:
        pytest.skip(f"PostgreSQL half skipped: {reason}")
    pg = ThrowawayPostgres()
    try:
        pg.start()
    except PostgresUnavailable as err:
        pytest.skip(f"PostgreSQL half skipped: {err}")
    pg.create_role(APP_ROLE, password=APP_PASSWORD)
    yield pg
    pg.stop()


def _pg_database(pg: ThrowawayPostgres) -> tuple[str, str]:
    """A new migrated database; returns (owner URL, app-role URL)."""
    name = f"ft_{os.getpid()}_{next(_db_counter)}"
    pg.create_database(name)
    owner = pg.superuser_url(name)
    upgrade(owner, app_role=APP_ROLE)
    app = owner.replace("postgres@", f"{APP_ROLE}:{APP_PASSWORD}@", 1)
    return owner, app


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    """{'kind', 'url' (the app's), 'owner_url'} of a fresh migrated database."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'farmtrace.db'}"
        upgrade(url)
        return {"kind": "sqlite", "url": url, "owner_url": url, "path": str(tmp_path / "farmtrace.db")}
    pg = request.getfixturevalue("postgres")
    owner, app = _pg_database(pg)
    return {"kind": "postgresql", "url": app, "owner_url": owner}


@pytest.fixture
def db_url(db: dict[str, str]) -> str:
    return db["url"]


@pytest.fixture
def ledger(db_url: str) -> Iterator[Ledger]:
    engine = make_engine(db_url)
    ledger = Ledger(engine, secret_key="test-secret-" + secrets.token_hex(8), log_origin="test.farmtrace/log",
                    checkpoint_interval=None)  # tests make checkpoints when they mean to
    ledger.init()
    yield ledger
    engine.dispose()


@pytest.fixture
def make_org(ledger: Ledger) -> Callable[..., str]:
    counter = itertools.count(1)

    def make(family: str = "produce", *, kind: str = "producer", org_id: str | None = None) -> str:
        """An org; a lab gets a CMA accreditation number, as a lab a sample may name needs one."""
        n = next(counter)
        org_id = org_id or f"{family}-org-{n}"
        cma = f"2423120{n:05d}" if kind == "lab" else None
        ledger.create_org(org_id, f"测试 {org_id}", kind=kind, family=family, cma=cma)
        return org_id
    return make


@pytest.fixture
def make_batch(ledger: Ledger) -> Callable[..., str]:
    counter = itertools.count(1)

    def make(org: str, *, family: str = "produce", batch_id: str | None = None, **data: Any) -> str:
        n = next(counter)
        batch_id = batch_id or f"{org}-b{n}"
        body = {"product": "富硒大米", "lot": f"L{n:04d}", "family": family, "quantity": "100", "unit": "KGM"}
        body.update(data)
        ledger.append({"type": "create", "batch": batch_id, "data": body}, actor=Actor(org=org))
        return batch_id
    return make


@pytest.fixture
def record(ledger: Ledger) -> Callable[..., StoredEvent]:
    def rec(batch_id: str, step: str = "inspected", *, org: str | None = None, **data: Any) -> StoredEvent:
        with ledger.uow() as uow:
            holder = uow.batch(batch_id)
        assert holder is not None
        return ledger.append({"type": "observe", "batch": batch_id, "data": {"step": step, **data}},
                             actor=Actor(org=org or holder.org_id))
    return rec

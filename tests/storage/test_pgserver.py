"""Tests for the throwaway PostgreSQL helper in tests/pgserver.py."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

try:
    from tests.pgserver import PostgresUnavailable, ThrowawayPostgres
except ImportError:  # pytest not started from the repo root
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from tests.pgserver import PostgresUnavailable, ThrowawayPostgres

psycopg = pytest.importorskip("psycopg")


def _start_or_skip() -> ThrowawayPostgres:
    reason = ThrowawayPostgres.unavailable_reason()
    if reason:
        pytest.skip(reason)
    pg = ThrowawayPostgres()
    try:
        pg.start()
    except PostgresUnavailable as exc:
        pytest.skip(str(exc))
    return pg


@pytest.fixture(scope="module")
def pg():
    server = _start_or_skip()
    try:
        yield server
    finally:
        server.stop()


def _port_refuses(port: int) -> bool:
    try:
        sock = socket.create_connection(("127.0.0.1", port), timeout=2)
    except ConnectionRefusedError:
        return True
    sock.close()
    return False


def test_server_starts_and_accepts_connections(pg):
    assert pg.running
    assert pg.tmpdir is not None and pg.tmpdir.is_dir()
    assert (pg.datadir / "PG_VERSION").is_file()
    assert pg.execute("SELECT 1") == [(1,)]
    with psycopg.connect(pg.conninfo(), autocommit=True) as conn:
        row = conn.execute(
            "SELECT current_user, current_database(), inet_server_addr()::text, inet_server_port()"
        ).fetchone()
    assert row == ("postgres", "postgres", "127.0.0.1/32", pg.port)


def test_superuser_url_shape(pg):
    assert pg.superuser_url() == f"postgresql+psycopg://postgres@127.0.0.1:{pg.port}/postgres"
    assert pg.superuser_url("other") == f"postgresql+psycopg://postgres@127.0.0.1:{pg.port}/other"


def test_superuser_url_works_with_sqlalchemy(pg):
    sqlalchemy = pytest.importorskip("sqlalchemy")
    engine = sqlalchemy.create_engine(pg.superuser_url())
    try:
        with engine.connect() as conn:
            assert conn.execute(sqlalchemy.text("SELECT 40 + 2")).scalar_one() == 42
    finally:
        engine.dispose()


def test_durability_and_listen_settings(pg):
    for name, expected in {
        "fsync": "on",
        "synchronous_commit": "on",
        "full_page_writes": "on",
        "max_connections": "200",
        "listen_addresses": "127.0.0.1",
        "port": str(pg.port),
        "unix_socket_directories": str(pg.sockdir),
        "server_encoding": "UTF8",
    }.items():
        assert pg.execute(f"SHOW {name}") == [(expected,)], name


def test_created_role_and_database_work(pg):
    pg.create_role("app_user", password="s3cr:et/pw")
    pg.create_role("nologin_role", login=False)
    pg.create_database("app_db", owner="app_user")

    assert pg.execute("SELECT rolcanlogin FROM pg_roles WHERE rolname = 'app_user'") == [(True,)]
    assert pg.execute("SELECT rolcanlogin FROM pg_roles WHERE rolname = 'nologin_role'") == [(False,)]
    assert pg.execute(
        "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'app_db'"
    ) == [("app_user",)]

    role_url = pg.url("app_db", user="app_user", password="s3cr:et/pw")
    assert role_url.startswith("postgresql+psycopg://app_user:")
    libpq_url = role_url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(libpq_url) as conn:
        assert conn.execute("SELECT current_user, current_database()").fetchone() == ("app_user", "app_db")
        conn.execute("CREATE TABLE t (id int PRIMARY KEY, note text)")
        conn.execute("INSERT INTO t VALUES (1, 'hello')")
        conn.commit()
    # the table is owned by the role and visible to the superuser in that database
    assert pg.execute("SELECT tableowner FROM pg_tables WHERE tablename = 't'", dbname="app_db") == [("app_user",)]
    assert pg.execute("SELECT note FROM t", dbname="app_db") == [("hello",)]


def test_stop_refuses_connections_and_removes_tmpdir():
    server = _start_or_skip()
    try:
        port, tmpdir = server.port, server.tmpdir
        assert tmpdir is not None and tmpdir.is_dir()
        assert server.execute("SHOW fsync") == [("on",)]
        # a brand-new cluster: nothing from the module-scoped server leaks in
        assert server.execute("SELECT count(*) FROM pg_database WHERE datname = 'app_db'") == [(0,)]
    finally:
        server.stop()

    assert not server.running
    assert not tmpdir.exists()
    assert _port_refuses(port)
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(server.conninfo(), connect_timeout=2).close()
    server.stop()  # idempotent
    assert not tmpdir.exists()


def test_context_manager_stops_server():
    if reason := ThrowawayPostgres.unavailable_reason():
        pytest.skip(reason)
    with ThrowawayPostgres() as server:
        port, tmpdir = server.port, server.tmpdir
        assert server.execute("SELECT current_setting('max_connections')::int") == [(200,)]
    assert tmpdir is not None and not tmpdir.exists()
    assert _port_refuses(port)

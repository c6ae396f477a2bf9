"""The database itself refuses what the application must never do."""

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from farmtrace.storage.engine import durability_report, make_engine, require_durable
from farmtrace.storage.migrate import downgrade, upgrade


def _refused(url: str, sql: str, params: dict | None = None) -> bool:
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text(sql), params or {})
    except DBAPIError:
        return True
    finally:
        engine.dispose()
    return False


@pytest.mark.parametrize("table", ["events", "merkle_nodes", "checkpoints"])
def test_ledger_tables_refuse_update_and_delete_even_for_their_owner(db, ledger, make_org, make_batch, table) -> None:
    from farmtrace.services.log import make_checkpoint
    make_batch(make_org())
    make_checkpoint(ledger, force=True)
    column = {"events": "at", "merkle_nodes": "level", "checkpoints": "note"}[table]
    for url in {db["url"], db["owner_url"]}:
        assert _refused(url, f"UPDATE {table} SET {column} = {column}")
        assert _refused(url, f"DELETE FROM {table}")
    assert ledger.row_counts()[table] > 0


def test_the_app_role_on_postgresql_has_no_update_or_delete_right(db, ledger) -> None:
    if db["kind"] != "postgresql":
        pytest.skip("roles are a PostgreSQL matter")
    engine = make_engine(db["url"])
    with engine.connect() as conn:
        rights = {r[0] for r in conn.execute(text(
            "SELECT privilege_type FROM information_schema.role_table_grants "
            "WHERE table_name = 'events' AND grantee = current_user"))}
    engine.dispose()
    assert {"SELECT", "INSERT"} <= rights
    assert not rights & {"UPDATE", "DELETE", "TRUNCATE"}
    assert _refused(db["url"], "TRUNCATE events")


def test_a_second_child_or_second_start_of_a_batch_is_refused_by_the_database(db, ledger, make_org, make_batch) -> None:
    farm = make_org()
    batch = make_batch(farm)
    with ledger.uow() as uow:
        first = uow.events_of_batch(batch)[0]
        seq = uow.log_size()
    insert = ("INSERT INTO events (seq, hash, id, type, batch_id, org_id, key_id, prev, at, canonical, signature, "
              "recorded_at) VALUES (:seq, :h, :id, :t, :b, :o, 'k', :p, 'x', '{}', 's', CURRENT_TIMESTAMP)")
    base = {"seq": seq, "h": "f" * 64, "id": "00000000-0000-4000-8000-000000000001", "t": "observe", "b": batch,
            "o": farm, "p": first.hash}
    ledger.append({"type": "observe", "batch": batch, "data": {"step": "x"}}, actor=__import__(
        "farmtrace.services.append", fromlist=["Actor"]).Actor(org=farm))
    base["seq"] += 1
    assert _refused(db["owner_url"], insert, base), "second child of one parent"
    assert _refused(db["owner_url"], insert, {**base, "p": None, "t": "create"}), "second genesis"
    assert _refused(db["owner_url"], insert, {**base, "seq": 0, "p": "e" * 64}), "duplicate sequence number"
    assert _refused(db["owner_url"], insert, {**base, "h": first.hash, "p": "e" * 64}), "duplicate hash"


def test_every_connection_commits_durably(db) -> None:
    engine = make_engine(db["url"])
    require_durable(engine)
    report = durability_report(engine)
    engine.dispose()
    if db["kind"] == "sqlite":
        assert report == {"journal_mode": "wal", "synchronous": "2", "foreign_keys": "1"}
    else:
        assert report == {"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"}


def test_migrations_go_down_and_up_again(db) -> None:
    downgrade(db["owner_url"], "base")
    engine = make_engine(db["owner_url"])
    with engine.connect() as conn:
        tables = conn.dialect.get_table_names(conn)
    assert "events" not in tables
    upgrade(db["owner_url"])
    with engine.connect() as conn:
        assert conn.execute(text("SELECT size FROM log_state")).scalar() == 0
    engine.dispose()

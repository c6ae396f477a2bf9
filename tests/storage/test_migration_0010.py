"""Migration 0010 (orgs' contact details and licences) on a database that already holds orgs."""

from sqlalchemy import text

from farmtrace.storage.engine import make_engine
from farmtrace.storage.migrate import downgrade, upgrade
from tests.conftest import APP_ROLE


def test_0010_adds_contact_columns_and_the_licence_table_and_keeps_the_orgs(db) -> None:
    downgrade(db["owner_url"], "0009")
    engine = make_engine(db["owner_url"])
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO orgs (id, name, kind, created_at) VALUES ('old-farm', '老农场', 'producer', "
                          "CURRENT_TIMESTAMP)"))
    role = APP_ROLE if db["kind"] == "postgresql" else None
    upgrade(db["owner_url"], app_role=role)
    with engine.begin() as conn:
        row = conn.execute(text("SELECT name, contact_name, contact_phone, address FROM orgs WHERE id = 'old-farm'")).one()
        assert tuple(row) == ("老农场", None, None, None)
        conn.execute(text("INSERT INTO org_licences (org_id, kind, number, recorded_at) VALUES "
                          "('old-farm', 'sc', 'SC10651192200001', CURRENT_TIMESTAMP)"))
    app = make_engine(db["url"])  # the app's own role may replace and remove licences
    with app.begin() as conn:
        conn.execute(text("UPDATE org_licences SET number = 'SC10651192200002' WHERE org_id = 'old-farm'"))
        conn.execute(text("DELETE FROM org_licences WHERE org_id = 'old-farm'"))
        conn.execute(text("DELETE FROM orgs WHERE id = 'old-farm'"))
    app.dispose()
    downgrade(db["owner_url"], "0009")
    with engine.connect() as conn:
        assert "org_licences" not in conn.dialect.get_table_names(conn)
    upgrade(db["owner_url"], app_role=role)
    engine.dispose()

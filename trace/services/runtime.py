"""Wiring: settings -> engine -> ledger, shared by the CLI and the web app."""

from __future__ import annotations

from farmtrace.config import Settings, load_settings, make_instance_folder
from farmtrace.services.documents import DocumentStore
from farmtrace.services.ledger import Ledger
from farmtrace.storage.engine import make_engine, require_durable
from farmtrace.ledger.errors import FarmtraceError
from farmtrace.storage.migrate import pending, upgrade


def open_ledger(settings: Settings | None = None, *, migrate: bool = False) -> Ledger:
    """Open the ledger named by `settings`; refuse a database that does not commit durably."""
    settings = settings or load_settings()
    if settings.database_url.startswith("sqlite"):
        make_instance_folder(settings.instance)
    if migrate:
        upgrade(settings.database_url, app_role=settings.db_app_role)
    elif pending(settings.database_url):
        raise FarmtraceError("the database schema is not up to date: run `farmtrace migrate` (scripts/serve does)")
    engine = make_engine(settings.database_url)
    require_durable(engine)
    ledger = Ledger(engine, secret_key=settings.secret_key, log_origin=settings.log_origin,
                    checkpoint_interval=settings.checkpoint_interval)
    ledger.documents = DocumentStore(settings.instance / "documents", max_bytes=settings.max_document_bytes)
    return ledger

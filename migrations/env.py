"""Alembic environment: the URL comes from farmtrace's config (FARMTRACE_DATABASE_URL or the instance)."""

from __future__ import annotations

from alembic import context

from farmtrace.storage import models
from farmtrace.storage.engine import make_engine

config = context.config
target_metadata = models.metadata


def run_migrations_online() -> None:
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        from farmtrace.config import load_settings
        url = load_settings().database_url
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata,
                          render_as_batch=connection.dialect.name == "sqlite")
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline SQL generation is not supported; run farmtrace migrate")
run_migrations_online()

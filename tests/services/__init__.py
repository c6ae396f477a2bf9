"""Commands and queries over a real store (farmtrace.services), on SQLite and PostgreSQL through `db_url`."""

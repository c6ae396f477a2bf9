"""Schema, migrations, file permissions and the throwaway PostgreSQL server (farmtrace.storage)."""

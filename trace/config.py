"""Configuration: the one module that reads the environment.

Variables (all optional):
  FARMTRACE_INSTANCE       instance folder (database, secret key); default ./instance
  FARMTRACE_DATABASE_URL   SQLAlchemy URL; default sqlite:///<instance>/farmtrace.db
  FARMTRACE_SECRET_KEY     instance secret (sessions, key-encryption key); default: generated
                           once into <instance>/secret_key (mode 0600)
  FARMTRACE_BASE_URL       absolute base URL printed in QR codes; default http://127.0.0.1:5000
                           (scripts/serve sets http://127.0.0.1:<its port> when unset); an https
                           URL turns on HSTS and Secure cookies
  FARMTRACE_LOG_ORIGIN     the checkpoint origin line; default farmtrace.bazhong.local/log
  FARMTRACE_DB_APP_ROLE    PostgreSQL role the app connects as; migrations grant it no
                           UPDATE/DELETE on the ledger tables
  FARMTRACE_CHECKPOINT_INTERVAL  seconds between automatic checkpoints; default 2
  FARMTRACE_MAX_DOCUMENT_BYTES   largest certificate PDF accepted, in bytes; default 5242880 (5 MiB)
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    instance: Path
    database_url: str
    secret_key: str
    base_url: str
    log_origin: str
    db_app_role: str | None
    checkpoint_interval: float
    max_document_bytes: int = 5 * 1024 * 1024


def make_instance_folder(instance: Path) -> None:
    """Create the instance folder mode 0700 (from the start: never readable by others, whatever the umask)."""
    if not instance.is_dir():
        instance.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(instance, 0o700)  # the umask can only take bits from mkdir's mode (0277 gives 0500): set it exactly


def _instance_secret(instance: Path) -> str:
    path = instance / "secret_key"
    if path.exists():
        return path.read_text().strip()
    make_instance_folder(instance)
    value = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(value + "\n")
    return value


def load_settings(**overrides: object) -> Settings:
    """Read FARMTRACE_* variables; keyword overrides win (tests use them)."""
    env = os.environ
    instance = Path(str(overrides.get("instance") or env.get("FARMTRACE_INSTANCE") or "instance")).resolve()
    url = str(overrides.get("database_url") or env.get("FARMTRACE_DATABASE_URL")
              or f"sqlite:///{instance / 'farmtrace.db'}")
    secret = str(overrides.get("secret_key") or env.get("FARMTRACE_SECRET_KEY") or _instance_secret(instance))
    return Settings(
        instance=instance,
        database_url=url,
        secret_key=secret,
        base_url=str(overrides.get("base_url") or env.get("FARMTRACE_BASE_URL") or "http://127.0.0.1:5000").rstrip("/"),
        log_origin=str(overrides.get("log_origin") or env.get("FARMTRACE_LOG_ORIGIN") or "farmtrace.bazhong.local/log"),
        db_app_role=(str(overrides["db_app_role"]) if overrides.get("db_app_role") else env.get("FARMTRACE_DB_APP_ROLE")),
        checkpoint_interval=float(str(overrides.get("checkpoint_interval") or env.get("FARMTRACE_CHECKPOINT_INTERVAL") or 2)),
        max_document_bytes=int(str(overrides.get("max_document_bytes") or env.get("FARMTRACE_MAX_DOCUMENT_BYTES")
                                   or 5 * 1024 * 1024)),
    )

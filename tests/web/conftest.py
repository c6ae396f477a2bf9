"""Web tests: the Flask app through its test client, on a fresh database holding the demo data.

The demo is written once per session and database kind into a template (a SQLite file; a
PostgreSQL database used as CREATE DATABASE ... TEMPLATE); each test gets its own copy, so a
test may write freely and the next one starts from the same demo again.
"""

import itertools
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from farmtrace.demo import load_demo
from farmtrace.storage.migrate import upgrade
from farmtrace.web import create_app
from tests.conftest import APP_PASSWORD, APP_ROLE

SECRET = "web-test"
ORIGIN = "test.farmtrace/log"
_copies = itertools.count()


def _load(url: str, instance: Path) -> None:
    app = create_app({"database_url": url, "instance": str(instance), "secret_key": SECRET, "log_origin": ORIGIN})
    load_demo(app.extensions["ledger"], cap_codes=instance / "demo-cap-codes.csv")  # read by `cap_codes`
    app.extensions["ledger"].engine.dispose()


class DemoTemplates:
    """One demo-loaded database per kind, made on first use and copied for each test."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.made: dict[str, Any] = {}

    def sqlite(self, dest: Path) -> dict[str, str]:
        if "sqlite" not in self.made:
            path = self.folder / "demo.db"
            upgrade(f"sqlite:///{path}")
            _load(f"sqlite:///{path}", self.folder / "instance")
            import sqlite3
            conn = sqlite3.connect(path)
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.close()
            self.made["sqlite"] = path
        for leftover in (dest, Path(f"{dest}-wal"), Path(f"{dest}-shm")):
            leftover.unlink(missing_ok=True)
        shutil.copyfile(self.made["sqlite"], dest)
        url = f"sqlite:///{dest}"
        return {"kind": "sqlite", "url": url, "owner_url": url, "path": str(dest),
                "cap_codes": str(self.folder / "instance" / "demo-cap-codes.csv")}

    def postgresql(self, pg: Any) -> dict[str, str]:
        def app_url(owner: str) -> str:
            return owner.replace("postgres@", f"{APP_ROLE}:{APP_PASSWORD}@", 1)
        if "postgresql" not in self.made:
            name = "ft_demo_template"
            pg.create_database(name)
            upgrade(pg.superuser_url(name), app_role=APP_ROLE)
            _load(app_url(pg.superuser_url(name)), self.folder / "pg-instance")
            self.made["postgresql"] = name
        name = f"ft_web_{next(_copies)}"
        pg.create_database(name, template=self.made["postgresql"])
        owner = pg.superuser_url(name)
        return {"kind": "postgresql", "url": app_url(owner), "owner_url": owner,
                "cap_codes": str(self.folder / "pg-instance" / "demo-cap-codes.csv")}


@pytest.fixture(scope="session")
def demo_templates(tmp_path_factory: pytest.TempPathFactory) -> DemoTemplates:
    return DemoTemplates(tmp_path_factory.mktemp("demo-template"))


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path, demo_templates: DemoTemplates) -> dict[str, str]:
    """Overrides the top-level `db`: a fresh copy of the demo-loaded database of each kind."""
    if request.param == "sqlite":
        return demo_templates.sqlite(tmp_path / "farmtrace.db")
    return demo_templates.postgresql(request.getfixturevalue("postgres"))


def _serving(db_url: str, instance: Path) -> Iterator[Flask]:
    """An app on the test database, closed (its engine and the shared counters' connections) afterwards."""
    app = create_app({"database_url": db_url, "instance": str(instance), "secret_key": SECRET,
                      "log_origin": ORIGIN, "TESTING": True})
    yield app
    app.extensions["ledger"].engine.dispose()
    if "throttle" in app.extensions:  # the shared counters' own connections (SQLite)
        app.extensions["throttle"].close()


@pytest.fixture
def app(db_url: str, tmp_path: Path) -> Iterator[Flask]:
    yield from _serving(db_url, tmp_path / "instance")


@pytest.fixture
def another_worker(db_url: str, tmp_path: Path) -> Iterator[Flask]:
    """A second app instance on the same database, as a second gunicorn worker would be."""
    yield from _serving(db_url, tmp_path / "worker-2")


@pytest.fixture
def live_url(app: Flask) -> Iterator[str]:
    """The app served over real HTTP on 127.0.0.1 (werkzeug, threaded) for the length of a test."""
    import threading
    from werkzeug.serving import make_server
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture
def cap_codes(db: dict[str, str]) -> dict[str, str]:
    """The demo bottles' clear cap codes by serial, as the demo wrote them (docs/consumer.md)."""
    import csv
    with open(db["cap_codes"], encoding="utf-8-sig", newline="") as f:
        return {row["序列号"]: row["开盖码"] for row in csv.DictReader(f)}


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def bearer(app: Flask):
    """bearer("rice") -> headers with an API token of that demo user (made up front, so that counting rows
    around a request sees only what the request wrote)."""
    from farmtrace.services.tokens import create_token
    made = {user: create_token(app.extensions["ledger"], user).token for user in ("rice", "tea", "regulator", "admin")}

    def headers(username: str) -> dict[str, str]:
        if username not in made:
            made[username] = create_token(app.extensions["ledger"], username).token
        return {"Authorization": f"Bearer {made[username]}"}
    return headers

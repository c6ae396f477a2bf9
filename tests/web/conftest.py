"""Web tests: the Flask app through its test client, on a fresh instance loaded with the demo data."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from farmtrace.demo import load_demo
from farmtrace.web import create_app


@pytest.fixture
def app(db_url: str, tmp_path: Path) -> Iterator[Flask]:
    app = create_app({"database_url": db_url, "instance": str(tmp_path / "instance"), "secret_key": "web-test",
                      "log_origin": "test.farmtrace/log", "TESTING": True})
    load_demo(app.extensions["ledger"])
    yield app
    app.extensions["ledger"].engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()

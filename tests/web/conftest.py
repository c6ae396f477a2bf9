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


@pytest.fixture
def bearer(app: Flask):
    """bearer("rice") -> headers with an API token of that demo user (made up front, so that counting rows
    around a request sees only what the request wrote)."""
    from farmtrace.core.tokens import create_token
    made = {user: create_token(app.extensions["ledger"], user).token for user in ("rice", "tea", "regulator", "admin")}

    def headers(username: str) -> dict[str, str]:
        if username not in made:
            made[username] = create_token(app.extensions["ledger"], username).token
        return {"Authorization": f"Bearer {made[username]}"}
    return headers

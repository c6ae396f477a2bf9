"""Request size limits over real HTTP, against gunicorn started as scripts/serve starts it
(`--config python:farmtrace.web.serving`, through the benchmarks' shared starter): the app answers
over-long URLs (414), over-large headers (431) and bodies (413) itself, as the JSON error envelope
under /api/, and gunicorn still cuts off what is far beyond.
"""

import json
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from farmtrace.bench.runner import _gunicorn
from farmtrace.web.errors import MAX_HEADER_LINE, MAX_HEADERS, MAX_REQUEST_TARGET
from farmtrace.web.serving import MAX_REQUEST_LINE


@pytest.fixture
def port(db_url: str, tmp_path: Path) -> Iterator[int]:
    """gunicorn (1 worker × 2 threads) serving the app on the test's database."""
    env = {**os.environ, "FARMTRACE_DATABASE_URL": db_url, "FARMTRACE_INSTANCE": str(tmp_path / "instance"),
           "FARMTRACE_SECRET_KEY": "http-limits-test"}
    server, port = _gunicorn("farmtrace.web:create_app()", env, workers=1, threads=2)
    yield port
    server.terminate()
    server.wait(timeout=30)


def exchange(port: int, head: bytes, body: bytes = b"") -> tuple[int, dict[str, str], bytes]:
    """Send a raw request (the body from another thread, as the server may answer before reading it);
    return the status, headers and body of the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(head)

        def send_body() -> None:
            try:
                sock.sendall(body)
            except OSError:
                pass  # the server answered and stopped reading: what is being tested
        sender = threading.Thread(target=send_body)
        sender.start()
        data = b""
        while b"\r\n\r\n" not in data or len(data.partition(b"\r\n\r\n")[2]) < _length(data):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        sender.join(timeout=30)
    top, _, content = data.partition(b"\r\n\r\n")
    lines = top.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    return int(lines[0].split()[1]), headers, content


def _length(data: bytes) -> int:
    for line in data.partition(b"\r\n\r\n")[0].split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return int(line.split(b":")[1])
    return 1 << 30


def get(path: str, headers: str = "") -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}\r\n".encode("latin-1")


PADDING = "".join(f"X-Padding-{i}: {'p' * 4000}\r\n" for i in range(10))
TOO_LARGE = {  # case: (raw request head, body, status, the field the envelope names)
    "a 10,000-character URL": (get("/api/v1/orgs?q=" + "a" * 10_000), b"", 414, None),
    "one 12,000-byte header": (get("/api/v1/orgs", "X-Padding: " + "p" * 12_000 + "\r\n"), b"", 431, "X-Padding"),
    "40 KB of headers together": (get("/api/v1/orgs", PADDING), b"", 431, None),
    "a 3 MB body": (b"POST /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                    b"Content-Length: 3000000\r\n\r\n", b"[" + b" " * 2_999_998 + b"]", 413, None),
}


def test_oversized_requests_under_the_api_get_the_json_envelope_and_elsewhere_a_page(port: int) -> None:
    assert 10_000 > MAX_REQUEST_TARGET and 12_000 > MAX_HEADER_LINE and 40_000 > MAX_HEADERS
    for case, (head, body, status, field) in TOO_LARGE.items():
        got, headers, content = exchange(port, head, body)
        assert (got, headers["content-type"]) == (status, "application/json"), (case, content[:300])
        error = json.loads(content)["error"]
        assert error["field"] == field and error["code"].startswith("request_") and "limit" in error["message"], case
    got, headers, content = exchange(port, get("/batches/" + "a" * 10_000))
    assert (got, headers["content-type"]) == (414, "text/html; charset=utf-8")
    assert content.decode("utf-8").index("网址过长") < content.decode("utf-8").index("the request target is")
    ok, _, content = exchange(port, get("/api/v1/orgs?q=" + "a" * 90))  # what is within the limits still works
    assert ok == 200 and json.loads(content)["orgs"]


def test_a_request_line_far_beyond_the_apps_limit_is_still_cut_off_by_gunicorn(port: int) -> None:
    got, headers, content = exchange(port, get("/api/v1/orgs?q=" + "a" * (MAX_REQUEST_LINE + 1000)))
    assert (got, headers["content-type"]) == (414, "text/html") and b"Request Line is too large" in content


def test_the_openapi_document_lists_413_414_and_431_on_every_operation(port: int) -> None:
    _, _, content = exchange(port, get("/api/v1/openapi.json", "Connection: close\r\n"))
    operations = [op for path in json.loads(content)["paths"].values() for op in path.values()]
    assert operations
    for operation in operations:
        for status in ("413", "414", "431"):
            response = operation["responses"][status]
            assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorBody"}

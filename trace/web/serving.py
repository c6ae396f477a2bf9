"""gunicorn's settings for farmtrace: `gunicorn --config python:farmtrace.web.serving ...` (scripts/serve and
the benchmarks' `_gunicorn` both start it so).

Request sizes are limited in two layers (decisions: docs/security.md, "Bad input and cost"):
1. the app itself (`errors.RequestLimits`, a WSGI middleware in front of Flask) answers a request
   target over 4 KiB with 414, a header line over 8 KiB or all headers over 32 KiB with 431, and a
   declared body over MAX_CONTENT_LENGTH with 413: the JSON error envelope under /api/ and /log/,
   a short page elsewhere;
2. gunicorn, before the app, cuts off only what is far beyond those, with its own bare HTML page:
   a request line over MAX_REQUEST_LINE (414), a header line over `limit_request_field_size` or
   more than `limit_request_fields` headers (431).

gunicorn clamps any `limit_request_line` above 8190 down to 8190, and 0 means "unlimited": with its
pure-Python parser (the one installed here; gunicorn_h1c, the C parser, stops at 1 MiB) a client
could then stream one endless line, re-copied on every read. So the limit is 0 and `_CappedRequest`
puts a ceiling of MAX_REQUEST_LINE back on the line, in each worker (`post_worker_init`).
"""

from __future__ import annotations

from typing import Any

from gunicorn.http.message import Request
from gunicorn.http.parser import RequestParser

MAX_REQUEST_LINE = 64 * 1024  # bytes; longer lines never reach the app

limit_request_line = 0  # see the module docstring: 0, then capped at MAX_REQUEST_LINE by _CappedRequest
limit_request_field_size = 16 * 1024  # one header line; the app's own limit is 8190 (errors.MAX_HEADER_LINE)
limit_request_fields = 100  # gunicorn's default; its header buffer is then at most ~1.6 MB


class _CappedRequest(Request):  # type: ignore[misc]
    """gunicorn's request, whose line is limited to MAX_REQUEST_LINE when `limit_request_line` is 0."""

    def read_line(self, unreader: Any, buf: Any, limit: int = 0) -> Any:
        return super().read_line(unreader, buf, limit or MAX_REQUEST_LINE)


def post_worker_init(worker: Any) -> None:
    """gunicorn hook: every HTTP/1 request this worker parses is a _CappedRequest."""
    RequestParser.mesg_class = _CappedRequest

"""HTTP statuses for core errors, in one place; JSON for the API, a page for people.

Also the app's request size limits (`RequestLimits`, a WSGI middleware in front of Flask), so that an
over-long URL, over-large headers or an over-large body get the same JSON envelope under /api/.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from html import escape
from typing import Any

from flask import Flask, render_template, request
from flask_babel import get_locale
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge, RequestHeaderFieldsTooLarge, RequestURITooLarge
from werkzeug.wrappers import Response

from farmtrace.ledger.errors import (AuthenticationError, ChainConflictError, CheckpointError, CustodyError,
                                   DocumentTooLargeError, DocumentTypeError,
                                   FarmtraceError, InvalidEventError, InvalidRequestError, KeyStateError,
                                   NotFoundError, PermissionDeniedError, ProofError, SignatureError,
                                   TooManyAttemptsError)

STATUS: dict[type[FarmtraceError], int] = {
    CustodyError: 403, ChainConflictError: 409, NotFoundError: 404, SignatureError: 422,
    InvalidEventError: 422, ProofError: 400, CheckpointError: 400, KeyStateError: 409, FarmtraceError: 400,
    AuthenticationError: 401, PermissionDeniedError: 403, TooManyAttemptsError: 429, InvalidRequestError: 422,
    DocumentTooLargeError: 413, DocumentTypeError: 415,
}
HEADERS: dict[type[FarmtraceError], dict[str, str]] = {
    AuthenticationError: {"WWW-Authenticate": 'Bearer realm="farmtrace"'},
    TooManyAttemptsError: {"Retry-After": "60"},
}


def _headers(err: FarmtraceError) -> dict[str, str]:
    headers = dict(HEADERS.get(type(err), {}))
    if isinstance(err, TooManyAttemptsError):
        headers["Retry-After"] = str(err.retry_after)
    return headers


def status_of(err: FarmtraceError) -> int:
    """The HTTP status of a core error (for a view that renders its own page with the message beside a field)."""
    return next(STATUS[c] for c in type(err).__mro__ if c in STATUS)


JSON_PATHS = ("/api/", "/log/")
MAX_REQUEST_TARGET = 4096  # bytes of path and query string (gunicorn's default request line is 4094)
MAX_HEADER_LINE = 8190  # bytes of one header line, "Name: value" (gunicorn's default field limit)
MAX_HEADERS = 32 * 1024  # bytes of all header lines together


def wants_json() -> bool:
    return request.path.startswith(JSON_PATHS)


def _code(err: HTTPException) -> str:
    return (err.name or "error").lower().replace(" ", "_")


def error_body(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "field": field}}


class _TooLarge:
    """One refusal: the HTTP error, its message in Chinese and in English, and the header it names."""

    def __init__(self, err: HTTPException, zh: str, en: str, field: str | None = None) -> None:
        self.err, self.zh, self.en, self.field = err, zh, en, field


class RequestLimits:
    """WSGI middleware in front of Flask: a request over a size limit is answered before Flask reads it.

    1. request target (path and query) over MAX_REQUEST_TARGET bytes: 414;
    2. one header line over MAX_HEADER_LINE bytes, or all of them over MAX_HEADERS: 431;
    3. a Content-Length over the app's MAX_CONTENT_LENGTH: 413 (a chunked body is cut off by Flask
       when it passes that, with the same 413).
    Under /api/ and /log/ the answer is the JSON error envelope, elsewhere a short page (Chinese, then
    English). gunicorn lets requests well past these limits through to here (farmtrace.web.serving).
    """

    def __init__(self, app: Flask) -> None:
        self.app, self.wsgi_app = app, app.wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        refusal = self.refusal(environ)
        if refusal is None:
            return self.wsgi_app(environ, start_response)
        err = refusal.err
        if str(environ.get("PATH_INFO", "")).startswith(JSON_PATHS):
            body = json.dumps(error_body(_code(err), refusal.en, refusal.field), ensure_ascii=False)
            response = Response(body, status=err.code, mimetype="application/json")
        else:
            page = (f'<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>{err.code}</title>'
                    f"<h1>请求过大 · Request too large ({err.code})</h1><p>{escape(refusal.zh)}</p>"
                    f'<p lang="en">{escape(refusal.en)}</p><p><a href="/">返回首页 · Home</a></p></html>')
            response = Response(page, status=err.code, mimetype="text/html")
            response.headers["Content-Security-Policy"] = "default-src 'none'"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response(environ, start_response)

    def refusal(self, environ: dict[str, Any]) -> _TooLarge | None:
        """What is too large about this request, if anything: the first of target, headers, body."""
        return (_target_too_long(environ) or _headers_too_large(environ)
                or _body_too_large(environ, body_limit(self.app, str(environ.get("PATH_INFO", "")))))


UPLOAD_PATHS = re.compile(r"^/(api/v1/documents|producer/batches/[^/]+/certify)$")
UPLOAD_SLACK = 64 * 1024  # a multipart body's form fields and boundaries around the file


def body_limit(app: Flask, path: str) -> int | None:
    """The largest request body accepted at `path`: MAX_CONTENT_LENGTH, or for a certificate PDF upload
    the document limit (FARMTRACE_MAX_DOCUMENT_BYTES) plus room for the form around it."""
    limit = app.config.get("MAX_CONTENT_LENGTH")
    settings = app.config.get("FARMTRACE")
    if UPLOAD_PATHS.match(path) and settings is not None:
        return max(limit or 0, int(settings.max_document_bytes) + UPLOAD_SLACK)
    return int(limit) if limit else None


def _target_too_long(environ: dict[str, Any]) -> _TooLarge | None:
    target = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    length = len(target) if target else len(environ.get("PATH_INFO", "")) + 1 + len(environ.get("QUERY_STRING", ""))
    if length <= MAX_REQUEST_TARGET:
        return None
    return _TooLarge(RequestURITooLarge(),
                     f"网址过长：{length} 字节，上限 {MAX_REQUEST_TARGET} 字节。请检查链接是否完整。",
                     f"the request target is {length} bytes; the limit is {MAX_REQUEST_TARGET}")


def _headers_too_large(environ: dict[str, Any]) -> _TooLarge | None:
    total = 0
    for key, value in environ.items():
        if not (key.startswith("HTTP_") or key in ("CONTENT_TYPE", "CONTENT_LENGTH")):
            continue
        name = (key[5:] if key.startswith("HTTP_") else key).replace("_", "-").title()
        line = len(name) + 2 + len(str(value))  # "Name: value"
        if line > MAX_HEADER_LINE:
            return _TooLarge(RequestHeaderFieldsTooLarge(),
                             f"请求头 {name} 过大：{line} 字节，上限 {MAX_HEADER_LINE} 字节。请清除本站 Cookie 后重试。",
                             f"the {name} header is {line} bytes; the limit is {MAX_HEADER_LINE}", name)
        total += line + 2
    if total <= MAX_HEADERS:
        return None
    return _TooLarge(RequestHeaderFieldsTooLarge(),
                     f"请求头共 {total} 字节，上限 {MAX_HEADERS} 字节。请清除本站 Cookie 后重试。",
                     f"the headers are {total} bytes together; the limit is {MAX_HEADERS}")


def _body_too_large(environ: dict[str, Any], limit: int | None) -> _TooLarge | None:
    declared = str(environ.get("CONTENT_LENGTH") or "")
    if not (limit and declared.isdigit() and (len(declared) > 18 or int(declared) > limit)):
        return None  # no length or a malformed one: Flask reads (and limits) the body itself
    return _TooLarge(RequestEntityTooLarge(), f"提交的内容过大：{declared[:20]} 字节，上限 {limit} 字节。",
                     f"the body is {declared[:20]} bytes; the limit is {limit}")


def register(app: Flask) -> None:
    app.wsgi_app = RequestLimits(app)  # type: ignore[method-assign]

    def upload_limit() -> None:  # first of all before_request functions: CSRFProtect reads the form
        if UPLOAD_PATHS.match(request.path):
            request.max_content_length = body_limit(app, request.path)
    app.before_request_funcs.setdefault(None, []).insert(0, upload_limit)

    @app.errorhandler(FarmtraceError)
    def domain_error(err: FarmtraceError) -> Any:
        status = next(STATUS[c] for c in type(err).__mro__ if c in STATUS)
        if wants_json():
            return error_body(err.code, err.message, err.field), status, _headers(err)
        chinese = not str(get_locale() or "zh").startswith("en")
        message = err.message_zh if chinese and err.message_zh else err.message  # a rule's own Chinese, if it has one
        return render_template("error.html", status=status, message=message), status, _headers(err)

    @app.errorhandler(HTTPException)
    def http_error(err: HTTPException) -> Any:
        status = err.code or 500
        if wants_json():
            headers = {k: v for k, v in err.get_headers() if k.lower() not in ("content-type", "content-length")}
            return error_body(_code(err), err.description or err.name), status, headers
        message = err.description
        if message == type(err).description:  # werkzeug's own English: say it in the page's language
            message = _page_words(status)
        return render_template("error.html", status=status, message=message), status

    @app.errorhandler(Exception)
    def unexpected(err: Exception) -> Any:
        app.logger.exception("unhandled error")
        if wants_json():
            return error_body("internal", "internal error"), 500
        return render_template("error.html", status=500, message=_page_words(500)), 500


def _page_words(status: int) -> str:
    """What an error page says when the code raised no message of its own."""
    from flask_babel import gettext
    words = {
        400: gettext("The request could not be understood. Go back and try again."),
        403: gettext("This page is not for your account: it belongs to another organisation or role."),
        404: gettext("We could not find this page. Check the address, or go back to the home page."),
        405: gettext("This address does not take that kind of request."),
        500: gettext("Something went wrong on our side. Please try again; if it happens again, tell the operator."),
    }
    return words.get(status, gettext("The request could not be completed."))

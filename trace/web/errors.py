"""HTTP statuses for core errors, in one place; JSON for the API, a page for people."""

from __future__ import annotations

from typing import Any

from flask import Flask, render_template, request
from werkzeug.exceptions import HTTPException

from farmtrace.core.errors import (AuthenticationError, ChainConflictError, CheckpointError, CustodyError,
                                   FarmtraceError, InvalidEventError, InvalidRequestError, KeyStateError,
                                   NotFoundError, PermissionDeniedError, ProofError, SignatureError,
                                   TooManyAttemptsError)

STATUS: dict[type[FarmtraceError], int] = {
    CustodyError: 403, ChainConflictError: 409, NotFoundError: 404, SignatureError: 422,
    InvalidEventError: 422, ProofError: 400, CheckpointError: 400, KeyStateError: 409, FarmtraceError: 400,
    AuthenticationError: 401, PermissionDeniedError: 403, TooManyAttemptsError: 429, InvalidRequestError: 422,
}
HEADERS: dict[type[FarmtraceError], dict[str, str]] = {
    AuthenticationError: {"WWW-Authenticate": 'Bearer realm="farmtrace"'},
    TooManyAttemptsError: {"Retry-After": "60"},
}


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.path.startswith("/log/")


def error_body(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "field": field}}


def register(app: Flask) -> None:
    @app.errorhandler(FarmtraceError)
    def domain_error(err: FarmtraceError) -> Any:
        status = next(STATUS[c] for c in type(err).__mro__ if c in STATUS)
        if wants_json():
            return error_body(err.code, err.message, err.field), status, HEADERS.get(type(err), {})
        return render_template("error.html", status=status, message=err.message), status

    @app.errorhandler(HTTPException)
    def http_error(err: HTTPException) -> Any:
        status = err.code or 500
        if wants_json():
            headers = {k: v for k, v in err.get_headers() if k.lower() not in ("content-type", "content-length")}
            return (error_body((err.name or "error").lower().replace(" ", "_"), err.description or err.name), status,
                    headers)
        return render_template("error.html", status=status, message=err.description), status

    @app.errorhandler(Exception)
    def unexpected(err: Exception) -> Any:
        app.logger.exception("unhandled error")
        if wants_json():
            return error_body("internal", "internal error"), 500
        return render_template("error.html", status=500, message="internal error"), 500

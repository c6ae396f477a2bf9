"""HTTP statuses for core errors, in one place; JSON for the API, a page for people."""

from __future__ import annotations

from typing import Any

from flask import Flask, render_template, request
from werkzeug.exceptions import HTTPException

from farmtrace.core.errors import (ChainConflictError, CheckpointError, CustodyError, FarmtraceError,
                                   InvalidEventError, KeyStateError, NotFoundError, ProofError, SignatureError)

STATUS: dict[type[FarmtraceError], int] = {
    CustodyError: 403, ChainConflictError: 409, NotFoundError: 404, SignatureError: 422,
    InvalidEventError: 422, ProofError: 400, CheckpointError: 400, KeyStateError: 409, FarmtraceError: 400,
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
            return error_body(err.code, err.message, err.field), status
        return render_template("error.html", status=status, message=err.message), status

    @app.errorhandler(HTTPException)
    def http_error(err: HTTPException) -> Any:
        status = err.code or 500
        if wants_json():
            return error_body((err.name or "error").lower().replace(" ", "_"), err.description or err.name), status
        return render_template("error.html", status=status, message=err.description), status

    @app.errorhandler(Exception)
    def unexpected(err: Exception) -> Any:
        app.logger.exception("unhandled error")
        if wants_json():
            return error_body("internal", "internal error"), 500
        return render_template("error.html", status=500, message="internal error"), 500

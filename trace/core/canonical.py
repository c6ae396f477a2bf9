"""Canonical event bytes: RFC 8785 (JCS) via `rfc8785`, and the strict JSON parser in front of it.

Event bodies allow no floating-point numbers (quantities are decimal strings), no duplicate
keys, no NaN/Infinity, and must be valid UTF-8.
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from typing import Any

import rfc8785

from .errors import InvalidEventError

MAX_BODY_BYTES = 64 * 1024


def canonicalize(value: Any) -> bytes:
    """Return the RFC 8785 canonical bytes of a JSON value."""
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as err:
        raise InvalidEventError(f"cannot canonicalise: {err}") from err


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _no_constant(name: str) -> Any:
    raise InvalidEventError(f"{name} is not allowed in an event body")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise InvalidEventError(f"duplicate key {key!r}", field=key)
        out[key] = value
    return out


def parse_json(raw: bytes | str, *, limit: int = MAX_BODY_BYTES) -> Any:
    """Parse untrusted JSON strictly. Floats come back as `Decimal` so `find_float` can name them."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogatepass")
    if len(raw) > limit:
        raise InvalidEventError(f"body is {len(raw)} bytes; the limit is {limit}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise InvalidEventError(f"body is not valid UTF-8 (byte {err.start})") from err
    try:
        return json.loads(text, parse_float=Decimal, parse_constant=_no_constant,
                          object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as err:
        raise InvalidEventError(f"body is not valid JSON: {err.msg} at line {err.lineno} column {err.colno}") from err
    except RecursionError as err:
        raise InvalidEventError("body is nested too deeply") from err


def find_float(value: Any, path: str = "") -> str | None:
    """Return the dotted path of the first floating-point number in `value`, or None."""
    if isinstance(value, (float, Decimal)):
        return path or "$"
    if isinstance(value, dict):
        for key, item in value.items():
            found = find_float(item, f"{path}.{key}" if path else str(key))
            if found:
                return found
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found = find_float(item, f"{path}[{i}]")
            if found:
                return found
    return None

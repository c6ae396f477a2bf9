"""Canonical event bytes: RFC 8785 (JCS) via `rfc8785`, and the strict JSON parser in front of it.

Event bodies allow no floating-point numbers (quantities are decimal strings), no duplicate
keys, no NaN/Infinity, and must be valid UTF-8. Integers are allowed (`v` is one) only inside the
I-JSON range, |n| <= 2^53 - 1 (RFC 7493 §2.2): RFC 8785 writes numbers as IEEE 754 doubles, so
`rfc8785` refuses any integer beyond it, and one too long even to convert (Python stops at 4,300
digits) is refused by the parser before it is converted, naming the field either way.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import rfc8785

from farmtrace.ledger.errors import InvalidEventError

MAX_BODY_BYTES = 64 * 1024
MAX_SAFE_INTEGER = 2**53 - 1  # I-JSON's and RFC 8785's integer range; 16 digits at most


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


_TOO_LONG = object()  # stands for an integer literal with more digits than any safe integer; never converted
_SAFE_DIGITS = len(str(MAX_SAFE_INTEGER))


def parse_json(raw: bytes | str, *, limit: int = MAX_BODY_BYTES) -> Any:
    """Parse untrusted JSON strictly. Floats come back as `Decimal` so `find_float` can name them;
    an integer outside +-(2^53 - 1) is refused here, naming its path (`find_unsafe_integer`)."""
    unsafe: list[str] = []

    def integer(text: str) -> Any:
        if len(text) > _SAFE_DIGITS + text.startswith("-"):  # int() would refuse 4,300+ digits with ValueError
            unsafe.append(text)
            return _TOO_LONG
        number = int(text)
        if abs(number) > MAX_SAFE_INTEGER:
            unsafe.append(text)
        return number

    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogatepass")
    if len(raw) > limit:
        raise InvalidEventError(f"body is {len(raw)} bytes; the limit is {limit}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise InvalidEventError(f"body is not valid UTF-8 (byte {err.start})") from err
    try:
        value = json.loads(text, parse_float=Decimal, parse_int=integer, parse_constant=_no_constant,
                           object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as err:
        raise InvalidEventError(f"body is not valid JSON: {err.msg} at line {err.lineno} column {err.colno}") from err
    except RecursionError as err:
        raise InvalidEventError("body is nested too deeply") from err
    if unsafe:
        refuse_unsafe_integer(value)
    return value


def refuse_unsafe_integer(value: Any) -> None:
    """Raise InvalidEventError naming the first integer outside +-(2^53 - 1) in `value`, if any."""
    where = find_unsafe_integer(value)
    if where:
        raise InvalidEventError(f"{where} is an integer beyond ±(2^53 − 1), which RFC 8785 cannot represent; "
                                'write large numbers as decimal strings, e.g. "12345678901234567890"', field=where)


def _find(value: Any, is_bad: Callable[[Any], bool], path: str = "") -> str | None:
    """The dotted path of the first value inside `value` (itself included) that `is_bad`, or None."""
    if is_bad(value):
        return path or "$"
    if isinstance(value, dict):
        for key, item in value.items():
            found = _find(item, is_bad, f"{path}.{key}" if path else str(key))
            if found:
                return found
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found = _find(item, is_bad, f"{path}[{i}]")
            if found:
                return found
    return None


def _unsafe_integer(value: Any) -> bool:
    return value is _TOO_LONG or (isinstance(value, int) and not isinstance(value, bool)
                                  and abs(value) > MAX_SAFE_INTEGER)


def find_unsafe_integer(value: Any, path: str = "") -> str | None:
    """Return the dotted path of the first integer outside +-(2^53 - 1) (or too long to convert), or None."""
    return _find(value, _unsafe_integer, path)


def find_float(value: Any, path: str = "") -> str | None:
    """Return the dotted path of the first floating-point number in `value`, or None."""
    return _find(value, lambda item: isinstance(item, (float, Decimal)), path)

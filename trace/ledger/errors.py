"""Typed errors the core raises on purpose; the web layer maps them to HTTP statuses."""

from __future__ import annotations


class Said(str):
    """A message in two languages: the English text (what the API and stored findings have always
    carried) with its Chinese beside it (`zh`) for Chinese pages. Rules and errors raise with one. The standard's number is written the same
    in both, e.g. Said("GB 2757-2012: methanol 0.71 g/L > 0.6 g/L", "GB 2757-2012：甲醇 0.71 g/L > 0.6 g/L")."""

    zh: str

    def __new__(cls, en: str, zh: str) -> Said:
        said = super().__new__(cls, en)
        said.zh = zh
        return said

    def in_lang(self, lang: str) -> str:
        return str.__str__(self) if lang == "en" else self.zh


class FarmtraceError(Exception):
    """Base of every error the core raises on purpose."""

    code = "invalid"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message, self.field = str.__str__(message), field
        self.message_zh: str | None = getattr(message, "zh", None)  # the Chinese, when raised with a Said


class InvalidEventError(FarmtraceError):
    """The event body is malformed or breaks a rule; nothing was written."""

    code = "invalid_event"


class RuleViolationError(InvalidEventError):
    """A hard compliance rule refused the event; the message cites its standard."""

    code = "rule_violation"


class EventTimeError(InvalidEventError):
    """An event's `at` is in the future beyond the clock skew, before the floor, or before what it follows."""

    code = "invalid_time"


class SignatureError(InvalidEventError):
    """A signature does not verify, or the key was not valid for it."""

    code = "bad_signature"


class CustodyError(FarmtraceError):
    """The acting org does not hold the batch."""

    code = "not_holder"


class ChainConflictError(FarmtraceError):
    """The event does not extend the batch's current chain head (or its id is taken)."""

    code = "chain_conflict"


class NotFoundError(FarmtraceError):
    """A named batch, event, org or key does not exist."""

    code = "not_found"


class KeyStateError(FarmtraceError):
    """A key operation failed (no key, revoked, cannot unseal)."""

    code = "key_error"


class ProofError(FarmtraceError):
    """A Merkle inclusion or consistency proof does not verify, or was asked for bad sizes."""

    code = "bad_proof"


class CheckpointError(FarmtraceError):
    """A signed note or checkpoint does not parse or does not verify."""

    code = "bad_checkpoint"


class AuthenticationError(FarmtraceError):
    """No credentials, or credentials that are unknown, revoked or expired."""

    code = "unauthenticated"


class PermissionDeniedError(FarmtraceError):
    """The authenticated actor's role may not do this."""

    code = "forbidden"


class TooManyAttemptsError(FarmtraceError):
    """Too many failed authentication attempts from one client, or too many appends; try again later."""

    code = "rate_limited"

    def __init__(self, message: str, *, field: str | None = None, retry_after: int = 60) -> None:
        super().__init__(message, field=field)
        self.retry_after = retry_after  # seconds, for the Retry-After header


class InvalidRequestError(FarmtraceError):
    """A request's parameters or JSON body do not match the API's schema; nothing was written."""

    code = "invalid_request"


class DocumentTooLargeError(InvalidRequestError):
    """An uploaded document is over the size limit; nothing was stored."""

    code = "too_large"


class DocumentTypeError(InvalidRequestError):
    """An uploaded document is not what it must be (a PDF, by its content); nothing was stored."""

    code = "unsupported_type"

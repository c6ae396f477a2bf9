"""The event envelope and the registry of event types.

An event body is a JSON object (RFC 8785 canonical, no floats) with the envelope fields
`v` (1), `type`, `batch`, `org`, `key`, `prev` (absent on a batch's first event), `at`
(RFC 3339 with offset), `id` (UUID chosen by the submitter) and `data`.

Rules enforced here, at the edge (nothing downstream checks again):
1. the body is a JSON object of at most MAX_BODY_BYTES, valid UTF-8, with no floats and no integer
   beyond +-(2^53 - 1) (canonical.py);
2. only the envelope fields above, each of the right form;
3. `type` is registered; a genesis type has no `prev`, any other batch event has one;
4. `data` passes its type's validator (required fields, decimal strings).
The log's own entry types (`key_added`, `key_revoked`) are registered here; every food event type is
declared in farmtrace.rules (steps.py and families/) and registered when that package is imported.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from farmtrace.ledger.canonical import MAX_BODY_BYTES, canonicalize, find_float, parse_json, refuse_unsafe_integer, sha256_hex
from farmtrace.ledger.errors import InvalidEventError

ENVELOPE = ("v", "type", "batch", "org", "key", "prev", "at", "id", "data")
HEX64 = re.compile(r"^[0-9a-f]{64}$")
KEY_ID = re.compile(r"^[0-9a-f]{16}$")
IDENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
DECIMAL = re.compile(r"^-?(0|[1-9][0-9]{0,17})(\.[0-9]{1,9})?$")
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$")
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
LOG_ENTRY_TYPES = ("key_added", "key_revoked")
"""The entry types DESIGN reserves for the log itself: written and signed by the operator's log key
alone (trace/services/keys.py), never by an org. Every append path refuses them (`refuse_reserved`), and
every verifier applies one only when the log key signed it."""
LOT = re.compile(r"^[\x21-\x7e]{1,20}$")

DataValidator = Callable[[Mapping[str, Any]], None]


@dataclass(frozen=True)
class EventType:
    """One registered event type: whether it starts a batch, needs no batch, and checks its data."""

    name: str
    validate: DataValidator
    genesis: bool = False      # starts a batch's chain (no prev)
    batchless: bool = False    # a log entry about keys, not about a batch
    signed_by_log: bool = False  # signed by the operator's log key, not an org key
    family: str | None = None  # a family's own step; None: any family
    by_non_holder: bool = False  # may be appended by an org that does not hold the batch (lab tests, recalls)


EVENT_TYPES: dict[str, EventType] = {}


def register(kind: EventType) -> EventType:
    EVENT_TYPES[kind.name] = kind
    return kind


def event_type(name: Any) -> EventType | None:
    """The registered type called `name` (food types are registered by importing farmtrace.rules)."""
    return EVENT_TYPES.get(name) if isinstance(name, str) else None


# ---- data validators -------------------------------------------------------------------

def require_text(data: Mapping[str, Any], name: str, *, max_len: int = 200, optional: bool = False) -> None:
    if name not in data:
        if optional:
            return
        raise InvalidEventError(f"data.{name} is required", field=f"data.{name}")
    value = data[name]
    if not isinstance(value, str) or not value.strip() or len(value) > max_len:
        raise InvalidEventError(f"data.{name} must be non-empty text of at most {max_len} characters",
                                field=f"data.{name}")


def require_decimal(data: Mapping[str, Any], name: str, *, positive: bool = False, optional: bool = False) -> None:
    if name not in data:
        if optional:
            return
        raise InvalidEventError(f"data.{name} is required", field=f"data.{name}")
    value = data[name]
    if not isinstance(value, str) or not DECIMAL.match(value):
        raise InvalidEventError(f'data.{name} must be a decimal string such as "12.5", got {value!r}',
                                field=f"data.{name}")
    if positive and (value.startswith("-") or set(value) <= set("0.")):
        raise InvalidEventError(f"data.{name} must be greater than zero", field=f"data.{name}")


def require_hash(data: Mapping[str, Any], name: str) -> None:
    value = data.get(name)
    if not isinstance(value, str) or not HEX64.match(value):
        raise InvalidEventError(f"data.{name} must be an event hash (64 lowercase hex digits)", field=f"data.{name}")


def _key_added(data: Mapping[str, Any]) -> None:
    kid = data.get("key_id")
    if not isinstance(kid, str) or not KEY_ID.match(kid):
        raise InvalidEventError("data.key_id must be 16 lowercase hex digits", field="data.key_id")
    require_text(data, "public_key", max_len=64)
    if data.get("algorithm") != "ed25519":
        raise InvalidEventError('data.algorithm must be "ed25519"', field="data.algorithm")
    if "replaces" in data and (not isinstance(data["replaces"], str) or not KEY_ID.match(data["replaces"])):
        raise InvalidEventError("data.replaces must be a key id", field="data.replaces")
    require_text(data, "device", max_len=64, optional=True)  # a device sub-key's label (services/devices.py)


def _key_revoked(data: Mapping[str, Any]) -> None:
    kid = data.get("key_id")
    if not isinstance(kid, str) or not KEY_ID.match(kid):
        raise InvalidEventError("data.key_id must be 16 lowercase hex digits", field="data.key_id")
    if data.get("reason") not in ("compromise", "retired"):
        raise InvalidEventError('data.reason must be "compromise" or "retired"', field="data.reason")
    if "suspected_since" in data:
        _check_time(data["suspected_since"], "data.suspected_since")


def require_org(data: Mapping[str, Any], name: str) -> None:
    value = data.get(name)
    if not isinstance(value, str) or not IDENT.match(value):
        raise InvalidEventError(f"data.{name} must be an org id", field=f"data.{name}")


register(EventType("key_added", _key_added, batchless=True, signed_by_log=True))
register(EventType("key_revoked", _key_revoked, batchless=True, signed_by_log=True))
assert {k.name for k in EVENT_TYPES.values() if k.signed_by_log} == set(LOG_ENTRY_TYPES)


def is_reserved(type_name: Any) -> bool:
    """Whether `type_name` is a log entry type that only the operator's log key may write."""
    return type_name in LOG_ENTRY_TYPES


def refuse_reserved(type_name: Any) -> None:
    """Raise InvalidEventError (field `type`) for a reserved log entry type: the one gate every
    append path (custodial, pre-signed, batch, CLI, demo) passes through."""
    if is_reserved(type_name):
        raise InvalidEventError(f"{type_name} entries are written by the log operator's key alone; an org cannot "
                                "append one (keys are added and revoked with `farmtrace key ...`)", field="type")


def _check_time(value: Any, name: str) -> datetime:
    if not isinstance(value, str) or not RFC3339.match(value):
        raise InvalidEventError(f"{name} must be an RFC 3339 time with an offset, e.g. 2026-03-15T08:00:00+08:00",
                                field=name)
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as err:
        raise InvalidEventError(f"{name} is not a real date and time: {value}", field=name) from err


# ---- the envelope ------------------------------------------------------------------------

@dataclass(frozen=True)
class EventBody:
    """A parsed, validated event body with its canonical bytes and hash."""

    type: str
    batch: str | None
    org: str
    key: str
    prev: str | None
    at: str
    id: str
    data: Mapping[str, Any]
    canonical: bytes = field(repr=False)
    hash: str

    @property
    def kind(self) -> EventType:
        return EVENT_TYPES[self.type]

    @classmethod
    def parse(cls, raw: bytes | str) -> EventBody:
        """Parse untrusted bytes into a validated body; raise InvalidEventError naming the field."""
        return cls.from_obj(parse_json(raw))

    @classmethod
    def from_obj(cls, obj: Any) -> EventBody:
        """Validate a JSON value (already parsed) as an event body."""
        if not isinstance(obj, dict):
            raise InvalidEventError("an event body must be a JSON object")
        where = find_float(obj)
        if where:
            raise InvalidEventError(f"{where} is a floating-point number; write decimals as strings, e.g. \"1.5\"",
                                    field=where)
        refuse_unsafe_integer(obj)  # beyond +-(2^53 - 1): RFC 8785 cannot write it
        for name in obj:
            if name not in ENVELOPE:
                raise InvalidEventError(f"unknown field {name!r}", field=name)
        for name in ("v", "type", "org", "key", "at", "id", "data"):
            if name not in obj:
                raise InvalidEventError(f"{name} is required", field=name)
        if obj["v"] != 1 or isinstance(obj["v"], bool):
            raise InvalidEventError("v must be 1", field="v")
        kind = event_type(obj["type"])
        if kind is None:
            raise InvalidEventError(f"unknown event type {obj['type']!r}", field="type")
        for name in ("org",):
            if not isinstance(obj[name], str) or not IDENT.match(obj[name]):
                raise InvalidEventError(f"{name} must be an identifier (letters, digits, . _ : -)", field=name)
        if not isinstance(obj["key"], str) or not KEY_ID.match(obj["key"]):
            raise InvalidEventError("key must be a key id (16 lowercase hex digits)", field="key")
        if not isinstance(obj["id"], str) or not UUID_RE.match(obj["id"]):
            raise InvalidEventError("id must be a lowercase UUID", field="id")
        _check_time(obj["at"], "at")
        if kind.batchless:
            if "batch" in obj or "prev" in obj:
                raise InvalidEventError(f"a {kind.name} entry names no batch and no prev",
                                        field="batch" if "batch" in obj else "prev")
        else:
            if not isinstance(obj.get("batch"), str) or not IDENT.match(obj["batch"]):
                raise InvalidEventError("batch must be a batch id (letters, digits, . _ : -; at most 64)",
                                        field="batch")
            if kind.genesis and "prev" in obj:
                raise InvalidEventError(f"a {kind.name} event starts a batch and has no prev", field="prev")
            if not kind.genesis:
                if "prev" not in obj:
                    raise InvalidEventError("prev is required: the hash of the batch's previous event", field="prev")
                if not isinstance(obj["prev"], str) or not HEX64.match(obj["prev"]):
                    raise InvalidEventError("prev must be an event hash (64 lowercase hex digits)", field="prev")
        if not isinstance(obj["data"], dict):
            raise InvalidEventError("data must be an object", field="data")
        kind.validate(obj["data"])
        _check_personal(obj["data"])
        canonical = canonicalize(obj)
        if len(canonical) > MAX_BODY_BYTES:
            raise InvalidEventError(f"the event is {len(canonical)} bytes; the limit is {MAX_BODY_BYTES}")
        return cls(type=kind.name, batch=obj.get("batch"), org=obj["org"], key=obj["key"], prev=obj.get("prev"),
                   at=obj["at"], id=obj["id"], data=obj["data"], canonical=canonical, hash=sha256_hex(canonical))

    def as_obj(self) -> dict[str, Any]:
        return parse_json(self.canonical)  # type: ignore[no-any-return]


def _check_personal(data: Mapping[str, Any]) -> None:
    """Personal data never enters a signed body: only {"ref": salted hash} may stand there."""
    if "personal" not in data:
        return
    personal = data["personal"]
    if not isinstance(personal, dict) or set(personal) != {"ref"} or not HEX64.match(str(personal["ref"])):
        raise InvalidEventError('data.personal must be {"ref": <64 hex>}: send names, phones and ID numbers '
                                "custodially and farmtrace stores them outside the signed record",
                                field="data.personal")


def new_event_id() -> str:
    return str(uuid.uuid4())

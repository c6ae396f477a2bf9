"""The API's request and response models: the views validate with them and /api/v1/openapi.json
is generated from them (one source of truth). Storage rows are never the contract (STYLE.md §3).

Request models only check shape; the core's EventBody still checks every rule (types, floats,
identifiers, family rules) and names the field it refuses.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from farmtrace.services.append import MAX_BATCH_APPEND
from farmtrace.ledger.errors import InvalidRequestError

IDENT_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"  # as farmtrace.ledger.events.IDENT
Ident = Annotated[str, StringConstraints(pattern=IDENT_PATTERN)]
HEX64 = re.compile(r"^[0-9a-f]{64}$")
Hex64 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


# ---- requests ----
class EventDraft(Strict):
    """An unsigned event for custodial signing: the server fills org, key, v, prev, id and at when absent."""

    model_config = ConfigDict(extra="forbid", strict=True, title="EventDraft")
    type: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    batch: Ident | None = None
    data: dict[str, Any] = Field(default_factory=dict, description="the type's key data elements: see the "
                                 "components named EventData.<type> (labels, kinds, units, required)")
    id: Annotated[str, StringConstraints(min_length=1, max_length=36)] | None = Field(
        default=None, description="a UUID chosen by the submitter; resubmitting it is idempotent")
    at: Annotated[str, StringConstraints(min_length=1, max_length=40)] | None = Field(
        default=None, description="RFC 3339 with offset, when it happened: at most 10 minutes ahead of the server's "
        "clock, not before 2000-01-01T00:00:00+08:00, not before the chain's previous event (else 422 invalid_time); "
        "absent: the server's now")
    prev: Hex64 | None = None
    org: Ident | None = Field(default=None, description="if given, must be the token's org")
    v: Literal[1] | None = None


class SignedSubmission(Strict):
    """A body signed by the org's own key: Ed25519 over `farmtrace/event/v1\\n` + SHA-256(canonical body)."""

    body: dict[str, Any] = Field(description="the complete event body, including org and key")
    signature: Annotated[str, StringConstraints(min_length=1, max_length=100)]


class BatchAppend(Strict):
    """Up to 500 items, appended in one transaction: all or nothing. Each is a draft or a pre-signed body."""

    items: Annotated[list[EventDraft | SignedSubmission], Field(min_length=1, max_length=MAX_BATCH_APPEND)]


class BatchEnvelope(Strict):
    """The batch append's outer shape; each item is then parsed as the model it claims to be."""

    items: Annotated[list[Any], Field(min_length=1, max_length=MAX_BATCH_APPEND)]


def parse_batch_append(obj: Any) -> None:
    """Validate a batch append item by item, so an error names `items[i].field` (no union guessing)."""
    from farmtrace.services.append import is_signed_submission
    parse(BatchEnvelope, obj)
    for i, item in enumerate(obj["items"]):
        parse(SignedSubmission if is_signed_submission(item) else EventDraft, item, at=f"items[{i}].")


class RecallRequest(Strict):
    reason: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    also: Annotated[list[Ident], Field(max_length=100)] = Field(default_factory=list,
                                                                description="sibling lots to recall too")


# ---- query strings (lax: every value arrives as text) ----
MAX_POSITION = 2**31 - 1  # log positions are 32-bit integers in the database
Count = Annotated[int, Field(ge=0, le=MAX_POSITION)]
SearchText = Annotated[str, StringConstraints(max_length=100, pattern=r"^[^\x00-\x1f\x7f]*$")]


class Query(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class InclusionQuery(Query):
    hash: Hex64 = Field(description="the event's hash")
    size: Count | None = Field(default=None, description="tree size to prove against (default: the log's size)")


class ConsistencyQuery(Query):
    from_: Count = Field(alias="from")
    to: Count


class EntriesQuery(Query):
    start: Count = 0
    end: Count | None = Field(default=None, description="exclusive; at most start + 1000")


class BatchQuery(Query):
    q: SearchText | None = Field(default=None, description="part of a batch id, lot code or product name")
    limit: Annotated[int, Field(ge=1, le=200)] = 50


class TraceQuery(Query):
    direction: Literal["backward", "forward"] = "backward"


# ---- responses ----
class ErrorDetail(BaseModel):
    code: str
    message: str
    field: str | None


class ErrorBody(BaseModel):
    """Every 4xx (and the rare 5xx) of the API."""

    error: ErrorDetail


class StoredEventOut(BaseModel):
    seq: int
    hash: Hex64
    signature: str
    key: str
    canonical: str = Field(description="the canonical JSON text exactly as hashed and signed")
    created: bool = Field(description="false when an idempotent resubmission returned the stored event")


class CapCodeOut(BaseModel):
    serial: str
    code: str = Field(description="the code to print under this bottle's cap, XXXXX-XXXXX (Crockford base32)")
    link: str = Field(description="the bottle's GS1 Digital Link (its QR code); empty before the lot is packed")


class CapCodesOut(BaseModel):
    batch: str
    codes: list[CapCodeOut] = Field(description="shown this once: only keyed hashes are stored")
    remaining: int = Field(description="serials still without a code (issue again for them)")


class BatchAppendOut(BaseModel):
    items: list[StoredEventOut]


class EventOut(BaseModel):
    hash: Hex64
    canonical: str
    signature: str
    key: str
    seq: int
    batch: str | None
    type: str


class BatchSummary(BaseModel):
    id: str
    holder: str
    origin: str | None
    family: str
    product: str
    lot: str
    quantity: str | None
    unit: str | None
    status: str
    head: str | None
    events: int


class BatchList(BaseModel):
    batches: list[BatchSummary]


class FindingOut(BaseModel):
    event: str
    rule: str
    severity: str
    message: str


class BatchDetail(BaseModel):
    batch: BatchSummary
    events: list[EventOut]
    findings: list[FindingOut]
    recall: str | None = Field(description="hash of the recall event covering this batch, if any")


class TraceBatch(BaseModel):
    id: str
    holder: str
    family: str
    product: str
    lot: str
    quantity: str | None
    unit: str | None
    status: str
    recall: str | None


class TraceEdge(BaseModel):
    child: str
    parent: str
    via: str
    quantity: str
    unit: str


class TraceOut(BaseModel):
    root: str
    direction: Literal["backward", "forward"]
    batches: list[TraceBatch]
    edges: list[TraceEdge]


class FootprintStage(BaseModel):
    batch: str
    product: str
    org: str
    org_name: str
    kg_co2e: str = Field(description="that batch's own emissions times the share reaching this lot, kg CO2e")


class FootprintOut(BaseModel):
    """A lot's carbon footprint (docs/carbon.md): decimals as strings, never rounded here."""

    batch: str
    total_kg: str = Field(description="kg CO2e of the whole lot as produced")
    quantity: str | None
    unit: str | None
    per_unit_kg: str | None = Field(description="kg CO2e per unit of product (total_kg / quantity)")
    stages: list[FootprintStage]
    by_kind: dict[str, str]
    table_versions: list[str]
    method: str
    estimate: bool = Field(description="an unverified factor or an earlier year's factor was used")
    factor_rows: list[str]


class FactorOut(BaseModel):
    row_id: str
    table_version: str
    valid_from: str
    valid_to: str | None
    kind: str
    key: str
    unit: str
    kg_co2e_per_unit: str
    year: int | None
    source: str
    status: Literal["verified", "unverified"]


class FactorTableOut(BaseModel):
    """The emission-factor table every footprint is computed with (trace/rules/carbon_factors.csv)."""

    versions: list[dict[str, str | None]]
    factors: list[FactorOut]


class OrgOut(BaseModel):
    id: str
    name: str
    kind: str
    family: str | None
    county: str | None


class OrgList(BaseModel):
    orgs: list[OrgOut]


class KeyOut(BaseModel):
    id: str
    org: str | None
    purpose: str
    public_key: str
    valid_from: int
    valid_until: int | None
    end_reason: str | None
    revoked: bool
    suspected_since: str | None


class KeyList(BaseModel):
    keys: list[KeyOut]


class InclusionProof(BaseModel):
    index: int
    size: int
    root: str = Field(description="base64, as in the checkpoint")
    proof: list[Hex64]


class ConsistencyProof(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    from_: int = Field(alias="from")
    to: int
    proof: list[Hex64]


class LogEntry(BaseModel):
    index: int
    canonical: str
    hash: Hex64
    signature: str
    key: str


class LogEntries(BaseModel):
    start: int
    size: int
    entries: list[LogEntry]


def parse(model: type[BaseModel], obj: Any, *, at: str = "") -> Any:
    """Validate parsed JSON against `model`; the first problem becomes InvalidRequestError naming its field."""
    try:
        return model.model_validate(obj)
    except ValidationError as err:
        first = err.errors()[0]
        field = at + location(first["loc"])
        raise InvalidRequestError(f"{field or 'body'}: {first['msg']}", field=field or None) from None


def location(loc: tuple[int | str, ...]) -> str:
    """("items", 3, "data") -> "items[3].data"."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out

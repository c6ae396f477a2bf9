"""SQLModel tables. Storage only: the API and the core speak their own types.

Ledger tables (events, merkle_nodes, checkpoints) are append-only; database triggers refuse
UPDATE and DELETE on them (see the initial migration), and on PostgreSQL the app's role has
no UPDATE or DELETE right on them.
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import BigInteger, Column, Index, LargeBinary, MetaData, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata: MetaData = SQLModel.metadata


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Org(SQLModel, table=True):
    __tablename__ = "orgs"
    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)
    kind: str = Field(max_length=32, description="producer | processor | carrier | retailer | lab | regulator")
    family: str | None = Field(default=None, max_length=16)
    uscc: str | None = Field(default=None, max_length=18, description="统一社会信用代码")
    county: str | None = Field(default=None, max_length=6)
    created_at: datetime = Field(default_factory=utcnow)
    cma_number: str | None = Field(default=None, max_length=32,
                                   description="a lab's 资质认定 (CMA) certificate number; labs without one test nothing")
    contact_name: str | None = Field(default=None, max_length=64, description="联系人 (migration 0010)")
    contact_phone: str | None = Field(default=None, max_length=32, description="联系电话")
    address: str | None = Field(default=None, max_length=200, description="地址")


class OrgPrefix(SQLModel, table=True):
    """A GS1 company prefix registered to an org (4-12 digits, GTIN-13 form): its `packed` GTINs lie under it."""

    __tablename__ = "org_prefixes"
    prefix: str = Field(primary_key=True, max_length=12)
    org_id: str = Field(foreign_key="orgs.id", max_length=64, index=True)


class OrgLicence(SQLModel, table=True):
    """One licence number of an org, one per named kind (食品生产许可证 SC..., services/orgs.py LICENCE_KINDS)."""

    __tablename__ = "org_licences"
    org_id: str = Field(primary_key=True, foreign_key="orgs.id", max_length=64)
    kind: str = Field(primary_key=True, max_length=16)
    number: str = Field(max_length=64)
    recorded_at: datetime = Field(default_factory=utcnow)


class User(SQLModel, table=True):
    __tablename__ = "users"
    id: int | None = Field(default=None, primary_key=True)
    org_id: str = Field(foreign_key="orgs.id", max_length=64, index=True)
    username: str = Field(max_length=64, unique=True)
    password_hash: str = Field(max_length=200)
    role: str = Field(max_length=16, description="producer | regulator | admin")
    created_at: datetime = Field(default_factory=utcnow)
    session_generation: int = Field(default=0, sa_column_kwargs={"server_default": "0"},
                                    description="part of every session id; bumped by logout and password change")


class SigningKey(SQLModel, table=True):
    """An Ed25519 key: an org's, or the log's own (org_id NULL, purpose 'log')."""

    __tablename__ = "keys"
    id: str = Field(primary_key=True, max_length=16, description="key id")
    org_id: str | None = Field(default=None, foreign_key="orgs.id", max_length=64, index=True)
    purpose: str = Field(max_length=8, description="org | log")
    public_key: str = Field(max_length=64, description="raw 32 bytes, base64")
    sealed_private: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    added_seq: int | None = Field(default=None, description="log position of its key_added entry")
    ended_seq: int | None = Field(default=None, description="log position of the entry that ended it")
    end_reason: str | None = Field(default=None, max_length=16, description="rotated | retired | compromise")
    suspected_since: str | None = Field(default=None, max_length=40)
    created_at: datetime = Field(default_factory=utcnow)


class Batch(SQLModel, table=True):
    __tablename__ = "batches"
    __table_args__ = (UniqueConstraint("origin_org", "product", "lot", name="uq_batches_origin_product_lot"),)
    id: str = Field(primary_key=True, max_length=64)
    org_id: str = Field(foreign_key="orgs.id", max_length=64, index=True, description="the holder")
    family: str = Field(max_length=16)
    product: str = Field(max_length=200)
    lot: str = Field(max_length=20)
    head: str | None = Field(default=None, max_length=64, description="hash of the chain head")
    created_seq: int
    event_count: int = 0
    quantity: str | None = Field(default=None, max_length=40, description="held quantity, a decimal string")
    unit: str | None = Field(default=None, max_length=16)
    status: str = Field(default="held", max_length=16, description="held | in_transit | consumed")
    transit_to: str | None = Field(default=None, max_length=64, description="receiver while in transit")
    origin_org: str | None = Field(default=None, max_length=64, description="the org that created the lot")


class Event(SQLModel, table=True):
    """One log entry: the canonical text exactly as hashed and signed, plus columns for queries."""

    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("batch_id", "prev", name="uq_events_batch_prev"),
        Index("uq_events_batch_genesis", "batch_id", unique=True,
              sqlite_where=text("prev IS NULL AND batch_id IS NOT NULL"),
              postgresql_where=text("prev IS NULL AND batch_id IS NOT NULL")),
    )
    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    hash: str = Field(max_length=64, unique=True)
    id: str = Field(max_length=36, unique=True, description="the submitter's UUID")
    type: str = Field(max_length=32)
    # (batch_id, prev) is unique, so that constraint's index serves lookups by batch too; every
    # extra index is another page written to the WAL on each append.
    batch_id: str | None = Field(default=None, foreign_key="batches.id", max_length=64)
    org_id: str = Field(foreign_key="orgs.id", max_length=64)
    key_id: str = Field(max_length=16)
    prev: str | None = Field(default=None, max_length=64)
    at: str = Field(max_length=40)
    canonical: str = Field(sa_column=Column(Text, nullable=False))
    signature: str = Field(max_length=100)
    recorded_at: datetime = Field(default_factory=utcnow)


class LogState(SQLModel, table=True):
    """The single row every append locks: the log's size (next sequence number) and the Merkle
    tree's right edge (the peaks' hashes, largest subtree first), so an append reads no nodes."""

    __tablename__ = "log_state"
    id: int = Field(default=1, primary_key=True)
    size: int = 0
    frontier: bytes = Field(default=b"", sa_column=Column(LargeBinary, nullable=False))


class MerkleNode(SQLModel, table=True):
    """Hash of a complete aligned subtree: level 0 = leaves; (k, i) covers leaves [i*2^k, (i+1)*2^k)."""

    __tablename__ = "merkle_nodes"
    __table_args__ = {"sqlite_with_rowid": False}
    level: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    idx: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    hash: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class Checkpoint(SQLModel, table=True):
    __tablename__ = "checkpoints"
    size: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    root: str = Field(max_length=44, description="base64, as in the note")
    note: str = Field(sa_column=Column(Text, nullable=False))
    key_id: str = Field(max_length=16)
    created_at: datetime = Field(default_factory=utcnow)


class Lineage(SQLModel, table=True):
    """An edge of the lineage DAG: `child` was made (in part) from `parent`, via the parent's consume event."""

    __tablename__ = "lineage"
    child: str = Field(primary_key=True, foreign_key="batches.id", max_length=64)
    parent: str = Field(primary_key=True, foreign_key="batches.id", max_length=64, index=True)
    via: str = Field(max_length=64)
    quantity: str = Field(max_length=40)
    unit: str = Field(max_length=16)


class Recall(SQLModel, table=True):
    """A batch flagged by a recall event (on itself, an ancestor, or selected by the regulator)."""

    __tablename__ = "recalls"
    batch_id: str = Field(primary_key=True, foreign_key="batches.id", max_length=64)
    recall: str = Field(primary_key=True, max_length=64, description="hash of the recall event")


class Finding(SQLModel, table=True):
    """What a rule found about an event: a soft warning, or a lab result's computed verdict."""

    __tablename__ = "findings"
    id: int | None = Field(default=None, primary_key=True)
    event_hash: str = Field(max_length=64, index=True)
    batch_id: str | None = Field(default=None, max_length=64, index=True)
    rule: str = Field(max_length=64)
    severity: str = Field(max_length=8, description="warning | pass | fail | info")
    message: str = Field(sa_column=Column(Text, nullable=False))
    message_zh: str | None = Field(default=None, sa_column=Column(Text, nullable=True),
                                   description="the message in Chinese (NULL before migration 0009)")


class PersonalData(SQLModel, table=True):
    """A person's details, kept out of every signed body: the body holds only `ref`, a salted hash."""

    __tablename__ = "personal_data"
    ref: str = Field(primary_key=True, max_length=64)
    salt: str = Field(max_length=64)
    data: str = Field(sa_column=Column(Text, nullable=False))
    org_id: str = Field(max_length=64)


LEDGER_TABLES = ("events", "merkle_nodes", "checkpoints")


class ApiToken(SQLModel, table=True):
    """A user's API token: only its SHA-256 is kept; the clear token is shown once, at creation."""

    __tablename__ = "api_tokens"
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    token_hash: str = Field(max_length=64, unique=True, description="lowercase hex SHA-256 of the clear token")
    prefix: str = Field(max_length=16, description="the token's first characters, for display")
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None
    created_by: int | None = Field(default=None, foreign_key="users.id", description="who made it; NULL: the CLI")


class GtinLot(SQLModel, table=True):
    """Which batch a GS1 Digital Link `/01/{gtin}/10/{lot}` names (from its `packed` event)."""

    __tablename__ = "gtin_lots"
    gtin: str = Field(primary_key=True, max_length=14)
    lot: str = Field(primary_key=True, max_length=20)
    batch_id: str = Field(foreign_key="batches.id", max_length=64, index=True)


class PublicToken(SQLModel, table=True):
    """A batch's unguessable public link `/p/{token}`, for lots without a GTIN."""

    __tablename__ = "public_tokens"
    batch_id: str = Field(primary_key=True, foreign_key="batches.id", max_length=64)
    token: str = Field(max_length=32, unique=True)


class Scan(SQLModel, table=True):
    """A consumer's scan of a serialised unit, or their "I opened it" (kind 'opened'). Not a ledger event."""

    __tablename__ = "scans"
    __table_args__ = (Index("ix_scans_batch_serial", "batch_id", "serial"),)
    id: int | None = Field(default=None, primary_key=True)
    batch_id: str = Field(foreign_key="batches.id", max_length=64)
    serial: str = Field(max_length=20)
    kind: str = Field(max_length=8, description="scan | opened")
    at: datetime = Field(default_factory=utcnow, index=True)
    place: str = Field(max_length=32, description="coarse: a keyed hash of the client's network (/24 or /48)")
    client: str = Field(max_length=32, description="a keyed hash of the phone's anonymous cookie")


class CapCode(SQLModel, table=True):
    """The code printed under one bottle's cap: only its keyed hash (farmtrace.services.cap_codes). Not a ledger event."""

    __tablename__ = "cap_codes"
    batch_id: str = Field(primary_key=True, foreign_key="batches.id", max_length=64)
    serial: str = Field(primary_key=True, max_length=20)
    code_hash: str = Field(max_length=64, description="hex HMAC-SHA-256 of batch, serial and code")
    issued_at: datetime = Field(default_factory=utcnow)


class ThrottleCount(SQLModel, table=True):
    """How many times `key` did something counted under `scope` in the fixed window from `window_start`
    (epoch seconds): failed logins, failed tokens, appends. Shared by every worker; old rows are pruned."""

    __tablename__ = "throttle_counts"
    scope: str = Field(primary_key=True, max_length=16)
    key: str = Field(primary_key=True, max_length=64)
    window_start: int = Field(primary_key=True, sa_type=BigInteger, sa_column_kwargs={"autoincrement": False})
    count: int = 0


class AuditEntry(SQLModel, table=True):
    """Who did what to whom, outside the signed log (token minted for another org's user, token seen in a URL).
    Append-only: triggers refuse UPDATE and DELETE."""

    __tablename__ = "audit_log"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    actor_id: int | None = Field(default=None, foreign_key="users.id", description="NULL: the system or the CLI")
    action: str = Field(max_length=32)
    subject: str = Field(max_length=200)
    detail: str = Field(default="", sa_column=Column(Text, nullable=False))


class RecallDrill(SQLModel, table=True):
    """A mock recall: the whole recall query run for a batch without flagging anything, and how long listing
    every affected lot and holder took (migration 0011). Not a ledger event: a drill changes nothing."""

    __tablename__ = "recall_drills"
    id: int | None = Field(default=None, primary_key=True)
    batch_id: str = Field(foreign_key="batches.id", max_length=64, index=True)
    run_at: datetime = Field(default_factory=utcnow)
    run_by: str = Field(max_length=64, description="the username who ran it")
    org_id: str = Field(foreign_key="orgs.id", max_length=64, description="their org")
    lots: int = Field(description="affected lots listed (the batch and every descendant)")
    holders: int = Field(description="distinct orgs holding or receiving them")
    micros: int = Field(sa_type=BigInteger, description="wall time of the recall query, microseconds")


class VerificationJob(SQLModel, table=True):
    """A whole-log verification started from the desk (migration 0012). `running` is 1 while the job runs
    and NULL afterwards: its unique index lets one job run at a time across every worker. A job whose
    `heartbeat_at` went stale died with its process and is shown as interrupted (services/verify_jobs.py)."""

    __tablename__ = "verification_jobs"
    id: int | None = Field(default=None, primary_key=True)
    running: int | None = Field(default=None, unique=True, description="1 while running, else NULL")
    state: str = Field(default="running", max_length=16, description="running | done | error | interrupted")
    started_by: str = Field(max_length=64, description="the username who started it")
    started_at: datetime = Field(default_factory=utcnow)
    heartbeat_at: datetime = Field(default_factory=utcnow, description="last sign of life of its thread")
    finished_at: datetime | None = None
    phase: str = Field(default="log", max_length=16, description="log | rules: which pass the progress counts")
    done: int = Field(default=0, sa_type=BigInteger, description="events checked so far in this phase")
    total: int = Field(default=0, sa_type=BigInteger, description="events in the log when it started")
    ok: bool | None = Field(default=None, description="the verdict once done")
    report: str | None = Field(default=None, sa_column=Column(Text, nullable=True),
                               description="VerificationReport.to_json() as JSON, or the error's words")

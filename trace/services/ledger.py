"""The ledger's front door: one object the CLI, the web app, tests and benchmarks share.

Each method is one command and one transaction (STYLE.md §6): it opens a unit of work, calls
the core functions, commits, and turns database refusals into our errors.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from argon2 import PasswordHasher
from sqlalchemy import Engine

from farmtrace.storage.models import Batch, Org, OrgPrefix, SigningKey, User
from farmtrace.storage.engine import is_sqlite
from farmtrace.storage.uow import UnitOfWork

from farmtrace.services import append as _append
from farmtrace.services import keys as _keys
from farmtrace.services.transaction import Actor, AppendTx, Signer, StoredEvent
from farmtrace.ledger.errors import ChainConflictError, InvalidEventError, NotFoundError
from farmtrace.ledger.events import IDENT
from farmtrace.rules.gs1 import company_prefix_problem, prefixes_overlap
from farmtrace.services.groupcommit import GroupCommit
from farmtrace.services.documents import DocumentStore
from farmtrace.services.log import make_checkpoint
from farmtrace.ledger.signing import KeySealer

T = TypeVar("T")
ORG_KINDS = ("producer", "processor", "carrier", "retailer", "lab", "regulator")
ROLES = ("producer", "regulator", "admin")
PASSWORDS = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
CMA_NUMBER = re.compile(r"^[0-9]{12}$")
"""A 检验检测机构资质认定 (CMA) certificate number: 12 digits (year, issuing authority, field, serial)."""


BatchRecord = Batch  # what `Ledger.batch` returns: pages and the API read batches through this name


def _check_cma(cma: str, kind: str) -> None:
    if kind != "lab":
        raise InvalidEventError("只有检测机构 (--kind lab) 登记 CMA 编号。Only an org of kind lab has a CMA number.",
                                field="cma")
    if not isinstance(cma, str) or not CMA_NUMBER.match(cma):
        raise InvalidEventError("资质认定 (CMA) 证书编号为 12 位数字。A CMA accreditation number is 12 digits.",
                                field="cma")


class Ledger:
    """Append, administer and read the event log stored behind `engine`."""

    def __init__(self, engine: Engine, *, secret_key: str, log_origin: str = "farmtrace.bazhong.local/log",
                 checkpoint_interval: float | None = 2.0) -> None:
        self.engine = engine
        self.checkpoint_interval = checkpoint_interval  # None: no automatic checkpoints
        self._checkpointed_at = 0.0
        self.secret_key = secret_key  # for worker processes that open the same ledger
        self.signer = Signer(KeySealer(secret_key))
        self.log_origin = log_origin
        self._group = GroupCommit(self.appending) if is_sqlite(engine) else None
        self.documents: DocumentStore | None = None  # certificate PDFs (runtime.open_ledger sets it)

    def uow(self, *, write: bool = False) -> UnitOfWork:
        return UnitOfWork(self.engine, write=write)

    def write(self, command: Callable[[UnitOfWork], T]) -> T:
        """Run `command` in one write transaction: all of it or nothing."""
        try:
            with self.uow(write=True) as uow:
                result = command(uow)
                uow.commit()
                return result
        except _append.DB_REFUSALS as err:
            raise _append.translate_db_error(err) from err

    # ---- events ----
    def appending(self, command: Callable[[AppendTx], T]) -> T:
        """Run `command` on one append transaction, write its rows, commit: all or nothing.

        Afterwards, if the last checkpoint this process made is older than `checkpoint_interval`,
        sign a new one (so "published" trails "acknowledged" by at most about that long while
        appends keep coming; `GET /log/checkpoint` and `farmtrace checkpoint` make one on demand).
        """
        def run(uow: UnitOfWork) -> T:
            tx = AppendTx(uow, self.signer)
            tx.documents = self.documents
            result = command(tx)
            tx.flush()
            return result
        result = self.write(run)
        if self.checkpoint_interval is not None and time.monotonic() - self._checkpointed_at > self.checkpoint_interval:
            self._checkpointed_at = time.monotonic()
            make_checkpoint(self, max_age=self.checkpoint_interval)
        return result

    def append(self, draft: Mapping[str, Any] | bytes | str, *, actor: Actor) -> StoredEvent:
        return self._single(lambda tx: _append.append_custodial(tx, draft, actor=actor))

    def _single(self, command: Callable[[AppendTx], StoredEvent]) -> StoredEvent:
        """One event: on SQLite through group commit (core/groupcommit.py), else its own transaction."""
        if self._group is not None:
            return self._group.submit(command)
        return self.appending(command)

    def append_many(self, drafts: Sequence[Mapping[str, Any]], *, actor: Actor) -> list[StoredEvent]:
        return self.appending(lambda tx: _append.append_many(tx, drafts, actor=actor))

    def append_signed(self, body: Mapping[str, Any] | bytes | str, signature: str, *, actor: Actor) -> StoredEvent:
        return self._single(lambda tx: _append.append_presigned(tx, body, signature, actor=actor))

    # ---- administration ----
    def init(self) -> SigningKey:
        """Create the operator's log key if there is none; return it."""
        return self.write(lambda uow: _keys.ensure_log_key(uow, self.signer))

    def create_org(self, org_id: str, name: str, *, kind: str = "producer", family: str | None = None,
                   uscc: str | None = None, county: str | None = None, cma: str | None = None,
                   with_key: bool = True) -> Org:
        """Register an org and (by default) give it a custodial signing key, logged as key_added.

        A lab's `cma` (its 资质认定 CMA certificate number) lets samples name it; see custody rule 1a.
        """
        check_new_org(org_id, name, kind=kind, cma=cma)
        return self.write(lambda uow: add_org(uow, self.signer, org_id, name, kind=kind, family=family, uscc=uscc,
                                              county=county, cma=cma, with_key=with_key))

    def set_cma(self, org_id: str, cma: str) -> Org:
        """Record (or replace) a lab's 资质认定 (CMA) certificate number."""
        return self.write(lambda uow: record_cma(uow, org_id, cma))

    def add_company_prefix(self, org_id: str, prefix: str) -> bool:
        """Register a GS1 company prefix to an org; False when it already holds exactly that prefix.

        Raises InvalidEventError (not a company prefix), NotFoundError (no org), ChainConflictError
        (the prefix overlaps one registered to another org: GS1 gives each GTIN one owner).
        """
        check_company_prefix(prefix)
        return self.write(lambda uow: add_prefix(uow, org_id, prefix))

    def company_prefixes(self, org_id: str | None = None) -> list[OrgPrefix]:
        """The registered GS1 company prefixes (of one org, or of all), by org then prefix."""
        with self.uow() as uow:
            if org_id is not None and uow.org(org_id) is None:
                raise NotFoundError(f"no org {org_id}", field="org")
            return [row for row in uow.all_company_prefixes() if org_id is None or row.org_id == org_id]

    def create_user(self, org_id: str, username: str, password: str, *, role: str = "producer") -> User:
        check_new_user(username, password, role=role)
        return self.write(lambda uow: add_user(uow, org_id, username, password, role=role))

    def rotate_key(self, org_id: str) -> SigningKey:
        return self.write(lambda uow: _keys.rotate_org_key(uow, self.signer, org_id))

    def revoke_key(self, kid: str, *, reason: str = "compromise", suspected_since: str | None = None) -> StoredEvent:
        return self.write(lambda uow: _keys.revoke_key(uow, self.signer, kid, reason=reason,
                                                       suspected_since=suspected_since))

    def erase_person(self, ref: str) -> bool:
        """Delete a person's details (PIPL erasure); the signed events keep only the salted hash."""
        def command(uow: UnitOfWork) -> bool:
            return bool(uow.execute("DELETE FROM personal_data WHERE ref = :r", r=ref).rowcount)
        return self.write(command)

    def person(self, ref: str) -> dict[str, str] | None:
        """A person's details, if not erased."""
        with self.uow() as uow:
            row = uow.execute("SELECT data FROM personal_data WHERE ref = :r", r=ref).first()
        return None if row is None else dict(json.loads(row[0]))

    def row_counts(self) -> dict[str, int]:
        with self.uow() as uow:
            return uow.row_counts()


# ---- administration inside a transaction (also services/admin.py's, which audits each act) ----

def check_new_org(org_id: str, name: str, *, kind: str, cma: str | None) -> None:
    """Refuse a malformed org before any transaction (fields `cma`, `id`, `name`, `kind`)."""
    if cma is not None:
        _check_cma(cma, kind)
    if not IDENT.match(org_id or ""):
        raise InvalidEventError("org id must be letters, digits, . _ : - (at most 64)", field="id")
    if not name or len(name) > 200:
        raise InvalidEventError("org name must be 1-200 characters", field="name")
    if kind not in ORG_KINDS:
        raise InvalidEventError(f"org kind must be one of {', '.join(ORG_KINDS)}", field="kind")


def add_org(uow: UnitOfWork, signer: Signer, org_id: str, name: str, *, kind: str, family: str | None,
            uscc: str | None, county: str | None, cma: str | None, with_key: bool = True) -> Org:
    """Insert a checked org (`check_new_org`) and, by default, its first key (a logged key_added)."""
    if uow.org(org_id) is not None:
        raise ChainConflictError(f"org {org_id} already exists", field="id")
    org = Org(id=org_id, name=name, kind=kind, family=family, uscc=uscc, county=county, cma_number=cma)
    uow.add(org)
    uow.flush()
    if with_key:
        _keys.ensure_log_key(uow, signer)
        _keys.add_org_key(uow, signer, org_id)
    return org


def record_cma(uow: UnitOfWork, org_id: str, cma: str) -> Org:
    """Set a lab's CMA number (NotFoundError: no org; InvalidEventError: not a lab or not 12 digits)."""
    org = uow.org(org_id)
    if org is None:
        raise NotFoundError(f"no org {org_id}", field="org")
    _check_cma(cma, org.kind)
    org.cma_number = cma
    uow.add(org)
    return org


def check_company_prefix(prefix: str) -> None:
    problem = company_prefix_problem(prefix)
    if problem is not None:
        raise InvalidEventError(problem, field="prefix")


def add_prefix(uow: UnitOfWork, org_id: str, prefix: str) -> bool:
    """Register a checked GS1 company prefix (`check_company_prefix`); False if the org holds it already."""
    if uow.org(org_id) is None:
        raise NotFoundError(f"no org {org_id}", field="org")
    for row in uow.all_company_prefixes():
        if row.prefix == prefix and row.org_id == org_id:
            return False
        if prefixes_overlap(row.prefix, prefix) and row.org_id != org_id:
            raise ChainConflictError(f"厂商识别代码 {prefix} 与 {row.org_id} 的 {row.prefix} 重叠。Prefix {prefix} "
                                     f"overlaps {row.prefix} of {row.org_id}.", field="prefix")
    uow.add(OrgPrefix(prefix=prefix, org_id=org_id))
    return True


def check_new_user(username: str, password: str, *, role: str) -> None:
    if role not in ROLES:
        raise InvalidEventError(f"role must be one of {', '.join(ROLES)}", field="role")
    if not IDENT.match(username or ""):
        raise InvalidEventError("username must be letters, digits, . _ : -", field="username")
    if not 8 <= len(password) <= 128:
        raise InvalidEventError("password must be 8 to 128 characters", field="password")


def add_user(uow: UnitOfWork, org_id: str, username: str, password: str, *, role: str) -> User:
    """Insert a checked user (`check_new_user`) with an argon2 hash of `password`."""
    if uow.org(org_id) is None:
        raise NotFoundError(f"no org {org_id}", field="org")
    if uow.user(username) is not None:
        raise ChainConflictError(f"user {username} already exists", field="username")
    user = User(org_id=org_id, username=username, password_hash=PASSWORDS.hash(password), role=role)
    uow.add(user)
    return user

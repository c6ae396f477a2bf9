"""Administration: orgs, their users, API tokens and keys, for the admin pages and the command line alike.

Every command takes `by_user`: the username of the admin acting on /admin, or None for the operator
at the command line. Rules (decisions in docs/admin.md):
1. Who may act: the operator (the command line, or an admin of an org of kind regulator:
   `accounts.is_operator`) manages every org; any other admin manages only their own org; anyone
   else nothing (PermissionDeniedError). Another org's objects are refused before they are looked up,
   so a refusal says nothing of what exists there.
2. Trust claims are the operator's alone: creating an org, its name, its GS1 company prefixes (they
   decide which GTINs it may pack), a lab's CMA number (which labs may answer samples) and its licence
   numbers. An org admin edits the org's contact details, its users, tokens and keys.
3. Roles: `regulator` only in an org of kind regulator (a regulator recalls and reads everything);
   an org always keeps at least one admin, so the last admin is never demoted.
4. Every act is written to the audit trail (services/audit.py) in the same transaction as the act.
5. Bad input is refused before anything is written, with the field it names (`Said`, English and Chinese).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from farmtrace.storage.models import Org, OrgLicence, SigningKey, User
from farmtrace.storage.uow import UnitOfWork, utc_aware

from farmtrace.services import audit
from farmtrace.services import keys as _keys
from farmtrace.services import tokens as _tokens
from farmtrace.services.accounts import _check_new_password, _set_password, is_operator
from farmtrace.services.ledger import (ROLES, Ledger, add_org, add_prefix, add_user, check_company_prefix,
                                       check_new_org, check_new_user, record_cma)
from farmtrace.ledger.errors import (InvalidRequestError, KeyStateError, NotFoundError, PermissionDeniedError,
                                     Said)
from farmtrace.rules.steps import FAMILIES

LICENCE_KINDS: dict[str, tuple[str, str]] = {  # kind -> (Chinese, English)
    "sc": ("食品生产许可证", "Food production licence (SC)"),
    "jy": ("食品经营许可证", "Food business licence (JY)"),
    "slaughter": ("生猪定点屠宰证", "Designated pig slaughter certificate"),
    "animal_epidemic": ("动物防疫条件合格证", "Animal epidemic prevention certificate"),
}
"""The licences an org may record, one number each. SC and JY numbers have a fixed form (the letters
and 14 digits); the others are written as the issuing bureau prints them."""
_SC_JY = re.compile(r"^(SC|JY)[0-9]{14}$")
_USCC = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$")  # GB 32100-2015
_PHONE = re.compile(r"^\+?[0-9][0-9 ()-]{4,30}$")
_COUNTY = re.compile(r"^[0-9]{6}$")
REVOKE_REASONS = ("retired", "compromise")


@dataclass(frozen=True)
class Authority:
    """Who is acting: the operator (manages every org) or an admin of one org."""

    username: str | None  # None: the operator at the command line
    user_id: int | None
    org: str | None
    is_operator: bool

    def may_manage(self, org: str) -> bool:
        return self.is_operator or self.org == org

    @property
    def name(self) -> str:
        return self.username or "the operator"


@dataclass(frozen=True)
class Licence:
    kind: str
    number: str


@dataclass(frozen=True)
class OrgInfo:
    id: str
    name: str
    kind: str
    family: str | None
    uscc: str | None
    county: str | None
    cma_number: str | None
    contact_name: str | None
    contact_phone: str | None
    address: str | None
    prefixes: tuple[str, ...]
    licences: tuple[Licence, ...]
    users: int


@dataclass(frozen=True)
class UserInfo:
    username: str
    org: str
    role: str
    created_at: datetime | None
    active_tokens: int


@dataclass(frozen=True)
class KeyInfo:
    """One of an org's own signing keys (device keys: services/devices.py)."""

    id: str
    org: str
    public_key: str
    added_seq: int | None
    ended_seq: int | None
    end_reason: str | None  # rotated | retired | compromise

    @property
    def is_current(self) -> bool:
        return self.ended_seq is None


# ---- who acts ---------------------------------------------------------------------------------

def who(ledger: Ledger, by_user: str | None) -> Authority:
    """The authority of `by_user` (None: the operator); PermissionDeniedError unless an admin."""
    with ledger.uow() as uow:
        return _authority(uow, by_user)


def _authority(uow: UnitOfWork, by_user: str | None) -> Authority:
    if by_user is None:
        return Authority(None, None, None, True)
    user = uow.user(by_user)
    if user is None or user.id is None or user.role != "admin":
        raise PermissionDeniedError(Said("only an admin may use the admin pages", "只有管理员可以使用管理页面"),
                                    field="role")
    return Authority(user.username, user.id, user.org_id, is_operator(uow, user))


def _managing(uow: UnitOfWork, org: str, by_user: str | None) -> tuple[Authority, Org]:
    """The acting authority and the org, if it may manage that org (checked before the org is looked up)."""
    actor = _authority(uow, by_user)
    if not actor.may_manage(org):
        raise PermissionDeniedError(Said(f"an admin of {actor.org} manages only {actor.org}",
                                         f"{actor.org} 的管理员只能管理本机构"), field="org")
    row = uow.org(org)
    if row is None:
        raise NotFoundError(Said(f"no org {org}", f"没有机构 {org}"), field="org")
    return actor, row


def _operator(uow: UnitOfWork, by_user: str | None, what: Said) -> Authority:
    actor = _authority(uow, by_user)
    if not actor.is_operator:
        raise PermissionDeniedError(what, field="role")
    return actor


def _audit(uow: UnitOfWork, actor: Authority, action: str, subject: str, detail: str) -> None:
    audit.record(uow, action, subject, actor_id=actor.user_id, detail=f"{detail} (by {actor.name})")


# ---- orgs -------------------------------------------------------------------------------------

def list_orgs(ledger: Ledger, by_user: str | None) -> list[OrgInfo]:
    """Every org for the operator; an org admin's own org for them."""
    with ledger.uow() as uow:
        actor = _authority(uow, by_user)
        return [_org_info(uow, org) for org in uow.orgs() if actor.may_manage(org.id)]


def org_info(ledger: Ledger, org: str, by_user: str | None) -> OrgInfo:
    with ledger.uow() as uow:
        return _org_info(uow, _managing(uow, org, by_user)[1])


def create_org(ledger: Ledger, org_id: str, name: str, *, kind: str = "producer", family: str | None = None,
               uscc: str | None = None, county: str | None = None, cma: str | None = None,
               by_user: str | None) -> OrgInfo:
    """Register an org with its first signing key (the operator only)."""
    check_new_org(org_id, name, kind=kind, cma=cma)
    if family is not None and family not in FAMILIES:
        raise InvalidRequestError(Said(f"family must be one of {', '.join(FAMILIES)}",
                                       f"产品类别必须是 {'、'.join(n for n, _ in FAMILIES.values())} 之一"),
                                  field="family")
    if uscc is not None and not _USCC.match(uscc):
        raise InvalidRequestError(Said("a unified social credit code is 18 characters (GB 32100)",
                                       "统一社会信用代码为 18 位（GB 32100）"), field="uscc")
    if county is not None and not _COUNTY.match(county):
        raise InvalidRequestError(Said("a county code is 6 digits (GB/T 2260), e.g. 511922",
                                       "区县代码为 6 位数字（GB/T 2260），例如 511922"), field="county")

    def command(uow: UnitOfWork) -> OrgInfo:
        actor = _operator(uow, by_user, Said("only the operator creates orgs", "只有平台运营方可以新建机构"))
        row = add_org(uow, ledger.signer, org_id, name, kind=kind, family=family, uscc=uscc, county=county, cma=cma)
        key = uow.current_key(org_id)
        _audit(uow, actor, "org_created", org_id, f"{name} ({kind}); key {key.id if key else '-'}")
        return _org_info(uow, row)
    return ledger.write(command)


def edit_org(ledger: Ledger, org: str, *, by_user: str | None, name: str | None = None,
             contact_name: str | None = None, contact_phone: str | None = None,
             address: str | None = None) -> OrgInfo:
    """Change an org's name (the operator only) and contact details; None leaves a field as it is, ""
    clears a contact field."""
    if name is not None and (not 1 <= len(name.strip()) <= 200 or not _printable(name)):
        raise InvalidRequestError(Said("an org name is 1 to 200 printable characters",
                                       "机构名称为 1 到 200 个可打印字符"), field="name")
    if contact_name is not None and (len(contact_name) > 64 or not _printable(contact_name)):
        raise InvalidRequestError(Said("a contact name is at most 64 printable characters",
                                       "联系人最多 64 个可打印字符"), field="contact_name")
    if contact_phone and not _PHONE.match(contact_phone.strip()):
        raise InvalidRequestError(Said("a phone number is digits, spaces, ( ) - and an optional leading +, "
                                       "e.g. 0827-5261234", "电话号码由数字、空格、( ) - 组成，可以 + 开头，"
                                                            "例如 0827-5261234"), field="contact_phone")
    if address is not None and (len(address) > 200 or not _printable(address)):
        raise InvalidRequestError(Said("an address is at most 200 printable characters",
                                       "地址最多 200 个可打印字符"), field="address")

    def command(uow: UnitOfWork) -> OrgInfo:
        actor, row = _managing(uow, org, by_user)
        changed = []
        if name is not None and name.strip() != row.name:
            if not actor.is_operator:
                raise PermissionDeniedError(Said("only the operator renames an org", "只有平台运营方可以修改机构名称"),
                                            field="name")
            row.name = name.strip()
            changed.append(f"name={row.name}")
        for field, value in (("contact_name", contact_name), ("contact_phone", contact_phone), ("address", address)):
            if value is not None and (value.strip() or None) != getattr(row, field):
                setattr(row, field, value.strip() or None)
                changed.append(f"{field}={value.strip()}")
        if changed:
            uow.add(row)
            _audit(uow, actor, "org_edited", org, "; ".join(changed))
        return _org_info(uow, row)
    return ledger.write(command)


def add_company_prefix(ledger: Ledger, org: str, prefix: str, *, by_user: str | None) -> bool:
    """Register a GS1 company prefix to `org` (the operator only); False if it holds it already."""
    check_company_prefix(prefix)

    def command(uow: UnitOfWork) -> bool:
        actor = _operator(uow, by_user, Said("only the operator registers GS1 company prefixes",
                                             "只有平台运营方可以登记厂商识别代码"))
        added = add_prefix(uow, org, prefix)
        if added:
            _audit(uow, actor, "org_prefix_added", org, f"GS1 company prefix {prefix}")
        return added
    return ledger.write(command)


def set_cma(ledger: Ledger, org: str, number: str, *, by_user: str | None) -> OrgInfo:
    """Record a lab's 资质认定 (CMA) certificate number (the operator only)."""
    def command(uow: UnitOfWork) -> OrgInfo:
        actor = _operator(uow, by_user, Said("only the operator records CMA numbers", "只有平台运营方可以登记 CMA 编号"))
        row = record_cma(uow, org, number)
        _audit(uow, actor, "org_cma_set", org, f"CMA {number}")
        return _org_info(uow, row)
    return ledger.write(command)


def set_licence(ledger: Ledger, org: str, kind: str, number: str, *, by_user: str | None) -> Licence:
    """Record (or replace) `org`'s licence number of `kind` (the operator only)."""
    if kind not in LICENCE_KINDS:
        raise InvalidRequestError(Said(f"licence kind must be one of {', '.join(LICENCE_KINDS)}",
                                       f"许可证种类必须是 {'、'.join(zh for zh, _ in LICENCE_KINDS.values())} 之一"),
                                  field="kind")
    number = number.strip() if isinstance(number, str) else ""
    if kind in ("sc", "jy") and not _SC_JY.match(number):
        zh = LICENCE_KINDS[kind][0]
        raise InvalidRequestError(Said(f"a {kind.upper()} licence number is {kind.upper()} and 14 digits",
                                       f"{zh}编号为 {kind.upper()} 加 14 位数字"), field="number")
    if not 1 <= len(number) <= 64 or not _printable(number):
        raise InvalidRequestError(Said("a licence number is 1 to 64 printable characters",
                                       "许可证编号为 1 到 64 个可打印字符"), field="number")

    def command(uow: UnitOfWork) -> Licence:
        actor = _operator(uow, by_user, Said("only the operator records licence numbers",
                                             "只有平台运营方可以登记许可证编号"))
        if uow.org(org) is None:
            raise NotFoundError(Said(f"no org {org}", f"没有机构 {org}"), field="org")
        row = uow.session.get(OrgLicence, (org, kind))
        before = row.number if row is not None else None
        if row is None:
            row = OrgLicence(org_id=org, kind=kind, number=number)
        row.number = number
        uow.add(row)
        _audit(uow, actor, "org_licence_set", org, f"{kind} {number}" + (f" (was {before})" if before else ""))
        return Licence(kind, number)
    return ledger.write(command)


def remove_licence(ledger: Ledger, org: str, kind: str, *, by_user: str | None) -> Licence:
    """Remove `org`'s licence of `kind` (withdrawn or recorded by mistake; the operator only)."""
    def command(uow: UnitOfWork) -> Licence:
        actor = _operator(uow, by_user, Said("only the operator records licence numbers",
                                             "只有平台运营方可以登记许可证编号"))
        row = uow.session.get(OrgLicence, (org, kind)) if isinstance(kind, str) else None
        if row is None:
            raise NotFoundError(Said(f"{org} has no licence of kind {kind}", f"{org} 没有该种许可证"), field="kind")
        gone = Licence(row.kind, row.number)
        uow.session.delete(row)
        _audit(uow, actor, "org_licence_removed", org, f"{gone.kind} {gone.number}")
        return gone
    return ledger.write(command)


# ---- users ------------------------------------------------------------------------------------

def list_users(ledger: Ledger, org: str | None, *, by_user: str | None) -> list[UserInfo]:
    """The users of `org` (None: of every org the actor manages), by org then username."""
    with ledger.uow() as uow:
        actor = _managing(uow, org, by_user)[0] if org is not None else _authority(uow, by_user)
        stmt = select(User).order_by(User.org_id, User.username)
        if org is not None:
            stmt = stmt.where(User.org_id == org)  # type: ignore[arg-type]
        users = [u for u in uow.session.scalars(stmt) if actor.may_manage(u.org_id)]
        live: dict[int, int] = {int(r[0]): int(r[1]) for r in uow.execute(
            "SELECT user_id, COUNT(*) FROM api_tokens WHERE revoked_at IS NULL GROUP BY user_id").all()}
        return [UserInfo(u.username, u.org_id, u.role, utc_aware(u.created_at), live.get(u.id or 0, 0))
                for u in users]


def create_user(ledger: Ledger, org: str, username: str, password: str, *, role: str = "producer",
                by_user: str | None) -> UserInfo:
    """Make a user of `org` with an initial password (argon2)."""
    check_new_user(username, password, role=role)

    def command(uow: UnitOfWork) -> UserInfo:
        actor, row = _managing(uow, org, by_user)
        _check_role_for(row, role)
        user = add_user(uow, org, username, password, role=role)
        uow.flush()
        _audit(uow, actor, "user_created", f"{username} ({org})", f"role {role}")
        return UserInfo(user.username, user.org_id, user.role, utc_aware(user.created_at), 0)
    return ledger.write(command)


def set_role(ledger: Ledger, username: str, role: str, *, by_user: str | None) -> UserInfo:
    """Change a user's role; the last admin of an org keeps theirs."""
    if role not in ROLES:
        raise InvalidRequestError(Said(f"role must be one of {', '.join(ROLES)}",
                                       "角色必须是 生产者、监管人员、管理员 之一"), field="role")

    def command(uow: UnitOfWork) -> UserInfo:
        user = _user_managed(uow, username, by_user)
        actor, org = _managing(uow, user.org_id, by_user)
        _check_role_for(org, role)
        if user.role == "admin" and role != "admin" and _admins(uow, user.org_id) <= 1:
            raise KeyStateError(Said(f"{username} is the last admin of {user.org_id}: make another admin first",
                                     f"{username} 是 {user.org_id} 唯一的管理员：请先指定另一位管理员"), field="role")
        before = user.role
        if before != role:
            user.role = role
            uow.add(user)
            _audit(uow, actor, "role_changed", f"{username} ({user.org_id})", f"{before} -> {role}")
        return UserInfo(user.username, user.org_id, user.role, utc_aware(user.created_at), 0)
    return ledger.write(command)


def reset_password(ledger: Ledger, username: str, new: str, *, by_user: str | None) -> None:
    """Set a user's password without the current one; every session of theirs ends (audited)."""
    _check_new_password(new)

    def command(uow: UnitOfWork) -> None:
        user = _user_managed(uow, username, by_user)
        actor = _managing(uow, user.org_id, by_user)[0]
        _set_password(uow, user, new, by=actor.user_id)
        _audit(uow, actor, "password_reset", f"{username} ({user.org_id})", "set by an admin; sessions ended")
    ledger.write(command)


def _user_managed(uow: UnitOfWork, username: str, by_user: str | None) -> User:
    actor = _authority(uow, by_user)
    user = uow.user(username) if isinstance(username, str) else None
    if user is None or user.id is None:
        if not actor.is_operator:  # an org admin learns nothing of other orgs' usernames
            raise PermissionDeniedError(Said(f"{username} is not a user of {actor.org}",
                                             f"{username} 不是 {actor.org} 的用户"), field="username")
        raise NotFoundError(Said(f"no user {username}", f"没有用户 {username}"), field="username")
    if not actor.may_manage(user.org_id):
        raise PermissionDeniedError(Said(f"{username} is not a user of {actor.org}",
                                         f"{username} 不是 {actor.org} 的用户"), field="username")
    return user


def _check_role_for(org: Org, role: str) -> None:
    if role == "regulator" and org.kind != "regulator":
        raise InvalidRequestError(Said("only a user of a regulator org may have the role regulator",
                                       "只有监管机构的用户可以担任监管人员"), field="role")


def _admins(uow: UnitOfWork, org: str) -> int:
    return int(uow.session.scalar(select(func.count()).select_from(User).where(
        User.org_id == org, User.role == "admin")) or 0)  # type: ignore[arg-type]


# ---- API tokens -------------------------------------------------------------------------------

def list_tokens(ledger: Ledger, org: str | None, *, by_user: str | None) -> list[_tokens.TokenInfo]:
    """The API tokens of `org`'s users (None: of every org the actor manages), oldest first."""
    with ledger.uow() as uow:
        actor = _managing(uow, org, by_user)[0] if org is not None else _authority(uow, by_user)
    return [t for t in _tokens.list_tokens(ledger) if (org is None or t.org == org) and actor.may_manage(t.org)]


def create_token(ledger: Ledger, username: str, *, days: int | None = None,
                 by_user: str | None) -> _tokens.NewToken:
    """Make an API token for a user of an org the actor manages; returned in clear once."""
    _tokens.check_days(days)

    def command(uow: UnitOfWork) -> _tokens.NewToken:
        user = _user_managed(uow, username, by_user)
        actor = _managing(uow, user.org_id, by_user)[0]
        made = _tokens.mint(uow, username, days=days, created_by=by_user)
        _audit(uow, actor, "token_created", f"{username} ({user.org_id})",
               f"token {made.id} {made.prefix}…, expires "
               f"{made.expires_at.isoformat(timespec='seconds') if made.expires_at else 'never'}")
        return made
    return ledger.write(command)


def revoke_token(ledger: Ledger, token_id: int, *, by_user: str | None) -> _tokens.TokenInfo:
    """Revoke an API token of a user of an org the actor manages (revoking twice keeps the first time)."""
    def command(uow: UnitOfWork) -> _tokens.TokenInfo:
        actor = _authority(uow, by_user)
        found = _tokens.token_info(uow, token_id)
        if found is None or not actor.may_manage(found.org):
            if found is not None or not actor.is_operator:
                raise PermissionDeniedError(Said(f"token {token_id} is not one of {actor.org}'s",
                                                 f"令牌 {token_id} 不属于 {actor.org}"), field="id")
            raise NotFoundError(Said(f"no token {token_id}", f"没有令牌 {token_id}"), field="id")
        info = _tokens.revoke_row(uow, token_id)
        if found.revoked_at is None:
            _audit(uow, actor, "token_revoked", f"{info.username} ({info.org})", f"token {info.id} {info.prefix}…")
        return info
    return ledger.write(command)


# ---- the org's own signing keys (device keys: services/devices.py) ----------------------------

def org_keys(ledger: Ledger, org: str, *, by_user: str | None) -> list[KeyInfo]:
    """`org`'s own signing keys, current and ended, in the order they were added."""
    with ledger.uow() as uow:
        _managing(uow, org, by_user)
        rows = uow.session.scalars(select(SigningKey).where(
            SigningKey.org_id == org, SigningKey.purpose == "org"))  # type: ignore[arg-type]
        return sorted((_key_info(r) for r in rows), key=lambda k: (k.added_seq or 0, k.id))


def rotate_org_key(ledger: Ledger, org: str, *, by_user: str | None) -> KeyInfo:
    """Routine rotation: a new key replaces the org's current one (a logged key_added with replaces)."""
    def command(uow: UnitOfWork) -> KeyInfo:
        actor = _managing(uow, org, by_user)[0]
        old = uow.current_key(org)
        row = _keys.rotate_org_key(uow, ledger.signer, org)
        _audit(uow, actor, "org_key_rotated", org, f"key {row.id} replaces {old.id if old else '-'} "
                                                   f"at log position {row.added_seq}")
        return _key_info(row)
    return ledger.write(command)


def revoke_org_key(ledger: Ledger, org: str, key_id: str, *, reason: str = "compromise",
                   by_user: str | None) -> tuple[KeyInfo, KeyInfo | None]:
    """End `org`'s own key `key_id` now (a logged key_revoked); if it was the org's current key, a new
    one is added in the same transaction so the org keeps signing. Returns (revoked, new or None)."""
    if reason not in REVOKE_REASONS:
        raise InvalidRequestError(Said('reason must be "retired" or "compromise"',
                                       '吊销原因必须是 "retired"（停用）或 "compromise"（泄露）'), field="reason")

    def command(uow: UnitOfWork) -> tuple[KeyInfo, KeyInfo | None]:
        actor = _managing(uow, org, by_user)[0]
        row = uow.key(key_id) if isinstance(key_id, str) else None
        if row is None or row.org_id != org or row.purpose != "org":
            raise NotFoundError(Said(f"{key_id} is not a signing key of {org}", f"{key_id} 不是 {org} 的签名密钥"),
                                field="key_id")
        if row.ended_seq is not None and row.end_reason in REVOKE_REASONS:
            raise KeyStateError(Said(f"key {key_id} is already revoked", f"密钥 {key_id} 已被吊销"), field="key_id")
        was_current = row.ended_seq is None
        entry = _keys.revoke_key(uow, ledger.signer, key_id, reason=reason, purposes=("org",))
        new = _keys.add_org_key(uow, ledger.signer, org) if was_current else None
        _audit(uow, actor, "org_key_revoked", org, f"key {key_id} revoked ({reason}) at log position {entry.seq}"
               + (f"; new key {new.id}" if new else ""))
        uow.flush()
        return _key_info(row), _key_info(new) if new else None
    return ledger.write(command)


def require_manages(ledger: Ledger, org: str, *, by_user: str | None) -> Authority:
    """The acting authority if it may manage `org` (PermissionDeniedError / NotFoundError otherwise);
    for reads that another service answers, e.g. devices.device_keys."""
    with ledger.uow() as uow:
        return _managing(uow, org, by_user)[0]


# ---- helpers ------------------------------------------------------------------------------------

def _org_info(uow: UnitOfWork, org: Org) -> OrgInfo:
    licences = uow.session.scalars(select(OrgLicence).where(OrgLicence.org_id == org.id))  # type: ignore[arg-type]
    users = uow.session.scalar(select(func.count()).select_from(User).where(User.org_id == org.id))  # type: ignore[arg-type]
    order = list(LICENCE_KINDS)
    return OrgInfo(org.id, org.name, org.kind, org.family, org.uscc, org.county, org.cma_number, org.contact_name,
                   org.contact_phone, org.address, tuple(uow.company_prefixes(org.id)),
                   tuple(sorted((Licence(r.kind, r.number) for r in licences),
                                key=lambda x: order.index(x.kind) if x.kind in order else len(order))),
                   int(users or 0))


def _key_info(row: SigningKey) -> KeyInfo:
    return KeyInfo(row.id, row.org_id or "", row.public_key, row.added_seq, row.ended_seq, row.end_reason)


def _printable(text: str) -> bool:
    return not any(unicodedata.category(c).startswith("C") for c in text)

"""Device keys: a tablet's own Ed25519 key, a sub-key of its org (issue 13, "Signed on the device").

The tablet makes its key pair (WebCrypto, non-extractable) and keeps the private half; the server
holds only the public one, so not even the operator can sign as the device. Rules:
1. Only the operator (the command line: `by_user=None`, or on the admin pages an admin of a regulator
   org, `accounts.is_operator`) or an admin of the org itself registers or revokes an org's device
   keys; each act is also written to the audit trail (services/audit.py).
2. A public key is canonical base64 of 32 bytes that decodes to a point of the curve and is not of
   small order (such a "key" would let anyone forge signatures that verify).
3. Registering writes a `key_added` entry signed by the operator's log key, naming the org and the
   label (`data.device`), without `replaces`: the org's own key and its other devices stay valid.
   The device key is valid for entries after that position, for pre-signed events of its org only.
4. A public key is registered once, ever: again for the same org, for another org, or a key that is
   some org's (or the log's) own, it is refused. A label is unique among the org's current devices.
5. Revoking writes a `key_revoked` entry (reason "retired" or "compromise") for a device key of
   that org only; from that position its signatures are refused on append and reported by every
   verifier, while what it signed before still verifies.
The label is read back from the signed `key_added` entry, so a page that says "signed on device X"
says what the log says.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select

from farmtrace.storage.models import Event, SigningKey, User
from farmtrace.storage.uow import UnitOfWork

from farmtrace.services import audit
from farmtrace.services import keys as _keys
from farmtrace.services.accounts import is_operator
from farmtrace.services.ledger import Ledger
from farmtrace.ledger.errors import (InvalidRequestError, KeyStateError, NotFoundError, PermissionDeniedError,
                                     Said)
from farmtrace.ledger.events import KEY_ID, RFC3339
from farmtrace.ledger.signing import key_id, unb64

PURPOSE = "device"
MAX_LABEL = 64
REASONS = ("retired", "compromise")


@dataclass(frozen=True)
class DeviceKey:
    """One device key of an org, as the log records it."""

    id: str
    org: str
    label: str
    public_key: str             # base64, raw 32 bytes
    added_seq: int              # log position of its key_added entry; valid from the next one
    added_at: str               # that entry's `at` (RFC 3339, +08:00)
    revoked_seq: int | None     # log position of its key_revoked entry
    revoked_at: str | None
    reason: str | None          # retired | compromise

    @property
    def is_revoked(self) -> bool:
        return self.revoked_seq is not None


def register_device_key(ledger: Ledger, org: str, public_key_b64: str, label: str, *,
                        by_user: str | None) -> DeviceKey:
    """Register a tablet's public key as a device key of `org` (a `key_added` log entry, no `replaces`).

    Args:
        by_user: the admin doing it (an admin of `org`); None for the operator at the command line.
    Raises:
        InvalidRequestError: a malformed public key or label (field `public_key` / `label`).
        NotFoundError: no such org, or no such user.
        PermissionDeniedError: `by_user` is not an admin of `org`.
        KeyStateError: the public key is already registered, or the label names a current device.
    """
    raw = _public_key(public_key_b64)
    label = _label(label)

    def command(uow: UnitOfWork) -> DeviceKey:
        if uow.org(org) is None:
            raise NotFoundError(Said(f"no org {org}", f"没有机构 {org}"), field="org")
        actor = _admin(uow, org, by_user)
        kid = key_id(raw)
        if uow.key(kid) is not None:
            raise KeyStateError(Said(f"this public key is already registered (key {kid}); a key is registered once, "
                                     "ever: make a new key on the device",
                                     f"该公钥已登记（密钥 {kid}）；一个密钥只能登记一次：请在设备上生成新密钥"),
                                field="public_key")
        if label in {d.label for d in _device_keys(uow, org) if not d.is_revoked}:
            raise KeyStateError(Said(f"device {label!r} of {org} already has a current key; revoke it first or "
                                     "choose another label",
                                     f"{org} 的设备 {label!r} 已有有效密钥；请先吊销或换一个名称"), field="label")
        row = _keys.new_public_key(uow, org=org, purpose=PURPOSE, public_raw=raw)
        entry = _keys.log_entry(uow, ledger.signer, "key_added", org, {
            "key_id": row.id, "public_key": row.public_key, "algorithm": "ed25519", "device": label})
        row.added_seq = entry.seq
        uow.add(row)
        audit.record(uow, "device_key_added", f"{row.id} ({org})", actor_id=actor.id if actor else None,
                     detail=f"device {label!r} registered by {by_user or 'the operator'} at log position {entry.seq}")
        uow.flush()
        return DeviceKey(row.id, org, label, row.public_key, entry.seq, entry.body.at, None, None, None)
    return ledger.write(command)


def revoke_device_key(ledger: Ledger, org: str, key_id: str, *, by_user: str | None, reason: str = "retired",
                      suspected_since: str | None = None) -> DeviceKey:
    """End device key `key_id` of `org` now (a `key_revoked` log entry); its later signatures are refused.

    Args:
        reason: "retired" (the tablet is out of use) or "compromise" (lost, stolen, tampered with); both
            end the key at this position. With "compromise", `suspected_since` (RFC 3339) flags its
            events made from then on for review.
    Raises:
        InvalidRequestError: a malformed key id, reason or time.
        NotFoundError: `key_id` is not a device key of `org` (an org's own key, another org's device...).
        PermissionDeniedError: `by_user` is not an admin of `org`.
        KeyStateError: the key is already revoked.
    """
    if not isinstance(key_id, str) or not KEY_ID.match(key_id):
        raise InvalidRequestError(Said("a key id is 16 lowercase hex digits", "密钥编号为 16 位小写十六进制数字"),
                                  field="key_id")
    if reason not in REASONS:
        raise InvalidRequestError(Said('reason must be "retired" or "compromise"',
                                       '吊销原因必须是 "retired"（停用）或 "compromise"（泄露）'), field="reason")
    if suspected_since is not None and (reason != "compromise" or not RFC3339.match(suspected_since)):
        raise InvalidRequestError(Said("suspected_since is an RFC 3339 time, given only with reason compromise",
                                       "suspected_since 是 RFC 3339 时间，仅在原因为 compromise 时填写"),
                                  field="suspected_since")

    def command(uow: UnitOfWork) -> DeviceKey:
        actor = _admin(uow, org, by_user)
        row = uow.key(key_id)
        if row is None or row.purpose != PURPOSE or row.org_id != org:
            raise NotFoundError(Said(f"{key_id} is not a device key of {org}", f"{key_id} 不是 {org} 的设备密钥"),
                                field="key_id")
        if row.ended_seq is not None:
            raise KeyStateError(Said(f"device key {key_id} is already revoked", f"设备密钥 {key_id} 已被吊销"),
                                field="key_id")
        entry = _keys.revoke_key(uow, ledger.signer, key_id, reason=reason, suspected_since=suspected_since,
                                 purposes=(PURPOSE,))
        found = {d.id: d for d in _device_keys(uow, org, [key_id])}[key_id]
        audit.record(uow, "device_key_revoked", f"{key_id} ({org})", actor_id=actor.id if actor else None,
                     detail=f"device {found.label!r} revoked ({reason}) by {by_user or 'the operator'} "
                            f"at log position {entry.seq}")
        return found
    return ledger.write(command)


def device_keys(ledger: Ledger, org: str) -> list[DeviceKey]:
    """Every device key of `org`, current and revoked, in the order they were registered."""
    with ledger.uow() as uow:
        if uow.org(org) is None:
            raise NotFoundError(Said(f"no org {org}", f"没有机构 {org}"), field="org")
        return _device_keys(uow, org)


def signed_on_device(ledger: Ledger, key_ids: Iterable[str] | None = None) -> dict[str, str]:
    """Device key id -> its label (from its signed `key_added` entry), for pages that say "signed on device X".

    Revoked devices are included: what they signed before their revocation still verifies. Pass the
    key ids of the events on a page to read only those; an id that is no device key is left out.
    """
    with ledger.uow() as uow:
        return labels(uow, key_ids)


def labels(uow: UnitOfWork, key_ids: Iterable[str] | None) -> dict[str, str]:
    """`signed_on_device` inside a unit of work already open (the batch page's verification)."""
    return {d.id: d.label for d in _device_keys(uow, None, None if key_ids is None else list(key_ids))}


# ---- helpers --------------------------------------------------------------------------------

def _device_keys(uow: UnitOfWork, org: str | None, ids: list[str] | None = None) -> list[DeviceKey]:
    stmt = select(SigningKey).where(SigningKey.purpose == PURPOSE)  # type: ignore[arg-type]
    if org is not None:
        stmt = stmt.where(SigningKey.org_id == org)  # type: ignore[arg-type]
    if ids is not None:
        if not ids:
            return []
        stmt = stmt.where(SigningKey.id.in_(sorted(set(ids))))  # type: ignore[attr-defined]
    rows = [r for r in uow.session.scalars(stmt) if r.added_seq is not None and r.org_id is not None]
    seqs = sorted({s for r in rows for s in (r.added_seq, r.ended_seq) if s is not None})
    entries = {e.seq: e for e in uow.session.scalars(
        select(Event).where(Event.seq.in_(seqs)))} if seqs else {}  # type: ignore[attr-defined]
    out = []
    for row in sorted(rows, key=lambda r: r.added_seq or 0):
        assert row.added_seq is not None and row.org_id is not None
        added = entries.get(row.added_seq)
        ended = entries.get(row.ended_seq) if row.ended_seq is not None else None
        label = _entry_data(added).get("device")
        out.append(DeviceKey(row.id, row.org_id, label if isinstance(label, str) else row.id, row.public_key,
                             row.added_seq, added.at if added else "", row.ended_seq,
                             ended.at if ended else None, row.end_reason))
    return out


def _entry_data(entry: Event | None) -> dict[str, object]:
    if entry is None:
        return {}
    data = json.loads(entry.canonical).get("data")
    return data if isinstance(data, dict) else {}


def _admin(uow: UnitOfWork, org: str, by_user: str | None) -> User | None:
    """The user acting (None: the operator at the command line); refused unless an admin of `org`."""
    if by_user is None:
        return None
    user = uow.user(by_user)
    if user is None or user.id is None:
        raise NotFoundError(Said(f"no user {by_user}", f"没有用户 {by_user}"), field="by_user")
    if user.role != "admin" or (user.org_id != org and not is_operator(uow, user)):
        raise PermissionDeniedError(Said(f"only an admin of {org} registers or revokes its device keys",
                                         f"只有 {org} 的管理员可以登记或吊销其设备密钥"), field="by_user")
    return user


def _label(label: object) -> str:
    text = label.strip() if isinstance(label, str) else ""
    if not text or len(text) > MAX_LABEL or any(unicodedata.category(c).startswith("C") for c in text):
        raise InvalidRequestError(Said(f"a device label is 1 to {MAX_LABEL} printable characters, e.g. 平板 3 号",
                                       f"设备名称为 1 到 {MAX_LABEL} 个可打印字符，例如“平板 3 号”"), field="label")
    return text


def _public_key(text: object) -> bytes:
    """The raw 32 bytes of a device's Ed25519 public key, refused unless it is a usable one."""
    try:
        raw = unb64(text, length=32) if isinstance(text, str) else b""
    except ValueError as err:
        raise InvalidRequestError(Said(f"the public key must be the raw 32-byte Ed25519 key in standard base64 "
                                       f"(WebCrypto exportKey('raw')): {err}",
                                       f"公钥必须是 32 字节的 Ed25519 原始公钥的标准 base64 编码：{err}"),
                                  field="public_key") from err
    problem = _point_problem(raw) if len(raw) == 32 else "expected 32 bytes"
    if problem:
        raise InvalidRequestError(Said(f"not a usable Ed25519 public key: {problem}",
                                       f"不是可用的 Ed25519 公钥：{problem}"), field="public_key")
    return raw


# Edwards25519 (RFC 8032 §5.1): -x^2 + y^2 = 1 + d x^2 y^2 over GF(p).
_P = 2**255 - 19
_D = -121665 * pow(121666, _P - 2, _P) % _P
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)


def _point_problem(raw: bytes) -> str | None:
    """Why `raw` is no usable public key (not a canonical point of the curve, or of small order), or None.

    A small-order point (order 1, 2, 4 or 8) is refused: with one as the public key, signatures that
    verify can be made without any private key (RFC 8032 verifiers do not exclude them).
    """
    y = int.from_bytes(raw, "little") & ((1 << 255) - 1)
    sign = raw[31] >> 7
    if y >= _P:
        return "not a canonical encoding"
    u, v = (y * y - 1) % _P, (_D * y * y + 1) % _P
    x2 = u * pow(v, _P - 2, _P) % _P
    x = pow(x2, (_P + 3) // 8, _P)
    if (x * x - x2) % _P:
        x = x * _SQRT_M1 % _P
    if (x * x - x2) % _P:
        return "not a point of the curve"
    if x == 0 and sign:
        return "not a canonical encoding"
    if x & 1 != sign:
        x = _P - x
    px, py = x, y
    for _ in range(3):  # 8 * P
        xy = px * py % _P
        t = _D * xy * xy % _P
        px, py = 2 * xy * pow(1 + t, _P - 2, _P) % _P, (py * py + px * px) * pow(1 - t, _P - 2, _P) % _P
    if px == 0 and py == 1:
        return "a point of small order, with which anyone could sign"
    return None

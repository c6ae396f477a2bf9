"""Codes printed under bottle caps: the proof of possession that marking a bottle "opened" needs.

Without it anyone could post "opened" for any serial and make the next genuine scan say
"refilled" (issue 11). Rules:
1. One code per serial of a lot's `commissioned` ranges. Codes are issued by the lot's holder
   (API) or the operator (`farmtrace codes issue`), shown in clear exactly once (in what the
   issuing call returns) and stored only as HMAC-SHA-256 under a key derived from the instance
   secret, bound to the batch and the serial: a code opens one bottle, and a copy of the
   database alone cannot be turned into codes.
2. A code is CODE_LENGTH characters of Crockford base32 (5 random bits each, 50 bits), printed as
   two groups of five (`7KQ2M-XD4PA`). Typing is forgiving: case, spaces and hyphens do not
   matter, and O reads as 0, I and L as 1 (Crockford's rule).
3. A serial that already has a code gets no new one; a lot whose serials all have codes is
   refused (409): the clear codes cannot be shown twice. At most MAX_PER_CALL codes per call;
   a bigger lot is issued over several calls.
4. CSV output neutralises spreadsheet formula injection: a cell starting with = + - @, a tab
   or a carriage return is written with a leading apostrophe (OWASP "CSV injection").
5. Wrong guesses are limited by the caller (the consumer page counts them towards the
   per-network write cap); 50 bits make guessing hopeless within any such cap.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from sqlalchemy import text

from farmtrace.storage.models import CapCode, utcnow
from farmtrace.storage.uow import UnitOfWork

from farmtrace.services.transaction import Actor
from farmtrace.ledger.errors import ChainConflictError, CustodyError, InvalidRequestError, NotFoundError
from farmtrace.rules.gs1 import digital_link_path
from farmtrace.services.ledger import Ledger
from farmtrace.rules.gs1 import SerialRange, serial_ranges

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U
CODE_LENGTH = 10
MAX_PER_CALL = 100_000
_TYPOS = str.maketrans({"O": "0", "I": "1", "L": "1"})
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_COMMISSIONED = text("SELECT canonical FROM events WHERE batch_id = :b AND type = 'commissioned' ORDER BY seq")
_ISSUED = text("SELECT serial FROM cap_codes WHERE batch_id = :b")
_HASH = text("SELECT code_hash FROM cap_codes WHERE batch_id = :b AND serial = :s")
HEADERS = {"zh": ("批次", "商品条码", "批号", "序列号", "开盖码", "链接"),
           "en": ("batch", "gtin", "lot", "serial", "code", "link")}


@dataclass(frozen=True)
class IssuedCode:
    serial: str
    code: str  # as printed: two groups of five


@dataclass(frozen=True)
class CapCodeIssue:
    """What one issuing call made: the clear codes (shown this once) and how many serials still lack one."""

    batch: str
    gtin: str | None
    lot: str
    codes: list[IssuedCode]
    remaining: int

    def link(self, serial: str, base_url: str = "") -> str:
        """The bottle's Digital Link (its QR code), or "" for a lot not yet packed with a GTIN."""
        return base_url + digital_link_path(self.gtin, self.lot, serial) if self.gtin else ""


def new_code() -> str:
    """A fresh random code, as printed (`XXXXX-XXXXX`)."""
    raw = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    return f"{raw[:5]}-{raw[5:]}"


def normalise_code(typed: str) -> str | None:
    """The code a person typed, in canonical form (10 base32 characters), or None if it cannot be one."""
    if not isinstance(typed, str) or len(typed) > 64:
        return None
    code = "".join(typed.split()).replace("-", "").upper().translate(_TYPOS)
    if len(code) != CODE_LENGTH or any(c not in ALPHABET for c in code):
        return None
    return code


def _key(secret: str) -> bytes:
    """The cap-code key: derived from the instance secret, used for nothing else."""
    return hmac.new(secret.encode(), b"farmtrace cap codes v1", hashlib.sha256).digest()


def code_hash(secret: str, batch_id: str, serial: str, code: str) -> str:
    """The stored form of a code: hex HMAC-SHA-256 of batch, serial and canonical code."""
    message = json.dumps([batch_id, serial, code], separators=(",", ":")).encode()
    return hmac.new(_key(secret), message, hashlib.sha256).hexdigest()


def issue_cap_codes(ledger: Ledger, batch_id: str, *, actor: Actor | None = None,
                    limit: int = MAX_PER_CALL) -> CapCodeIssue:
    """Make a code for every commissioned serial of the lot that has none yet (at most `limit`).

    Args:
        actor: the org asking (it must hold the batch); None for the operator's CLI and the demo.
    Raises:
        NotFoundError: no such batch. CustodyError: `actor` does not hold it.
        InvalidRequestError: the lot has no commissioned serials.
        ChainConflictError: every serial already has a code (codes are shown once).
    """
    def command(uow: UnitOfWork) -> CapCodeIssue:
        batch = uow.batch(batch_id)
        if batch is None:
            raise NotFoundError(f"no batch {batch_id[:64]!r}", field="batch")
        if actor is not None and actor.org != batch.org_id:
            raise CustodyError(f"only the holder of batch {batch_id} ({batch.org_id}) may issue its cap codes",
                               field="batch")
        ranges = serial_ranges(str(row[0]) for row in uow.connection.execute(_COMMISSIONED, {"b": batch_id}))
        if not ranges:
            raise InvalidRequestError(f"batch {batch_id} has no commissioned serials: record a `commissioned` "
                                      "event first", field="batch")
        issued = {str(row[0]) for row in uow.connection.execute(_ISSUED, {"b": batch_id})}
        serials, remaining = _missing(ranges, issued, limit)
        if not serials:
            raise ChainConflictError(f"every serial of batch {batch_id} already has a cap code; codes are shown "
                                     "only once, when issued", field="batch")
        codes = [IssuedCode(serial, new_code()) for serial in serials]
        uow.insert_rows(CapCode, [{"batch_id": batch_id, "serial": c.serial, "issued_at": utcnow(),
                                   "code_hash": code_hash(ledger.secret_key, batch_id, c.serial,
                                                          c.code.replace("-", ""))} for c in codes])
        link = uow.connection.execute(text("SELECT gtin FROM gtin_lots WHERE batch_id = :b LIMIT 1"),
                                      {"b": batch_id}).scalar()
        return CapCodeIssue(batch_id, None if link is None else str(link), batch.lot, codes, remaining)
    return ledger.write(command)


def _missing(ranges: list[SerialRange], issued: set[str], limit: int) -> tuple[list[str], int]:
    """Up to `limit` serials of `ranges` not in `issued`, in order, and how many more lack a code."""
    out: list[str] = []
    remaining = 0
    for prefix, first, last, width in ranges:
        for n in range(first, last + 1):
            serial = f"{prefix}{n:0{width}d}"
            if serial in issued:
                continue
            if len(out) < limit:
                out.append(serial)
            else:
                remaining += 1
    return out, remaining


def check_cap_code(ledger: Ledger, batch_id: str, serial: str, typed: str) -> bool:
    """Whether `typed` is the code issued for this bottle (False also when it has none, or it is malformed)."""
    code = normalise_code(typed)
    if code is None:
        return False
    with ledger.uow() as uow:
        stored = uow.connection.execute(_HASH, {"b": batch_id, "s": serial}).scalar()
    return stored is not None and hmac.compare_digest(str(stored), code_hash(ledger.secret_key, batch_id, serial, code))


def to_csv(issues: Sequence[CapCodeIssue], *, base_url: str = "", lang: str = "zh") -> str:
    """The codes as CSV for a label printer: UTF-8 BOM, CRLF, one row per bottle, formula-safe cells."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADERS["en" if lang == "en" else "zh"])
    for issue in issues:
        for c in issue.codes:
            writer.writerow([_cell(v) for v in (issue.batch, issue.gtin or "", issue.lot, c.serial, c.code,
                                                issue.link(c.serial, base_url))])
    return out.getvalue()


def save_private(path: Path, content: str, *, replace: bool = False) -> None:
    """Write clear codes to `path`, readable by its owner only (0600 from the first byte).

    Raises:
        InvalidRequestError: the file exists and `replace` is False (earlier codes are never overwritten).
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if replace else os.O_EXCL)
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        raise InvalidRequestError(f"{path} exists: choose another file (codes already written are never "
                                  "overwritten)", field="out") from None
    os.fchmod(fd, 0o600)  # an existing file replaced keeps no wider mode
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
        out.write(content)


def _cell(value: str) -> str:
    """A CSV cell a spreadsheet will not run as a formula."""
    return "'" + value if value.startswith(_FORMULA_START) else value

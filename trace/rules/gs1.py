"""GS1 identifiers as the consumer's QR code carries them (GS1 Digital Link 1.x, GS1 General Specifications).

- A GTIN has 8, 12, 13 or 14 digits, the last a mod-10 check digit; Digital Link always uses
  the 14-digit form (left-padded with zeros), so that is the form we store and compare.
- AI 10 (batch/lot) and AI 21 (serial) are 1-20 characters of GS1 AI encodable character set 82.
- In a Digital Link path an AI value is percent-encoded: every character but the URI unreserved
  ones (A-Z a-z 0-9 - . _) is escaped, as the GS1 Digital Link URI syntax (1.x ABNF: `XCHAR`,
  `! " % & ' ( ) * + , / : ; < = > ?` written `%21` ... `%3F`) requires. So a lot `A/B` is
  `/10/A%2FB`, and a link is parsed segment by segment from the path as the client sent it
  (`parse_digital_link`), never from a path a server has already decoded.
- A lot or serial that is exactly `.` or `..` cannot travel in a URI path (RFC 3986 §5.2.4 and
  browsers remove such dot segments, even escaped); every other set-82 value can.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote, unquote_to_bytes

GTIN_LENGTHS = (8, 12, 13, 14)
_CSET82 = re.compile(r"^[!\"%&'()*+,\-./0-9:;<=>?A-Z_a-z]{1,20}$")


def check_digit(body: str) -> int:
    """The GS1 mod-10 check digit for the digits of `body` (all but the check digit)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def gtin14(value: object) -> str | None:
    """The 14-digit GTIN for a valid GTIN-8/12/13/14, else None."""
    if not isinstance(value, str) or len(value) not in GTIN_LENGTHS or not value.isascii() or not value.isdigit():
        return None
    if check_digit(value[:-1]) != int(value[-1]):
        return None
    return value.zfill(14)


def ai_value(value: object) -> str | None:
    """A valid AI 10 / AI 21 value (1-20 characters of set 82), else None."""
    return value if isinstance(value, str) and _CSET82.match(value) else None


def encode_ai(value: str) -> str:
    """An AI value as one Digital Link path segment: all but A-Z a-z 0-9 - . _ percent-encoded (uppercase hex)."""
    return quote(value, safe="")


def digital_link_path(gtin: str, lot: str | None = None, serial: str | None = None) -> str:
    """The path of the Digital Link `/01/{gtin}[/10/{lot}][/21/{serial}]`, values percent-encoded."""
    path = f"/01/{encode_ai(gtin)}"
    if lot is not None:
        path += f"/10/{encode_ai(lot)}"
    if serial is not None:
        path += f"/21/{encode_ai(serial)}"
    return path


@dataclass(frozen=True)
class DigitalLink:
    """A parsed `/01/{gtin}[/10/{lot}][/21/{serial}][/{action}]` (gtin in its 14-digit form)."""

    gtin: str
    lot: str | None = None
    serial: str | None = None
    action: str | None = None


def parse_digital_link(raw_path: str, *, actions: tuple[str, ...] = ()) -> DigitalLink | None:
    """Parse a Digital Link path as sent (percent-escapes intact), one segment at a time; None if malformed.

    A trailing `/{action}` (one of `actions`) after the GS1 part is ours (e.g. `opened`); one empty
    trailing segment (a trailing slash) is ignored. Any query string must already be cut off.
    """
    parts = raw_path.split("/")
    if parts[-1] == "" and len(parts) > 3:
        parts = parts[:-1]
    if len(parts) < 3 or parts[0] != "" or parts[1] != "01":
        return None
    gtin = gtin14(_decode(parts[2]))
    if gtin is None:
        return None
    rest, values = parts[3:], dict[str, str]()
    for key in ("10", "21"):
        if len(rest) >= 2 and rest[0] == key:
            value = ai_value(_decode(rest[1]))
            if value is None:
                return None
            values[key], rest = value, rest[2:]
    action = None
    if len(rest) == 1 and rest[0] in actions:
        action, rest = rest[0], []
    if rest:
        return None
    return DigitalLink(gtin, values.get("10"), values.get("21"), action)


def _decode(segment: str) -> str | None:
    try:
        return unquote_to_bytes(segment).decode("utf-8")
    except UnicodeDecodeError:
        return None


# ---- GS1 company prefixes (GS1 General Specifications §1.4.2, Figure 1.4.2-1) ----------------------
# A company prefix is written in GTIN-13 form (4-12 digits); a GTIN-14 `i + body13` lies under it when
# `body13` starts with it. These GS1 prefixes issue no company prefixes: a GTIN-8 in GTIN-13 form
# (00000), restricted circulation numbers (02, 04, 2), coupons (05, 98, 99), ISSN/ISBN/ISMN (977-979).
COMPANY_PREFIX = re.compile(r"^[0-9]{4,12}$")
NOT_COMPANY_PREFIXES = ("00000", "02", "04", "05", "2", "977", "978", "979", "98", "99")


def company_prefix_problem(prefix: object) -> str | None:
    """Why `prefix` is not a GS1 company prefix farmtrace can register (None: it is one)."""
    if not isinstance(prefix, str) or not COMPANY_PREFIX.match(prefix):
        return "厂商识别代码为 4-12 位数字 (GTIN-13 形式)。A GS1 company prefix is 4-12 digits, in GTIN-13 form."
    reserved = next((p for p in NOT_COMPANY_PREFIXES if prefix.startswith(p)), None)
    if reserved is not None:
        return (f"以 {reserved} 开头的号段不是厂商识别代码 (店内码、GTIN-8、优惠券或书刊号)。GS1 prefix {reserved} "
                "issues no company prefixes (restricted circulation, GTIN-8, coupons or ISSN/ISBN).")
    return None


def is_gtin8(gtin: str) -> bool:
    """Whether a 14-digit GTIN is a GTIN-8 (GTIN-8s are allocated one by one, never under a company prefix)."""
    return gtin.startswith("000000")


def under_prefix(gtin: str, prefix: str) -> bool:
    """Whether the 14-digit `gtin` lies under company prefix `prefix`: its digits after the indicator start with it."""
    return len(gtin) == 14 and gtin[1:].startswith(prefix)


def prefixes_overlap(a: str, b: str) -> bool:
    """Whether two company prefixes share GTINs (one starts with the other)."""
    return a.startswith(b) or b.startswith(a)


SERIAL = re.compile(r"^([\x21-\x7e]*?)(\d+)$")  # a serial (AI 21): any prefix, then its running number
SerialRange = tuple[str, int, int, int]  # (prefix, first number, last number, digit count)


def serial_ranges(canonicals: Iterable[str]) -> list[SerialRange]:
    """The serial ranges of a lot's `commissioned` events (their canonical texts), in log order."""
    out = []
    for canonical in canonicals:
        data = json.loads(canonical).get("data", {})
        first, last = SERIAL.match(str(data.get("first_serial", ""))), SERIAL.match(str(data.get("last_serial", "")))
        if first is None or last is None or first.group(1) != last.group(1):
            continue
        out.append((first.group(1), int(first.group(2)), int(last.group(2)), len(first.group(2))))
    return out

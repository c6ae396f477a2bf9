"""GS1 identifiers as the consumer's QR code carries them (GS1 Digital Link 1.x, GS1 General Specifications).

- A GTIN has 8, 12, 13 or 14 digits, the last a mod-10 check digit; Digital Link always uses
  the 14-digit form (left-padded with zeros), so that is the form we store and compare.
- AI 10 (batch/lot) and AI 21 (serial) are 1-20 characters of GS1 AI encodable character set 82.
"""

from __future__ import annotations

import re

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

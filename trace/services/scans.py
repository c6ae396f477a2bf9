"""Scans of serialised units (baijiu bottles): counted, compared, and flagged when they look counterfeit.

A scan is not a ledger event (domain.md): it is counted in `scans` with a coarse place (a keyed
hash of the phone's network, /24 for IPv4, /48 for IPv6) and a keyed hash of an anonymous
cookie: no address, no identity is stored (PIPL).

Rules (thresholds are ours, documented in docs/consumer.md):
1. unknown_serial: the serial is in no `commissioned` range of the lot: not a bottle we signed.
2. after_opened: the unit was marked opened ("I opened it" with the code under its cap, or a
   retailer's `sell` naming the serial), and a different phone scans it later: a refilled bottle.
3. too_many_scans: more than MAX_DEVICES different phones scanned the serial. Requests are not
   counted: a phone (its cookie) counts once however often it reloads, and each network counts
   at most NETWORK_SHARE phones, so one person clearing cookies on one network adds at most
   NETWORK_SHARE, and flagging takes phones on at least MAX_DEVICES // NETWORK_SHARE + 1 networks.
4. too_many_places: the phones counted by rule 3 were first seen on more than MAX_PLACES
   networks (a phone that moves from home Wi-Fi to mobile data adds no place).
Marking opened needs the bottle's cap code (farmtrace.services.cap_codes): `mark_opened`.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import text

from farmtrace.storage.models import Scan
from farmtrace.storage.uow import utc_aware

from farmtrace.ledger.errors import InvalidRequestError
from farmtrace.rules.gs1 import SERIAL, serial_ranges
from farmtrace.services.cap_codes import check_cap_code
from farmtrace.services.ledger import Ledger

MAX_DEVICES = 10
NETWORK_SHARE = 3
MAX_PLACES = 5
FLAG_TEXT = {
    "unknown_serial": ("此序列号不属于该批次已赋码的酒瓶：疑似假冒。", "This serial was never issued for this lot: possibly counterfeit."),
    "after_opened": ("此瓶已被标记为开启或售出，之后又被另一部手机扫描：疑似回收灌装。",
                     "This bottle was already marked opened or sold, then scanned by another phone: possibly refilled."),
    "too_many_scans": (f"此序列号被超过 {MAX_DEVICES} 部不同的手机扫描（每个网络至多计 {NETWORK_SHARE} 部）：疑似复制的标签。",
                       f"This serial was scanned by over {MAX_DEVICES} different phones (at most {NETWORK_SHARE} "
                       "counted per network): possibly a copied label."),
    "too_many_places": (f"此序列号在超过 {MAX_PLACES} 个不同网络被不同的手机扫描：疑似复制的标签。",
                        f"This serial was scanned by different phones on over {MAX_PLACES} networks: "
                        "possibly a copied label."),
}


@dataclass(frozen=True)
class _ScanRow:
    id: int
    kind: str
    at: datetime
    place: str
    client: str


@dataclass
class ScanVerdict:
    serial: str
    known: bool
    scans: int = 0  # requests, as shown on the page
    devices: int = 0  # phones as rule 3 counts them
    places: int = 0  # networks as rule 4 counts them
    has_code: bool = False  # a cap code was issued: the bottle can be marked opened
    opened_at: datetime | None = None
    sold_at: str | None = None
    sold_by: str | None = None
    flags: list[str] = field(default_factory=list)


def keyed(secret: str, purpose: str, value: str) -> str:
    """A short keyed hash: stable per instance, useless to anyone without its secret."""
    return hmac.new(secret.encode(), f"{purpose}\n{value}".encode(), hashlib.sha256).hexdigest()[:32]


def place_of(secret: str, address: str | None) -> str:
    """The coarse place of a client address: a keyed hash of its /24 (IPv4) or /48 (IPv6) network."""
    try:
        ip = ipaddress.ip_address(address or "")
        net = ipaddress.ip_network(f"{ip}/{24 if ip.version == 4 else 48}", strict=False)
        return keyed(secret, "place", str(net))
    except ValueError:
        return keyed(secret, "place", "unknown")


_LOT_EVENTS = text("SELECT type, canonical, at, org_id FROM events WHERE batch_id = :b "
                   "AND type IN ('commissioned', 'sell') ORDER BY seq")
_HAS_CODE = text("SELECT 1 FROM cap_codes WHERE batch_id = :b AND serial = :s")
_SCANS = text("SELECT id, kind, at, place, client FROM scans WHERE batch_id = :b AND serial = :s ORDER BY id")


def _issued(events: list[Any], serial: str) -> bool:
    """Whether `serial` lies in a range the lot's `commissioned` events issued."""
    match = SERIAL.match(serial)
    if match is None:
        return False
    prefix, digits = match.groups()
    ranges = serial_ranges(str(canonical) for kind, canonical, _at, _org in events if kind == "commissioned")
    return any(p == prefix and width == len(digits) and first <= int(digits) <= last
               for p, first, last, width in ranges)


def _spread(rows: list[_ScanRow]) -> tuple[int, int]:
    """(phones, networks) as rules 3 and 4 count them: each phone once, in the order first seen, and at
    most NETWORK_SHARE phones per network; a network counts only through a phone counted there."""
    counted: set[str] = set()
    per_network: dict[str, int] = {}
    for r in rows:
        if r.kind != "scan" or r.client in counted or per_network.get(r.place, 0) >= NETWORK_SHARE:
            continue
        counted.add(r.client)
        per_network[r.place] = per_network.get(r.place, 0) + 1
    return len(counted), len(per_network)


def _sale(events: list[Any], serial: str) -> tuple[str, str] | None:
    """(at, org) of a `sell` of the lot that names this serial (data.serial or data.serials)."""
    for kind, canonical, at, org in events:
        if kind != "sell":
            continue
        data = json.loads(str(canonical)).get("data", {})
        named = data.get("serials") if isinstance(data.get("serials"), list) else [data.get("serial")]
        if serial in named:
            return str(at), str(org)
    return None


def record_scan(ledger: Ledger, batch_id: str, serial: str, *, place: str, client: str) -> ScanVerdict:
    """Count one scan of a serial and return what the scans so far say."""
    def command(uow: Any) -> None:
        uow.add(Scan(batch_id=batch_id, serial=serial, kind="scan", place=place, client=client))
    ledger.write(command)
    return verdict(ledger, batch_id, serial)


def mark_opened(ledger: Ledger, batch_id: str, serial: str, code: str, *, place: str, client: str) -> ScanVerdict:
    """The consumer's "I opened it": recorded only with the code printed under this bottle's cap.

    Raises:
        InvalidRequestError (field `code`): no code typed, or not this bottle's code; nothing is written.
    """
    if not code.strip():
        raise InvalidRequestError("请输入瓶盖内的开盖码。Type the code printed under the cap.", field="code")
    if not check_cap_code(ledger, batch_id, serial, code):
        raise InvalidRequestError("开盖码不正确，未标记开启。The code does not match this bottle; nothing was marked.",
                                  field="code")

    def command(uow: Any) -> None:
        already = uow.connection.execute(text("SELECT 1 FROM scans WHERE batch_id = :b AND serial = :s "
                                              "AND kind = 'opened'"), {"b": batch_id, "s": serial}).first()
        if already is None:
            uow.add(Scan(batch_id=batch_id, serial=serial, kind="opened", place=place, client=client))
    ledger.write(command)
    return verdict(ledger, batch_id, serial)


def verdict(ledger: Ledger, batch_id: str, serial: str) -> ScanVerdict:
    """What the recorded scans of one serial say (rules 1-4 above): one read of the lot and the scans."""
    with ledger.uow() as uow:
        events = list(uow.connection.execute(_LOT_EVENTS, {"b": batch_id}))
        rows = [_ScanRow(int(r[0]), str(r[1]), _aware(r[2]), str(r[3]), str(r[4]))
                for r in uow.connection.execute(_SCANS, {"b": batch_id, "s": serial})]
        has_code = uow.connection.execute(_HAS_CODE, {"b": batch_id, "s": serial}).first() is not None
    known, sale = _issued(events, serial), _sale(events, serial)
    devices, places = _spread(rows)
    out = ScanVerdict(serial=serial, known=known, scans=sum(1 for r in rows if r.kind == "scan"),
                      devices=devices, places=places, has_code=has_code,
                      sold_at=sale[0] if sale else None, sold_by=sale[1] if sale else None)
    opened = next((r for r in rows if r.kind == "opened"), None)
    if opened is not None:
        out.opened_at = opened.at
    if not known:
        out.flags.append("unknown_serial")
    if opened is not None and any(r.id > opened.id and r.client != opened.client for r in rows):
        out.flags.append("after_opened")
    elif sale is not None:
        sold = datetime.fromisoformat(sale[0])
        buyers = {r.client for r in rows if r.at >= sold}
        if len(buyers) > 1:  # the first phone after the sale is the buyer's
            out.flags.append("after_opened")
    if out.devices > MAX_DEVICES:
        out.flags.append("too_many_scans")
    if out.places > MAX_PLACES:
        out.flags.append("too_many_places")
    return out


def _aware(moment: Any) -> datetime:
    aware = utc_aware(moment)
    assert aware is not None  # scans.at is NOT NULL
    return aware


@dataclass(frozen=True)
class Alert:
    batch: str
    serial: str
    scans: int
    places: int
    flags: list[str]
    last: datetime
    devices: int = 0


def alerts(ledger: Ledger, *, limit: int = 200) -> list[Alert]:
    """Serials whose scans look counterfeit, newest first, for the regulator's dashboard."""
    with ledger.uow() as uow:
        groups = uow.connection.execute(text(
            "SELECT batch_id, serial, MAX(at) AS last FROM scans GROUP BY batch_id, serial "
            "ORDER BY last DESC LIMIT 5000")).all()
    out = []
    for batch_id, serial, last in groups:
        v = verdict(ledger, str(batch_id), str(serial))
        if v.flags:
            out.append(Alert(str(batch_id), str(serial), v.scans, v.places, v.flags, _aware(last), v.devices))
            if len(out) >= limit:
                break
    return out

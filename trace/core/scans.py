"""Scans of serialised units (baijiu bottles): counted, compared, and flagged when they look counterfeit.

A scan is not a ledger event (domain.md): it is counted in `scans` with a coarse place (a keyed
hash of the phone's network, /24 for IPv4, /48 for IPv6) and a keyed hash of an anonymous
cookie: no address, no identity is stored (PIPL).

Rules (thresholds are ours, documented in docs/consumer.md):
1. unknown_serial: the serial is in no `commissioned` range of the lot: not a bottle we signed.
2. after_opened: the unit was marked opened ("I opened it", or a retailer's `sell` naming the
   serial), and a different phone scans it later: a refilled bottle.
3. too_many_scans: more than MAX_SCANS scans of one serial.
4. too_many_places: scans from more than MAX_PLACES different networks.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import text

from farmtrace.storage.models import Scan
from farmtrace.storage.uow import utc_aware

from .errors import InvalidRequestError
from .ledger import Ledger

MAX_SCANS = 20
MAX_PLACES = 3
SERIAL = re.compile(r"^([\x21-\x7e]*?)(\d+)$")
FLAG_TEXT = {
    "unknown_serial": ("此序列号不属于该批次已赋码的酒瓶：疑似假冒。", "This serial was never issued for this lot: possibly counterfeit."),
    "after_opened": ("此瓶已被标记为开启或售出，之后又被另一部手机扫描：疑似回收灌装。",
                     "This bottle was already marked opened or sold, then scanned by another phone: possibly refilled."),
    "too_many_scans": (f"此序列号被扫描次数异常（超过 {MAX_SCANS} 次）：疑似复制的标签。",
                       f"This serial was scanned unusually often (over {MAX_SCANS} times): possibly a copied label."),
    "too_many_places": (f"此序列号在超过 {MAX_PLACES} 个不同网络被扫描：疑似复制的标签。",
                        f"This serial was scanned from over {MAX_PLACES} different networks: possibly a copied label."),
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
    scans: int = 0
    places: int = 0
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
_SCANS = text("SELECT id, kind, at, place, client FROM scans WHERE batch_id = :b AND serial = :s ORDER BY id")


def _issued(events: list[Any], serial: str) -> bool:
    """Whether `serial` lies in a range the lot's `commissioned` events issued."""
    match = SERIAL.match(serial)
    if match is None:
        return False
    prefix, digits = match.groups()
    for kind, canonical, _at, _org in events:
        if kind != "commissioned":
            continue
        data = json.loads(str(canonical)).get("data", {})
        first, last = SERIAL.match(str(data.get("first_serial", ""))), SERIAL.match(str(data.get("last_serial", "")))
        if first is None or last is None or first.group(1) != prefix or len(first.group(2)) != len(digits):
            continue
        if int(first.group(2)) <= int(digits) <= int(last.group(2)):
            return True
    return False


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


def record_scan(ledger: Ledger, batch_id: str, serial: str, *, place: str, client: str,
                kind: str = "scan") -> ScanVerdict:
    """Count one scan (or an "opened" mark) of a serial and return what the scans so far say."""
    if kind not in ("scan", "opened"):
        raise InvalidRequestError("kind must be scan or opened", field="kind")

    def command(uow: Any) -> None:
        uow.add(Scan(batch_id=batch_id, serial=serial, kind=kind, place=place, client=client))
    ledger.write(command)
    return verdict(ledger, batch_id, serial)


def verdict(ledger: Ledger, batch_id: str, serial: str) -> ScanVerdict:
    """What the recorded scans of one serial say (rules 1-4 above): one read of the lot and the scans."""
    with ledger.uow() as uow:
        events = list(uow.connection.execute(_LOT_EVENTS, {"b": batch_id}))
        rows = [_ScanRow(int(r[0]), str(r[1]), _aware(r[2]), str(r[3]), str(r[4]))
                for r in uow.connection.execute(_SCANS, {"b": batch_id, "s": serial})]
    known, sale = _issued(events, serial), _sale(events, serial)
    out = ScanVerdict(serial=serial, known=known, scans=sum(1 for r in rows if r.kind == "scan"),
                      places=len({r.place for r in rows}),
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
    if out.scans > MAX_SCANS:
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
            out.append(Alert(str(batch_id), str(serial), v.scans, v.places, v.flags, _aware(last)))
            if len(out) >= limit:
                break
    return out

"""When an event may say it happened: the append-time rules for `at`.

Rules (issue 11, "Event times"; docs/security.md), checked on every append path (custodial,
pre-signed, batch) from `append._admit`:
1. `at` is at most MAX_CLOCK_SKEW after the server's clock: a device clock may run a little fast,
   a claim about the future may not.
2. `at` is not before EARLIEST_AT (a tablet whose clock was reset to 1970 is told so).
3. `at` is not before the `at` of the chain's previous event (`prev`), nor, for a `receive`, before
   the ship it names, nor, for a `transform`, before any input's consume event it names (the input's
   chain head when it was consumed).

Times are compared as instants (offsets differ: `+08:00`, `Z`), and the previous event's time at
one-second resolution, since the server writes `at` to the second. An entry made offline keeps
its `at`: it is accepted when it syncs, provided rules 1-3 hold then.

These are append-time rules: the verifiers (verify.py, bundle.py, verify.js) do not apply them,
so a log written before them still verifies.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from farmtrace.ledger.errors import EventTimeError, Said
from farmtrace.ledger.events import EventBody
from farmtrace.services.transaction import AppendTx

if TYPE_CHECKING:
    from farmtrace.storage.uow import BatchRow


MAX_CLOCK_SKEW = timedelta(minutes=10)
"""How far ahead of the server's clock an `at` may be (a device clock running fast)."""
CHINA = timezone(timedelta(hours=8))
EARLIEST_AT = datetime(2000, 1, 1, tzinfo=CHINA)
"""No event of this ledger happened before this instant (2000-01-01T00:00:00+08:00)."""


def instant(at: str) -> datetime:
    """An RFC 3339 `at` (already validated by EventBody) as an aware datetime."""
    return datetime.fromisoformat(at.replace("Z", "+00:00"))


def time_problem(at: datetime, *, now: datetime, after: Sequence[tuple[str, str, str]] = ()) -> str | None:
    """Why an event at `at` cannot be appended now (None: it can), as a Said: the text, Chinese then English,
    that the API has always given, with the Chinese alone as its `zh`.

    Args:
        at: when the event says it happened.
        now: the server's clock.
        after: (what in Chinese, what in English, its `at`) for each event this one must not precede.
    """
    if at > now + MAX_CLOCK_SKEW:
        zh, en = _span(at - now)
        minutes = int(MAX_CLOCK_SKEW.total_seconds() // 60)
        return Said(f"at {at.isoformat()} 比服务器时间晚 {zh}，超过允许的 {minutes} 分钟时钟误差：请校正设备时钟后再提交。"
                    f"at is {en} ahead of the server's clock ({now.isoformat(timespec='seconds')}); at most "
                    f"{minutes} minutes are allowed: set the device's clock and submit again.",
                    f"记录时间 {at.isoformat()} 比服务器时间晚 {zh}，超过允许的 {minutes} 分钟时钟误差："
                    "请校正设备时钟后再提交。")
    if at < EARLIEST_AT:
        return Said(f"at {at.isoformat()} 早于 {EARLIEST_AT.isoformat()}：设备时钟可能被重置，请校正后再提交。"
                    f"at is before {EARLIEST_AT.isoformat()}: the device's clock was probably reset; set it and "
                    "submit again.",
                    f"记录时间 {at.isoformat()} 早于 {EARLIEST_AT.isoformat()}：设备时钟可能被重置，请校正后再提交。")
    for zh, en, earlier in after:
        if at < instant(earlier).replace(microsecond=0):
            return Said(f"at {at.isoformat()} 早于{zh}的时间 {earlier}：记录须按发生的先后顺序追加，请检查设备时钟。"
                        f"at is before {en} ({earlier}): events are appended in the order they happened; check the "
                        "device's clock.",
                        f"记录时间 {at.isoformat()} 早于{zh}的时间 {earlier}：记录须按发生的先后顺序追加，请检查设备时钟。")
    return None


def _span(delta: timedelta) -> tuple[str, str]:
    """A time span as people say it, in Chinese and in English: minutes, hours or days."""
    minutes = int(delta.total_seconds() // 60)
    if minutes < 120:
        return f"{minutes} 分钟", f"{minutes} minutes"
    if minutes < 48 * 60:
        return f"{minutes // 60} 小时", f"{minutes // 60} hours"
    return f"{minutes // 1440} 天", f"{minutes // 1440} days"


def default_at(tx: AppendTx, batch: BatchRow | None, draft: Mapping[str, Any]) -> str:
    """The `at` the server fills in for a custodial draft without one: now (+08:00, to the second), or
    the latest `at` it must not precede when that is later (an event from a device whose clock ran a
    little fast, or from another server), so that a server-filled time never breaks rule 3."""
    latest = now = datetime.now(CHINA).replace(microsecond=0)
    text = now.isoformat()
    for event in _followed(batch, draft):
        earlier = tx.at_of(event)
        if earlier is not None and instant(earlier) > latest:
            latest, text = instant(earlier), earlier
    return text


def _followed(batch: BatchRow | None, draft: Mapping[str, Any]) -> list[str]:
    """Hashes of the events a draft follows: its chain head, and a transformation's inputs' consume events."""
    events = [] if batch is None or batch.head is None else [batch.head]
    data = draft.get("data")
    inputs = data.get("inputs") if isinstance(data, Mapping) and draft.get("type") == "transform" else None
    if isinstance(inputs, list):
        events += [item["event"] for item in inputs
                   if isinstance(item, Mapping) and isinstance(item.get("event"), str)]
    return events


def check_event_time(tx: AppendTx, body: EventBody, batch: BatchRow | None) -> None:
    """Raise EventTimeError (field `at`) unless `body.at` may be appended now (rules 1-3)."""
    after: list[tuple[str, str, str]] = []  # the most specific first: its message is the one shown
    if body.type == "receive" and (ship_at := tx.at_of(str(body.data.get("ship")))) is not None:
        after.append(("所接收的发运 (ship)", "the ship it receives", ship_at))
    if body.type == "transform":
        for item in body.data.get("inputs", []):
            event = item.get("event") if isinstance(item, dict) else None
            if isinstance(event, str) and (input_at := tx.at_of(event)) is not None:
                after.append((f"原料批次 {item.get('batch')} 的投料 (consume)",
                              f"the consume event of input {item.get('batch')}", input_at))
    if body.prev is not None and (prev_at := tx.at_of(body.prev)) is not None:
        after.append(("本批次上一条记录", "the chain's previous event", prev_at))
    problem = time_problem(instant(body.at), now=datetime.now(timezone.utc), after=after)
    if problem is not None:
        raise EventTimeError(problem, field="at")

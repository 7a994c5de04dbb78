"""The workbench's figures at a glance, from the record: volume per channel per hour over the last
24 hours and per day over the last 30 days (the city's time), and a league table of the units over
the last 30 days (signed on time, replied on time, returns, satisfaction). :func:`league` is pure."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.records.periods import Period
from gateway.records.report import SATISFIED, Appeal, _rate, _step, read_period
from gateway.records.schema import appeals
from normalizer import SHANGHAI

HOURS, DAYS = 24, 30


def _buckets(now: datetime) -> tuple[list[datetime], list[datetime]]:
    """The starts of the last 24 hours and of the last 30 days (local), oldest first."""
    local = now.astimezone(SHANGHAI)
    hour = local.replace(minute=0, second=0, microsecond=0)
    day = local.replace(hour=0, minute=0, second=0, microsecond=0)
    hours = [hour - timedelta(hours=HOURS - 1 - i) for i in range(HOURS)]
    days = [day - timedelta(days=DAYS - 1 - i) for i in range(DAYS)]
    return hours, days


def series(received: Sequence[tuple[str, datetime]], now: datetime) -> dict[str, Any]:
    """Counts per channel per hour and per day from (channel id, received at) pairs."""
    hours, days = _buckets(now)
    hourly: dict[str, list[int]] = defaultdict(lambda: [0] * HOURS)
    daily: dict[str, list[int]] = defaultdict(lambda: [0] * DAYS)
    for channel, at in received:
        local = at.astimezone(SHANGHAI)
        h = int((local - hours[0]).total_seconds() // 3600)
        if 0 <= h < HOURS:
            hourly[channel][h] += 1
        d = (local.date() - days[0].date()).days
        if 0 <= d < DAYS:
            daily[channel][d] += 1
    return {
        "hours": [h.isoformat() for h in hours],
        "hourly": dict(sorted(hourly.items())),
        "days": [d.date().isoformat() for d in days],
        "daily": dict(sorted(daily.items())),
    }


def league(items: Sequence[Appeal], now: datetime) -> list[dict[str, Any]]:
    """Per unit: appeals, signed on time, replied on time, returns (by the unit that returned it) and
    satisfaction of the return visits; the best on-time reply rate first."""
    mine: dict[str, list[Appeal]] = defaultdict(list)
    returns: Counter[str] = Counter()
    for a in items:
        if a.unit:
            mine[a.unit].append(a)
        for event_type, _, body in a.events:
            if event_type == "returned":
                returns[str(body.get("actor") or a.unit or "")] += 1
    rows = []
    for unit in sorted(set(mine) | {u for u in returns if u}):
        own = mine.get(unit, [])
        visited = [a.satisfaction for a in own if a.satisfaction]
        satisfied = sum(1 for s in visited if s in SATISFIED)
        rows.append(
            {
                "unit": unit,
                "appeals": len(own),
                "signed": _rate(_step(a, "signed", "sign_by", now) for a in own),
                "replied": _rate(_step(a, "replied", "reply_by", now) for a in own),
                "returns": returns.get(unit, 0),
                "visited": len(visited),
                "satisfaction_rate": round(satisfied / len(visited), 4) if visited else None,
            }
        )
    return sorted(rows, key=_standing)


def _standing(row: dict[str, Any]) -> tuple[float, int, str]:
    rate: float | None = row["replied"]["rate"]
    return (-(rate or 0.0), -int(row["appeals"]), str(row["unit"]))


async def overview(engine: AsyncEngine, now: datetime) -> dict[str, Any]:
    start = now - timedelta(days=DAYS)
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                select(appeals.c.channel_id, appeals.c.received_at).where(appeals.c.received_at >= start)
            )
        ).all()
    items = await read_period(engine, Period("monthly", "30d", start, now + timedelta(seconds=1)))
    return series([(r.channel_id, r.received_at) for r in rows], now) | {"league": league(items, now)}

"""Channel and unit health reports, read from Redis: the one truth the API, ``/metrics``, the
dashboard, the alert monitor and ``hotline-gateway status`` all show."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import redis.asyncio as aioredis

from gateway.config import Config
from gateway.delivery.health import UnitHealthStore
from gateway.health.rules import (
    Counts,
    Poller,
    Thresholds,
    UnitCounts,
    channel_status,
    per_minute,
    silence,
    slot_of,
    unit_status,
    usual,
    window,
)
from gateway.health.store import HOURS, HealthStore
from gateway.store import Keys


def _iso(value: str | None, tz: Any) -> str | None:
    return datetime.fromtimestamp(float(value), tz).isoformat() if value else None


def _when(value: str | None, tz: Any) -> datetime | None:
    return datetime.fromtimestamp(float(value), tz) if value else None


def thresholds_of(config: Config) -> Thresholds:
    return Thresholds(
        poller_lag_seconds=config.gateway.alerts.poller_lag_seconds,
        unreachable_seconds=config.gateway.delivery.unreachable_alert_seconds,
    )


async def channel_reports(
    config: Config, store: HealthStore, pollers: Mapping[str, Mapping[str, Any]], now: datetime
) -> list[dict[str, Any]]:
    """Every configured channel (disabled ones too), in configuration order.

    ``pollers``: channel id -> what its adapter's ``health()`` said (empty for webhook kinds)."""
    th = thresholds_of(config)
    tz = now.tzinfo
    snapshots = await store.snapshots("channel", [c.id for c in config.channels], now)
    reports = []
    for channel in config.channels:
        snap = snapshots[channel.id]
        minutes = snap.channel_minutes()
        last5 = window(minutes, now, 5, Counts())
        last60 = window(minutes, now, 60, Counts())
        rhythm = snap.rhythm_of(tz)
        poller = Poller.of(pollers.get(channel.id, {}), now)
        last_message = _when(snap.state.get("last_message_at"), tz)
        quiet = silence(rhythm, now, last_message, th) if channel.enabled else None
        status, reasons = channel_status(
            enabled=channel.enabled, last5=last5, silent=quiet, poller=poller, th=th
        )
        reports.append(
            {
                "id": channel.id,
                "name": channel.name,
                "kind": channel.kind,
                "enabled": channel.enabled,
                "status": status,
                "reasons": reasons,
                "counts": Counts.of(snap.state).as_dict(),
                "last_5m": last5.as_dict(),
                "last_1h": last60.as_dict(),
                "rates": {
                    "received_per_minute_5m": per_minute(last5.received, 5),
                    "received_per_minute_1h": per_minute(last60.received, 60),
                    "error_share_5m": round(last5.error_share, 3),
                    "error_share_1h": round(last60.error_share, 3),
                },
                "last_message_at": last_message.isoformat() if last_message else None,
                "last_error_at": _iso(snap.state.get("last_error_at"), tz),
                "last_error": snap.state.get("last_error") or None,
                "poller": None
                if poller is None
                else {
                    "state": poller.state,
                    "lag_seconds": poller.lag_seconds,
                    "error": poller.error or None,
                },
                "usual_now": usual(rhythm, slot_of(now), now).as_dict(),
                "hourly": {
                    "received": [h["received"] for h in snap.hourly],
                    "errors": [h["rejected"] + h["failed"] for h in snap.hourly],
                },
            }
        )
    return reports


async def _oldest_pending(
    redis: aioredis.Redis, keys: Keys, units: list[str]
) -> dict[str, tuple[int, float]]:
    """unit -> (pending deliveries, when the oldest was created): the push units' running pending
    sets and the pull units' inboxes, four commands per unit in one round trip."""
    async with redis.pipeline(transaction=False) as pipe:
        for unit in units:
            for key in (keys.unit_pending(unit), keys.inbox(unit)):
                pipe.zcard(key)
                pipe.zrange(key, 0, 0, withscores=True)
        replies: list[Any] = await pipe.execute()
    found: dict[str, tuple[int, float]] = {}
    for i, unit in enumerate(units):
        chunk = replies[4 * i : 4 * i + 4]
        sizes, firsts = (int(chunk[0]), int(chunk[2])), (chunk[1], chunk[3])
        oldest = [float(first[0][1]) for size, first in zip(sizes, firsts, strict=True) if size and first]
        if sum(sizes):
            found[unit] = (sum(sizes), min(oldest))
    return found


async def unit_reports(
    config: Config,
    store: HealthStore,
    unit_health: UnitHealthStore,
    redis: aioredis.Redis,
    keys: Keys,
    now: datetime,
) -> list[dict[str, Any]]:
    """Every member unit, in configuration order, with its delivery health."""
    th = thresholds_of(config)
    tz = now.tzinfo
    ts = now.timestamp()
    ids = list(config.units)
    snapshots = await store.snapshots("unit", ids, now)
    pending = await _oldest_pending(redis, keys, ids)
    healths = await unit_health.get_many(ids)
    reports = []
    for unit in config.units.values():
        snap = snapshots[unit.id]
        health = healths[unit.id]
        minutes = snap.unit_minutes()
        last60 = window(minutes, now, 60, UnitCounts())
        day = UnitCounts()
        for hour in snap.hourly[-HOURS:]:
            day = day + UnitCounts.of(hour)
        breaker = health.breaker(ts)
        status, reasons = unit_status(
            disabled=health.disabled,
            breaker=breaker,
            consecutive_failures=health.consecutive_failures,
            failing_seconds=health.failing_for(ts),
            last_hour=last60,
            th=th,
        )
        count, oldest = pending.get(unit.id, (0, 0.0))
        rate1, rate24 = last60.success_rate, day.success_rate
        reports.append(
            {
                "id": unit.id,
                "name": unit.name,
                "level": unit.level,
                "delivery": unit.delivery,
                "status": status,
                "reasons": reasons,
                "counts": UnitCounts.of(snap.state).as_dict(),
                "last_1h": last60.as_dict(),
                "last_24h": day.as_dict(),
                "success_rate_1h": None if rate1 is None else round(rate1, 3),
                "success_rate_24h": None if rate24 is None else round(rate24, 3),
                "last_success_at": datetime.fromtimestamp(health.last_success_at, tz).isoformat()
                if health.last_success_at
                else None,
                "consecutive_failures": health.consecutive_failures,
                "breaker": breaker,
                "disabled": health.disabled or None,
                "last_error": health.last_error or None,
                "pending": count,
                "oldest_pending_at": datetime.fromtimestamp(oldest, tz).isoformat() if count else None,
            }
        )
    return reports

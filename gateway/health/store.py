"""Health counts in Redis, shared by every gateway process (Redis 6.2 commands only). Each process
counts in memory and adds its counts to Redis once a second (:meth:`HealthStore.flush`), and
before it reads a report, so a message costs no Redis call of its own.

``hl:health:<subject>:<id>``             hash: lifetime totals per outcome, ``last_message_at``,
                                         ``last_error_at``, ``last_error`` (subject: channel or unit)
``hl:health:<subject>:<id>:h:<hour>``    hash per epoch hour: totals per outcome and per minute
                                         (``m<epoch minute>:<outcome>``); expires after 26 hours
``hl:health:channel:<id>:rhythm``        hash: ``since`` (observation began), ``<weekday>:<hour>:hours``
                                         (hours of that slot with traffic), ``<weekday>:<hour>:messages``
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import redis.asyncio as aioredis

from gateway.health.rules import (
    OUTCOMES,
    UNIT_OUTCOMES,
    Counts,
    Rhythm,
    UnitCounts,
    hour_of,
    minute_of,
    slot_of,
)
from gateway.lua import Script
from gateway.store import Keys, decode_hash, text

BUCKET_TTL = 26 * 3600
HOURS = 24

_FLUSH = (
    ("bucket", "state", "rhythm"),
    ("ttl", "slot", "last_message_at", "error_at", "error", "counts"),
    """
for _, c in ipairs(cjson.decode(A.counts)) do
  local minute, f, count = c[1], c[2], c[3]
  local n = redis.call('HINCRBY', K.bucket, f, count)
  redis.call('HINCRBY', K.bucket, 'm' .. minute .. ':' .. f, count)
  redis.call('HINCRBY', K.state, f, count)
  if f == 'received' and A.slot ~= '' then
    if n == count then redis.call('HINCRBY', K.rhythm, A.slot .. ':hours', 1) end
    redis.call('HINCRBY', K.rhythm, A.slot .. ':messages', count)
  end
end
redis.call('EXPIRE', K.bucket, A.ttl)
if A.last_message_at ~= '' then redis.call('HSET', K.state, 'last_message_at', A.last_message_at) end
if A.error ~= '' then redis.call('HSET', K.state, 'last_error_at', A.error_at, 'last_error', A.error) end
return 1
""",
)


@dataclass
class _Pending:
    """One subject's counts in one epoch hour, not yet in Redis."""

    slot: str
    counts: Counter[tuple[int, str]] = field(default_factory=Counter)  # (minute, outcome) -> n
    last_message_at: float = 0.0
    error_at: float = 0.0
    error: str = ""


@dataclass(frozen=True)
class Snapshot:
    """What Redis holds about one channel or unit, read in one round trip."""

    state: dict[str, str]
    minutes: dict[int, dict[str, int]]
    hourly: list[dict[str, int]]  # the last 24 hours, oldest first
    rhythm: dict[str, str]

    def channel_minutes(self) -> dict[int, Counts]:
        return {m: Counts.of(v) for m, v in self.minutes.items()}

    def unit_minutes(self) -> dict[int, UnitCounts]:
        return {m: UnitCounts.of(v) for m, v in self.minutes.items()}

    def rhythm_of(self, tz: Any) -> Rhythm:
        return Rhythm.of(self.rhythm, tz)


class HealthStore:
    def __init__(self, redis: aioredis.Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys
        self._flush = Script(redis, *_FLUSH)
        self._pending: dict[tuple[str, str, int], _Pending] = {}

    def state_key(self, subject: str, id_: str) -> str:
        return self.keys.health(subject, id_)

    def bucket_key(self, subject: str, id_: str, hour: int) -> str:
        return self.keys.health_hour(subject, id_, hour)

    def rhythm_key(self, channel_id: str) -> str:
        return self.keys.rhythm(channel_id)

    def record(self, subject: str, id_: str, outcomes: Sequence[str], now: datetime, error: str = "") -> None:
        """Count ``outcomes`` (e.g. received and rejected) for a channel or unit at ``now``; in memory
        until the next :meth:`flush` (no Redis call per message)."""
        hour = hour_of(now)
        slot = "{}:{}".format(*slot_of(now)) if subject == "channel" else ""
        pending = self._pending.setdefault((subject, id_, hour), _Pending(slot))
        minute, ts = minute_of(now), now.timestamp()
        for outcome in outcomes:
            pending.counts[(minute, outcome)] += 1
            if outcome == "received":
                pending.last_message_at = max(pending.last_message_at, ts)
        if error:
            pending.error_at, pending.error = ts, error[:300]

    async def flush(self) -> None:
        """Add the counts kept in memory to Redis, in one round trip. Counts a failed flush could
        not write are kept for the next one."""
        pending, self._pending = self._pending, {}
        if not pending:
            return
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for (subject, id_, hour), p in pending.items():
                    counts = [[minute, outcome, n] for (minute, outcome), n in p.counts.items()]
                    await self._flush(
                        keys={
                            "bucket": self.bucket_key(subject, id_, hour),
                            "state": self.state_key(subject, id_),
                            "rhythm": self.rhythm_key(id_),
                        },
                        args={
                            "ttl": BUCKET_TTL,
                            "slot": p.slot,
                            "last_message_at": repr(p.last_message_at) if p.last_message_at else "",
                            "error_at": repr(p.error_at),
                            "error": p.error,
                            "counts": json.dumps(counts),
                        },
                        client=pipe,
                    )
                await pipe.execute()
        except BaseException:
            for key, p in pending.items():
                kept = self._pending.setdefault(key, _Pending(p.slot))
                kept.counts.update(p.counts)
                kept.last_message_at = max(kept.last_message_at, p.last_message_at)
                if p.error and p.error_at >= kept.error_at:
                    kept.error_at, kept.error = p.error_at, p.error
            raise

    async def begin_observing(self, channel_ids: Iterable[str], now: datetime) -> None:
        """Mark when the rhythm of each channel began to be observed (kept from the first start)."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for channel_id in channel_ids:
                pipe.hsetnx(self.rhythm_key(channel_id), "since", now.timestamp())
            await pipe.execute()

    async def snapshots(self, subject: str, ids: Sequence[str], now: datetime) -> dict[str, Snapshot]:
        """For each id: totals and last times, minute buckets of the last hour, 24 hourly totals."""
        hour = hour_of(now)
        outcomes = OUTCOMES if subject == "channel" else UNIT_OUTCOMES
        async with self.redis.pipeline(transaction=False) as pipe:
            for id_ in ids:
                pipe.hgetall(self.state_key(subject, id_))
                pipe.hgetall(self.bucket_key(subject, id_, hour - 1))
                pipe.hgetall(self.bucket_key(subject, id_, hour))
                for h in range(hour - HOURS + 1, hour - 1):
                    pipe.hmget(self.bucket_key(subject, id_, h), list(outcomes))
                if subject == "channel":
                    pipe.hgetall(self.rhythm_key(id_))
            replies: list[Any] = await pipe.execute()
        result: dict[str, Snapshot] = {}
        per = 3 + (HOURS - 2) + (1 if subject == "channel" else 0)
        for i, id_ in enumerate(ids):
            chunk = replies[i * per : (i + 1) * per]
            previous, current = decode_hash(chunk[1]), decode_hash(chunk[2])
            minutes: dict[int, dict[str, int]] = {}
            for bucket in (previous, current):
                for name, value in bucket.items():
                    if name.startswith("m"):
                        minute, _, outcome = name[1:].partition(":")
                        minutes.setdefault(int(minute), {})[outcome] = int(value)
            hourly = [
                {o: int(text(v)) if v is not None else 0 for o, v in zip(outcomes, values, strict=True)}
                for values in chunk[3 : 3 + HOURS - 2]
            ]
            hourly += [{o: int(b.get(o, 0)) for o in outcomes} for b in (previous, current)]
            rhythm = decode_hash(chunk[-1]) if subject == "channel" else {}
            result[id_] = Snapshot(decode_hash(chunk[0]), minutes, hourly, rhythm)
        return result

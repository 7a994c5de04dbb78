"""Health counts in Redis, shared by every gateway process (Redis 6.2 commands only).

``hl:health:<subject>:<id>``             hash: lifetime totals per outcome, ``last_message_at``,
                                         ``last_error_at``, ``last_error`` (subject: channel or unit)
``hl:health:<subject>:<id>:h:<hour>``    hash per epoch hour: totals per outcome and per minute
                                         (``m<epoch minute>:<outcome>``); expires after 26 hours
``hl:health:channel:<id>:rhythm``        hash: ``since`` (observation began), ``<weekday>:<hour>:hours``
                                         (hours of that slot with traffic), ``<weekday>:<hour>:messages``
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
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
from gateway.store import Keys, decode_hash, text

BUCKET_TTL = 26 * 3600
HOURS = 24

_RECORD = """
local first = 0
for i = 6, #ARGV do
  local f = ARGV[i]
  local n = redis.call('HINCRBY', KEYS[1], f, 1)
  redis.call('HINCRBY', KEYS[1], 'm' .. ARGV[2] .. ':' .. f, 1)
  redis.call('HINCRBY', KEYS[2], f, 1)
  if f == 'received' then
    redis.call('HSET', KEYS[2], 'last_message_at', ARGV[4])
    if ARGV[3] ~= '' then
      if n == 1 then redis.call('HINCRBY', KEYS[3], ARGV[3] .. ':hours', 1) end
      redis.call('HINCRBY', KEYS[3], ARGV[3] .. ':messages', 1)
    end
  end
end
redis.call('EXPIRE', KEYS[1], ARGV[1])
if ARGV[5] ~= '' then redis.call('HSET', KEYS[2], 'last_error_at', ARGV[4], 'last_error', ARGV[5]) end
return 1
"""


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
        self._record = redis.register_script(_RECORD)

    def state_key(self, subject: str, id_: str) -> str:
        return self.keys.k("health", subject, id_)

    def bucket_key(self, subject: str, id_: str, hour: int) -> str:
        return self.keys.k("health", subject, id_, "h", str(hour))

    def rhythm_key(self, channel_id: str) -> str:
        return self.keys.k("health", "channel", channel_id, "rhythm")

    async def record(
        self, subject: str, id_: str, outcomes: Sequence[str], now: datetime, error: str = ""
    ) -> None:
        """Count ``outcomes`` (e.g. received and rejected) for a channel or unit at ``now``."""
        slot = "{}:{}".format(*slot_of(now)) if subject == "channel" else ""
        await self._record(
            keys=[
                self.bucket_key(subject, id_, hour_of(now)),
                self.state_key(subject, id_),
                self.rhythm_key(id_),
            ],
            args=[BUCKET_TTL, minute_of(now), slot, now.timestamp(), error[:300], *outcomes],
        )

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

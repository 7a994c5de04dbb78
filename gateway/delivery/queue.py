"""Delivery records and their schedule in Redis.

``hl:delivery:<id>``        hash: appeal_no, unit, attempts, status (pending|delivered|dead), ...
``hl:delivery:schedule``    sorted set: delivery id -> when it is next due (epoch seconds)
``hl:delivery:dead``        sorted set: dead-lettered delivery ids -> when they died
``hl:unit:<id>:pending``    sorted set: a push unit's deliveries not yet delivered or dead (a running
                            count for the unit health report)

A worker *claims* due deliveries by pushing their due time a lease ahead; if it dies mid-send, the
lease runs out and another worker takes them. The delivery id is the ``webhook-id``: the same on
every retry, so a unit can drop a repeat.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
import redis.asyncio as aioredis

from gateway.config import DeliverySettings
from gateway.credentials import UnitCredentials
from gateway.delivery.health import UnitHealth
from gateway.lua import Script
from gateway.store import Keys, decode_hash, text

# Claim due deliveries (their due time pushed a lease ahead) and return, for each, everything a
# send needs: the delivery record, the appeal, the unit's health and credentials.
_CLAIM = (
    ("schedule",),
    ("now", "limit", "lease_until", "delivery_tpl", "appeal_tpl", "health_tpl", "credentials_tpl"),
    """
local ids = redis.call('ZRANGEBYSCORE', K.schedule, '-inf', A.now, 'LIMIT', 0, tonumber(A.limit))
local out = {}
for _, id in ipairs(ids) do
  local d = redis.call('HGETALL', key_of(A.delivery_tpl, id))
  if #d == 0 then
    redis.call('ZREM', K.schedule, id)  -- its appeal is gone (retention): never claimed again
  else
    redis.call('ZADD', K.schedule, A.lease_until, id)
  end
  local no, unit = '', ''
  for i = 1, #d, 2 do
    if d[i] == 'appeal_no' then no = d[i + 1] elseif d[i] == 'unit' then unit = d[i + 1] end
  end
  local appeal = redis.call('HGET', key_of(A.appeal_tpl, no), 'appeal') or ''
  out[#out + 1] = {id, d, appeal, redis.call('HGETALL', key_of(A.health_tpl, unit)),
                   redis.call('HGETALL', key_of(A.credentials_tpl, unit))}
end
return out
""",
)

# A delivered attempt: the record, the schedule, the unit's pending set and its health, together;
# returns how many consecutive failures it ended.
_DELIVERED = (
    ("delivery", "schedule", "pending", "health"),
    ("id", "at", "status", "now"),
    """
redis.call('HSET', K.delivery, 'status', 'delivered', 'delivered_at', A.at, 'last_status', A.status)
redis.call('HINCRBY', K.delivery, 'attempts', 1)
redis.call('ZREM', K.schedule, A.id)
redis.call('ZREM', K.pending, A.id)
local before = redis.call('HGET', K.health, 'consecutive_failures') or '0'
redis.call('HSET', K.health, 'consecutive_failures', 0, 'last_success_at', A.now, 'open_until', 0)
redis.call('HDEL', K.health, 'first_failure_at')
return tonumber(before)
""",
)


def _pairs(flat: list[Any]) -> dict[str, str]:
    return {text(flat[i]): text(flat[i + 1]) for i in range(0, len(flat), 2)}


@dataclass(frozen=True)
class Claimed:
    """A claimed delivery with what its send needs (read in the claim's round trip)."""

    record: DeliveryRecord
    appeal: dict[str, Any] | None
    """The appeal as stored (its JSON decoded: the unit's view is made from it, no model needed)."""
    health: UnitHealth
    credentials: UnitCredentials | None


@dataclass(frozen=True)
class DeliveryRecord:
    id: str
    appeal_no: str
    unit: str
    attempts: int
    status: str
    created_at: str
    last_error: str
    assignment: str
    event_type: str

    @classmethod
    def from_hash(cls, delivery_id: str, data: Mapping[Any, Any]) -> DeliveryRecord:
        f = decode_hash(data)
        return cls(
            id=delivery_id,
            appeal_no=f["appeal_no"],
            unit=f["unit"],
            attempts=int(f.get("attempts", 0)),
            status=f.get("status", "pending"),
            created_at=f["created_at"],
            last_error=f.get("last_error", ""),
            assignment=f.get("assignment", ""),
            event_type=f.get("event_type", ""),
        )


def new_delivery(*, appeal_no: str, unit: str, event_type: str, data: str, at: str) -> dict[str, str]:
    """The fields of a new delivery record (written by the loop's assignment script, or by
    :meth:`DeliveryQueue.add`): pending, no attempt yet."""
    return {
        "appeal_no": appeal_no,
        "unit": unit,
        "attempts": "0",
        "status": "pending",
        "created_at": at,
        "assignment": data,
        "event_type": event_type,
    }


def next_wait(settings: DeliverySettings, attempts: int, age: float, rng: random.Random) -> float | None:
    """Seconds before attempt ``attempts + 1`` of a delivery created ``age`` seconds ago; None when
    it is spent (the schedule, then ``then_every_seconds`` until ``give_up_after_seconds``)."""
    if attempts < len(settings.retry_schedule):
        base = settings.retry_schedule[attempts]
    elif settings.then_every_seconds:
        base = settings.then_every_seconds
    else:
        return None
    wait = base * (1 + rng.random() * settings.jitter)
    if age + wait > settings.give_up_after_seconds:
        return None
    return wait


class DeliveryQueue:
    def __init__(self, redis: aioredis.Redis, keys: Keys, settings: DeliverySettings) -> None:
        self.redis = redis
        self.keys = keys
        self.settings = settings
        self._claim = Script(redis, *_CLAIM)
        self._delivered = Script(redis, *_DELIVERED)
        self._rng = random.Random()

    async def claim_due(self, now: float, limit: int, lease: float) -> list[Claimed]:
        """Up to ``limit`` due deliveries, each leased for ``lease`` seconds, in one round trip."""
        k = self.keys
        rows: list[Any] = await self._claim(
            keys={"schedule": k.delivery_schedule},
            args={
                "now": now,
                "limit": limit,
                "lease_until": now + lease,
                "delivery_tpl": k.delivery("{}"),
                "appeal_tpl": k.appeal("{}"),
                "health_tpl": k.unit_health("{}"),
                "credentials_tpl": k.unit_credentials("{}"),
            },
        )
        claimed = []
        for raw_id, delivery, appeal, health, creds in rows:
            if not delivery:
                continue  # a stale schedule entry
            record = DeliveryRecord.from_hash(text(raw_id), _pairs(delivery))
            claimed.append(
                Claimed(
                    record,
                    orjson.loads(appeal) if appeal else None,
                    UnitHealth.from_fields(record.unit, _pairs(health)),
                    UnitCredentials.from_fields(record.unit, _pairs(creds)),
                )
            )
        return claimed

    async def get(self, delivery_id: str) -> DeliveryRecord | None:
        data = await self.redis.hgetall(self.keys.delivery(delivery_id))
        return DeliveryRecord.from_hash(delivery_id, data) if data else None

    async def add(
        self,
        delivery_id: str,
        *,
        appeal_no: str,
        unit: str,
        event_type: str,
        data: str,
        at: str,
        due: float,
        pull: bool,
    ) -> bool:
        """A delivery that is not an assignment (a reminder); False when that id already exists."""
        key = self.keys.delivery(delivery_id)
        if not await self.redis.hsetnx(key, "appeal_no", appeal_no):
            return False
        fields = new_delivery(appeal_no=appeal_no, unit=unit, event_type=event_type, data=data, at=at)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping=fields)  # type: ignore[arg-type]
            if pull:
                pipe.zadd(self.keys.inbox(unit), {delivery_id: due})
            else:
                pipe.zadd(self.keys.delivery_schedule, {delivery_id: due})
                pipe.zadd(self.keys.unit_pending(unit), {delivery_id: due})
            await pipe.execute()
        return True

    async def delivered(self, record: DeliveryRecord, at: datetime, status: int) -> int:
        """Record a delivered attempt (and the unit's success); returns how many consecutive
        failures of the unit it ended."""
        before = await self._delivered(
            keys={
                "delivery": self.keys.delivery(record.id),
                "schedule": self.keys.delivery_schedule,
                "pending": self.keys.unit_pending(record.unit),
                "health": self.keys.unit_health(record.unit),
            },
            args={"id": record.id, "at": at.isoformat(), "status": status, "now": at.timestamp()},
        )
        return int(before)

    async def failed(
        self, delivery_id: str, now: float, error: str, retry_after: float | None
    ) -> float | None:
        """Count the failed attempt and schedule the next; returns when, or None if dead-lettered."""
        attempts = int(await self.redis.hincrby(self.keys.delivery(delivery_id), "attempts", 1))
        record = await self.get(delivery_id)
        age = now - datetime.fromisoformat(record.created_at).timestamp() if record else 0.0
        wait = next_wait(self.settings, attempts, age, self._rng)
        async with self.redis.pipeline(transaction=True) as pipe:
            if wait is None:
                pipe.hset(
                    self.keys.delivery(delivery_id),
                    mapping={"status": "dead", "last_error": error, "died_at": now},
                )
                pipe.zrem(self.keys.delivery_schedule, delivery_id)
                if record is not None:
                    pipe.zrem(self.keys.unit_pending(record.unit), delivery_id)
                pipe.zadd(self.keys.delivery_dead, {delivery_id: now})
                await pipe.execute()
                return None
            due = now + max(wait, retry_after or 0.0)
            pipe.hset(self.keys.delivery(delivery_id), mapping={"last_error": error})
            pipe.zadd(self.keys.delivery_schedule, {delivery_id: due})
            await pipe.execute()
            return due

    async def postpone(self, delivery_id: str, until: float) -> None:
        """Not tried now (the unit's breaker is open): due again at ``until``, no attempt counted."""
        await self.redis.zadd(self.keys.delivery_schedule, {delivery_id: until})

    async def dead(
        self, unit: str | None = None, since: float = 0.0, limit: int = 500
    ) -> list[DeliveryRecord]:
        ids: list[bytes] = await self.redis.zrangebyscore(  # type: ignore[assignment]
            self.keys.delivery_dead, since, "+inf", start=0, num=10_000
        )
        async with self.redis.pipeline(transaction=False) as pipe:
            for raw_id in ids:
                pipe.hgetall(self.keys.delivery(text(raw_id)))
            found: list[Any] = await pipe.execute()
        records = []
        for raw_id, data in zip(ids, found, strict=True):
            record = DeliveryRecord.from_hash(text(raw_id), data) if data else None
            if record is not None and (unit is None or record.unit == unit):
                records.append(record)
                if len(records) >= limit:
                    break
        return records

    async def replay(self, delivery_id: str, now: float) -> bool:
        """A dead delivery goes out again at once, under the same id, with a fresh schedule."""
        if await self.redis.zrem(self.keys.delivery_dead, delivery_id) == 0:
            return False
        record = await self.get(delivery_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            if record is not None:
                pipe.zadd(self.keys.unit_pending(record.unit), {delivery_id: now})
            pipe.hset(
                self.keys.delivery(delivery_id),
                mapping={
                    "status": "pending",
                    "attempts": 0,
                    "created_at": datetime.fromtimestamp(now, UTC).isoformat(),
                },
            )
            pipe.zadd(self.keys.delivery_schedule, {delivery_id: now})
            await pipe.execute()
        return True

    async def acknowledge(self, unit: str, delivery_id: str, at: str) -> bool:
        """A pull unit took a delivery from its inbox: it counts as delivered."""
        if await self.redis.zrem(self.keys.inbox(unit), delivery_id) == 0:
            return False
        await self.redis.hset(
            self.keys.delivery(delivery_id), mapping={"status": "delivered", "delivered_at": at}
        )
        return True

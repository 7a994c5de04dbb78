"""Delivery records and their schedule in Redis.

``hl:delivery:<id>``        hash: appeal_no, unit, attempts, status (pending|delivered|dead), ...
``hl:delivery:schedule``    sorted set: delivery id -> when it is next due (epoch seconds)
``hl:delivery:dead``        sorted set: dead-lettered delivery ids -> when they died

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

import redis.asyncio as aioredis

from gateway.config import DeliverySettings
from gateway.store import Keys, decode_hash, text

_CLAIM = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, id in ipairs(ids) do redis.call('ZADD', KEYS[1], ARGV[3], id) end
return ids
"""


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
        self._claim = redis.register_script(_CLAIM)
        self._rng = random.Random()

    async def claim_due(self, now: float, limit: int, lease: float) -> list[str]:
        ids = await self._claim(keys=[self.keys.delivery_schedule], args=[now, limit, now + lease])
        return [text(i) for i in ids]

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
            pipe.zadd(self.keys.inbox(unit) if pull else self.keys.delivery_schedule, {delivery_id: due})
            await pipe.execute()
        return True

    async def delivered(self, delivery_id: str, at: str, status: int) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(
                self.keys.delivery(delivery_id),
                mapping={"status": "delivered", "delivered_at": at, "last_status": status},
            )
            pipe.hincrby(self.keys.delivery(delivery_id), "attempts", 1)
            pipe.zrem(self.keys.delivery_schedule, delivery_id)
            await pipe.execute()

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
        records = []
        for raw_id in ids:
            record = await self.get(text(raw_id))
            if record is not None and (unit is None or record.unit == unit):
                records.append(record)
                if len(records) >= limit:
                    break
        return records

    async def replay(self, delivery_id: str, now: float) -> bool:
        """A dead delivery goes out again at once, under the same id, with a fresh schedule."""
        if await self.redis.zrem(self.keys.delivery_dead, delivery_id) == 0:
            return False
        async with self.redis.pipeline(transaction=True) as pipe:
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

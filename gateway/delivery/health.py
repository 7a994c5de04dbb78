"""Each unit's delivery health, shared through Redis by every gateway process: consecutive failures,
the circuit breaker, an endpoint disabled by a ``410 Gone``, last success. A success is recorded by
the delivery queue's ``delivered`` script, in the same step as the delivery.

``hl:unit:<id>:health`` hash; ``hl:unit:<id>:parked`` sorted set of deliveries held while the unit's
endpoint is disabled (an operator re-enables it and they go out again).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import redis.asyncio as aioredis

from gateway.config import DeliverySettings
from gateway.store import Keys, decode_hash

Breaker = Literal["closed", "open", "half_open"]


@dataclass(frozen=True)
class UnitHealth:
    unit: str
    consecutive_failures: int = 0
    first_failure_at: float = 0.0
    last_failure_at: float = 0.0
    last_success_at: float = 0.0
    open_until: float = 0.0
    disabled: str = ""
    last_error: str = ""

    def breaker(self, now: float) -> Breaker:
        if self.open_until > now:
            return "open"
        return "half_open" if self.open_until else "closed"

    def failing_for(self, now: float) -> float:
        return now - self.first_failure_at if self.consecutive_failures else 0.0

    @classmethod
    def from_fields(cls, unit: str, f: Mapping[str, str]) -> UnitHealth:
        return cls(
            unit=unit,
            consecutive_failures=int(f.get("consecutive_failures", 0)),
            first_failure_at=float(f.get("first_failure_at", 0)),
            last_failure_at=float(f.get("last_failure_at", 0)),
            last_success_at=float(f.get("last_success_at", 0)),
            open_until=float(f.get("open_until", 0)),
            disabled=f.get("disabled", ""),
            last_error=f.get("last_error", ""),
        )


class UnitHealthStore:
    def __init__(self, redis: aioredis.Redis, keys: Keys, settings: DeliverySettings) -> None:
        self.redis = redis
        self.keys = keys
        self.settings = settings

    async def get(self, unit: str) -> UnitHealth:
        return UnitHealth.from_fields(
            unit, decode_hash(await self.redis.hgetall(self.keys.unit_health(unit)))
        )

    async def get_many(self, units: Sequence[str]) -> dict[str, UnitHealth]:
        """Several units' health in one round trip."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for unit in units:
                pipe.hgetall(self.keys.unit_health(unit))
            replies: list[Any] = await pipe.execute()
        return {u: UnitHealth.from_fields(u, decode_hash(r)) for u, r in zip(units, replies, strict=True)}

    async def failure(self, unit: str, now: float, error: str) -> UnitHealth:
        key = self.keys.unit_health(unit)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hincrby(key, "consecutive_failures", 1)
            pipe.hsetnx(key, "first_failure_at", now)
            pipe.hset(key, mapping={"last_failure_at": now, "last_error": error[:300]})
            failures, *_ = await pipe.execute()
        if int(failures) >= self.settings.breaker_failures:
            await self.redis.hset(key, "open_until", now + self.settings.breaker_cooldown_seconds)
        return await self.get(unit)

    async def disable(self, unit: str, reason: str) -> None:
        await self.redis.hset(self.keys.unit_health(unit), "disabled", reason)

    async def park(self, unit: str, delivery_id: str, now: float) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zrem(self.keys.delivery_schedule, delivery_id)
            pipe.zrem(self.keys.unit_pending(unit), delivery_id)
            pipe.zadd(self.keys.parked(unit), {delivery_id: now})
            await pipe.execute()

    async def enable(self, unit: str, now: float) -> int:
        """Re-enable a disabled endpoint; its parked deliveries are due at once. Returns how many."""
        parked: list[bytes] = await self.redis.zrange(self.keys.parked(unit), 0, -1)  # type: ignore[assignment]
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hdel(self.keys.unit_health(unit), "disabled")
            pipe.hset(self.keys.unit_health(unit), mapping={"consecutive_failures": 0, "open_until": 0})
            if parked:
                pipe.zadd(self.keys.delivery_schedule, dict.fromkeys(parked, now))
                pipe.zadd(self.keys.unit_pending(unit), dict.fromkeys(parked, now))
            pipe.delete(self.keys.parked(unit))
            await pipe.execute()
        return len(parked)

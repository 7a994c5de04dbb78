"""Delivery to units: retries keep the webhook-id, follow the schedule (clock injected, no sleeping),
honour Retry-After, and end in the dead-letter list when the schedule is spent."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from gateway.config import Config
from gateway.registry import Registry
from gateway.store import Keys
from tests.conftest import FakeClock, Gateway, UnitReceiver, eventually, start_gateway, with_delivery

GAS = "小区燃气管道漏气，煤气味很重"


def with_schedule(config: Config, *schedule: float) -> Config:
    return with_delivery(config, retry_schedule=schedule, then_every_seconds=0)


@pytest.fixture
async def slow_gateway(
    config: Config,
    redis: aioredis.Redis,
    keys: Keys,
    registry: Registry,
    receiver: UnitReceiver,
    clock: FakeClock,
) -> AsyncIterator[Gateway]:
    gw = await start_gateway(with_schedule(config, 0, 10, 60), redis, keys, registry, receiver, clock=clock)
    yield gw
    await gw.client.close()


async def schedule_of(gw: Gateway, delivery_id: str) -> float | None:
    score = await gw.runtime.redis.zscore(gw.runtime.keys.delivery_schedule, delivery_id)
    return float(score) if score is not None else None


async def test_retries_follow_the_schedule_with_the_same_webhook_id(
    slow_gateway: Gateway, clock: FakeClock
) -> None:
    gw = slow_gateway
    gw.receiver.statuses["gas-supply"] = [500, 500]
    appeal_no = await gw.post_appeal(description=GAS)
    first = await gw.receiver.wait_for(1)
    delivery_id = first[0].headers["webhook-id"]
    await eventually(lambda: _due_after(gw, delivery_id, clock, 9))
    clock.advance(9)  # not yet due: nothing more arrives within a few worker polls
    with pytest.raises(TimeoutError):
        await gw.receiver.wait_for(2, timeout=0.6)
    clock.advance(2)
    await gw.receiver.wait_for(2)
    clock.advance(61)
    received = await gw.receiver.wait_for(3)
    assert {r.headers["webhook-id"] for r in received} == {delivery_id}
    await eventually(lambda: _status(gw, delivery_id, "delivered"))
    record = await gw.runtime.deliveries.get(delivery_id)
    assert record is not None and record.attempts == 3 and record.appeal_no == appeal_no


async def test_retry_after_is_honoured(slow_gateway: Gateway, clock: FakeClock) -> None:
    gw = slow_gateway
    gw.receiver.statuses["gas-supply"] = [(503, {"Retry-After": "120"})]
    await gw.post_appeal(description=GAS)
    (first,) = await gw.receiver.wait_for(1)
    delivery_id = first.headers["webhook-id"]
    # the schedule says 10 s; the unit asked for 120 s
    await eventually(lambda: _due_after(gw, delivery_id, clock, 119))


async def test_spent_schedule_lands_in_dead_letters(
    config: Config,
    redis: aioredis.Redis,
    keys: Keys,
    registry: Registry,
    receiver: UnitReceiver,
    clock: FakeClock,
) -> None:
    gw = await start_gateway(with_schedule(config, 0, 5), redis, keys, registry, receiver, clock=clock)
    try:
        receiver.statuses["gas-supply"] = [500, 500, 500]
        await gw.post_appeal(description=GAS)
        (first,) = await receiver.wait_for(1)
        delivery_id = first.headers["webhook-id"]
        await eventually(lambda: _due_after(gw, delivery_id, clock, 4))
        clock.advance(6)
        await receiver.wait_for(2)
        await eventually(lambda: _status(gw, delivery_id, "dead"))
        assert await redis.zscore(keys.delivery_dead, delivery_id) is not None
        assert await schedule_of(gw, delivery_id) is None
    finally:
        await gw.client.close()


async def _due_after(gw: Gateway, delivery_id: str, clock: FakeClock, seconds: float) -> bool:
    due = await schedule_of(gw, delivery_id)
    record = await gw.runtime.deliveries.get(delivery_id)
    return (
        due is not None
        and record is not None
        and record.attempts >= 1
        and due >= clock().timestamp() + seconds
    )


async def _status(gw: Gateway, delivery_id: str, status: str) -> bool:
    record = await gw.runtime.deliveries.get(delivery_id)
    return record is not None and record.status == status

"""Singletons across processes: the poller kinds and the health monitor run in one gateway at a
time (a lease in Redis); when it stops, another takes over."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis

from gateway.config import Config
from gateway.lease import Lease
from gateway.lua import Script
from gateway.registry import Registry
from gateway.store import Keys
from tests.conftest import UnitReceiver, eventually, start_gateway


async def test_one_gateway_runs_the_singletons_and_another_takes_over_when_it_stops(
    config: Config, redis: aioredis.Redis, keys: Keys, registry: Registry, receiver: UnitReceiver
) -> None:
    first = await start_gateway(config, redis, keys, registry, receiver)
    second = await start_gateway(config, redis, keys, registry, receiver)
    try:
        assert first.runtime.singletons_running and not second.runtime.singletons_running
        assert await redis.get(keys.lease("singletons")) == first.runtime.lease.owner.encode()
        await first.client.close()  # a clean stop gives the lease up

        async def taken_over() -> bool:
            return second.runtime.singletons_running

        await eventually(taken_over, timeout=10)
    finally:
        await second.client.close()


async def test_a_lease_is_taken_over_only_once_it_runs_out(redis: aioredis.Redis, keys: Keys) -> None:
    held, other = Lease(redis, keys.lease("x"), ttl=0.3), Lease(redis, keys.lease("x"), ttl=0.3)
    other.owner = "another-process"
    assert await held.hold()
    assert not await other.hold()
    assert await held.hold()  # renewed by its holder

    async def expired() -> bool:
        return await other.hold()  # the holder died: it stops renewing

    await eventually(expired, timeout=3)
    assert not await held.hold()


async def test_a_script_is_called_with_exactly_its_names(redis: aioredis.Redis, keys: Keys) -> None:
    script = Script(redis, ("target",), ("value",), "redis.call('SET', K.target, A.value) return 1")
    assert await script(keys={"target": keys.k("t")}, args={"value": "v"}) == 1
    assert await redis.get(keys.k("t")) == b"v"
    with pytest.raises(TypeError, match="wants keys"):
        await script(keys={"target": keys.k("t")}, args={"valeu": "v"})

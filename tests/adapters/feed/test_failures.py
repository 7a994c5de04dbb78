"""The platform misbehaves: 5xx, timeouts, repeated pages, a reset cursor, bad signatures, replays;
write-backs that keep failing reach the operators and go through once the platform recovers."""

from __future__ import annotations

import dataclasses
import json
import time
from typing import Any

import redis.asyncio as aioredis

from adapters.feed import FeedAdapter, FeedConfig
from gateway.config import Config
from gateway.registry import Registry
from gateway.store import Keys
from tests.adapters.feed.conftest import APP_KEY, CHANNEL, Upstream
from tests.adapters.feed.test_conformance import ORDER, push
from tests.conformance.kit import send, stored_appeals
from tests.conftest import Gateway, UnitReceiver, eventually, start_gateway


async def inject(upstream: Upstream, n: int, prefix: str = "AH") -> None:
    for i in range(n):
        await upstream.inject(
            id=f"{prefix}-{i}", title="燃气漏气", content=f"燃气管道漏气 {i}", phone="13912341234"
        )


async def count(redis: aioredis.Redis, keys: Keys, n: int) -> bool:
    return len(await stored_appeals(redis, keys)) >= n


async def test_5xx_and_timeouts_back_off_and_recover(
    upstream: Upstream, redis: aioredis.Redis, keys: Keys, gateway: Gateway
) -> None:
    await upstream.behave(fail_pulls=3, timeout_pulls=1)
    await inject(upstream, 3)
    await eventually(lambda: count(redis, keys, 3), timeout=10)
    assert upstream.sim.behaviour["fail_pulls"] == 0 and upstream.sim.behaviour["timeout_pulls"] == 0
    assert len(await stored_appeals(redis, keys)) == 3


async def test_repeated_pages_and_a_reset_cursor_store_each_order_once(
    upstream: Upstream, redis: aioredis.Redis, keys: Keys, gateway: Gateway
) -> None:
    upstream.sim.behaviour.update(repeat_pages=3)
    await inject(upstream, 4)
    await eventually(lambda: count(redis, keys, 4))

    async def cursor_moved() -> bool:
        return await redis.get(keys.k("adapter", CHANNEL, "cursor")) == b"4"  # persisted in Redis

    await eventually(cursor_moved)
    pulls = upstream.sim.pulls
    await upstream.behave(reset_cursor=True, repeat_pages=2)
    await eventually(
        lambda: _true(upstream.sim.pulls >= pulls + 6 and "reset_cursor" not in upstream.sim.behaviour)
    )
    assert len(await stored_appeals(redis, keys)) == 4


async def test_bad_signatures_replays_and_stale_timestamps_are_refused(
    gateway: Gateway, redis: aioredis.Redis, keys: Keys
) -> None:
    stale = await send(gateway, push(ORDER, stamp=int(time.time()) - 3600))
    assert stale.status == 401 and "timestamp" in (await stale.json())["error"]["message"]
    req = push(ORDER)
    assert (await send(gateway, req)).status == 200
    replayed = await send(gateway, req)  # same nonce, same signature
    assert replayed.status == 401 and "nonce" in (await replayed.json())["error"]["message"]
    tampered = push(ORDER)
    tampered.data = json.dumps({**ORDER, "content": "篡改"}).encode()
    assert (await send(gateway, tampered)).status == 401
    other_key = push(ORDER)
    other_key.headers["X-App-Key"] = "someone-else"
    assert (await send(gateway, other_key)).status == 401
    assert len(await stored_appeals(redis, keys)) == 1
    assert APP_KEY not in str(other_key.headers["X-App-Key"])


async def test_supervised_orders_are_flagged_and_deadline_kept(
    upstream: Upstream, gateway: Gateway, redis: aioredis.Redis, keys: Keys
) -> None:
    await upstream.inject(id="DB-1", title="督办", content="燃气管道漏气", supervised=True, deadline_days=2)
    (key,) = await eventually(lambda: stored_appeals(redis, keys))
    record = await gateway.runtime.appeals.get(key.rsplit(":", 1)[1])
    assert record is not None and record.appeal.upstream is not None
    assert record.appeal.upstream.supervised is True
    assert record.appeal.upstream.number == "DB-1" and record.appeal.upstream.deadline is not None


async def test_failing_writebacks_alert_operators_then_go_through(
    upstream: Upstream, gateway: Gateway, redis: aioredis.Redis, keys: Keys
) -> None:
    await upstream.inject(id="WB-1", title="燃气", content="燃气管道漏气，煤气味很重", phone="13912341234")
    record = await eventually(lambda: _dispatched(gateway, redis, keys))
    await upstream.behave(fail_writebacks=4)
    unit = record.unit
    token = (await gateway.runtime.credentials.get(unit)).api_token
    url = f"/api/v1/units/{unit}/appeals/{record.appeal.appeal_no}/events"
    signed = await gateway.client.post(
        url, json={"type": "signed"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert signed.status == 200
    adapter = gateway.runtime.adapters[CHANNEL]
    assert isinstance(adapter, FeedAdapter)
    failures = await eventually(adapter.writeback_failures, timeout=15)  # a loaded machine (xdist)
    assert failures[0]["appeal_no"] == record.appeal.appeal_no and failures[0]["type"] == "signed"
    alert_key = f"feed:{CHANNEL}:writeback"
    # raised (the retries may already have gone through and resolved it: the log keeps both)
    await eventually(lambda: _logged(redis, keys, alert_key, "raised"), timeout=15)
    written = await eventually(upstream.writebacks, timeout=15)
    assert [w["action"] for w in written] == ["sign"]
    await eventually(lambda: _no_alert(gateway, alert_key), timeout=15)
    assert await _logged(redis, keys, alert_key, "resolved")
    assert await adapter.writeback_pending() == []


async def _dispatched(gateway: Gateway, redis: aioredis.Redis, keys: Keys) -> Any:
    for key in await stored_appeals(redis, keys):
        record = await gateway.runtime.appeals.get(key.rsplit(":", 1)[1])
        if record is not None and record.state.value == "dispatched":
            return record
    return None


async def _logged(redis: aioredis.Redis, keys: Keys, key: str, status: str) -> bool:
    notices = [json.loads(n) for n in await redis.lrange(keys.alerts_log, 0, -1)]
    return any(n["key"] == key and n["status"] == status for n in notices)


async def _no_alert(gateway: Gateway, key: str) -> bool:
    return key not in {a["key"] for a in await gateway.runtime.alerts.active()}


async def _true(value: bool) -> bool:
    return value


async def _feed_status(gateway: Gateway) -> dict[str, Any]:
    (report,) = [c for c in await gateway.runtime.health.channels() if c["id"] == CHANNEL]
    return report


async def _status_is(gateway: Gateway, wanted: str) -> dict[str, Any] | None:
    report = await _feed_status(gateway)
    return report if report["status"] == wanted else None


async def test_a_feed_whose_pulls_keep_failing_shows_down_then_healthy_again(
    upstream: Upstream, gateway: Gateway
) -> None:
    await upstream.behave(fail_pulls=1000)
    down = await eventually(lambda: _status_is(gateway, "down"))
    assert down is not None and down["poller"]["state"] == "down"
    assert any("failed pulls in a row" in reason for reason in down["reasons"])
    await upstream.behave(fail_pulls=0)
    await eventually(lambda: _status_is(gateway, "healthy"))


async def test_a_feed_whose_pulls_fail_fewer_times_than_the_limit_shows_degraded(
    upstream: Upstream,
    config: Config,
    redis: aioredis.Redis,
    keys: Keys,
    registry: Registry,
    receiver: UnitReceiver,
) -> None:
    patient = tuple(
        dataclasses.replace(
            c,
            settings=c.settings.model_copy(
                update={"pull": c.settings.pull.model_copy(update={"down_after_failures": 1000})}
            ),
        )
        if c.id == CHANNEL and isinstance(c.settings, FeedConfig) and c.settings.pull is not None
        else c
        for c in config.channels
    )
    await upstream.behave(fail_pulls=1000)
    gateway = await start_gateway(
        dataclasses.replace(config, channels=patient), redis, keys, registry, receiver
    )
    try:
        degraded = await eventually(lambda: _status_is(gateway, "degraded"))
        assert degraded is not None and degraded["poller"]["state"] == "degraded"
    finally:
        await upstream.behave(fail_pulls=0)
        await gateway.client.close()

"""The delivery engine against a real HTTP receiver: 410 disables a unit until re-enabled, an
unreachable unit raises one alert and a recovery notice, the breaker stops hammering a failing unit,
dead letters are replayed under the same id, pull units fetch their inbox, and under 30% failures
every one of 1,000 appeals arrives under exactly one webhook-id."""

from __future__ import annotations

import asyncio
import random
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from aiohttp import web
from aiohttp.test_utils import TestServer

from gateway.config import Config, load_config
from gateway.delivery import EVENT_ASSIGNED
from gateway.registry import Registry
from gateway.store import Keys
from tests.conftest import (
    CONFIG_DIR,
    OPERATOR_TOKEN,
    FakeClock,
    Gateway,
    UnitReceiver,
    eventually,
    sample_env,
    start_gateway,
    with_delivery,
)

GAS = "小区燃气泄漏，煤气味很重"
OP = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}


@pytest.fixture
async def engine(
    config: Config,
    redis: aioredis.Redis,
    keys: Keys,
    registry: Registry,
    receiver: UnitReceiver,
    clock: FakeClock,
) -> AsyncIterator[Gateway]:
    gw = await start_gateway(
        with_delivery(config, retry_schedule=(0, 60), then_every_seconds=60, breaker_failures=100),
        redis,
        keys,
        registry,
        receiver,
        clock=clock,
    )
    yield gw
    await gw.client.close()


async def test_410_disables_the_unit_until_an_operator_enables_it(engine: Gateway) -> None:
    gw = engine
    gw.receiver.statuses["gas-supply"] = [410]
    first = await gw.post_appeal(description=GAS)
    await gw.receiver.wait_for(1)
    await eventually(lambda: _disabled(gw))
    second = await gw.post_appeal(description=GAS + "，另一栋楼")
    await eventually(lambda: _parked(gw, 2))
    assert len(gw.receiver.received) == 1  # parked, not tried
    assert [a["kind"] for a in await gw.runtime.alerts.active()] == ["unit_disabled"]

    response = await gw.client.post("/api/v1/units/gas-supply/enable", headers=OP)
    assert (await response.json())["released"] == 2
    received = await gw.receiver.wait_for(3)
    assert {r.json()["subject"] for r in received[1:]} == {first, second}
    assert await gw.runtime.alerts.active() == []


async def _parked(gw: Gateway, n: int) -> bool:
    return int(await gw.runtime.redis.zcard(gw.runtime.keys.parked("gas-supply"))) >= n


async def _disabled(gw: Gateway) -> bool:
    return bool((await gw.runtime.unit_health.get("gas-supply")).disabled)


async def test_an_unreachable_unit_raises_one_alert_then_a_recovery(
    engine: Gateway, clock: FakeClock
) -> None:
    gw = engine
    gw.receiver.statuses["gas-supply"] = [500] * 20
    await gw.post_appeal(description=GAS)
    for n in range(1, 12):  # eleven attempts a minute apart: past the 10-minute threshold
        await gw.receiver.wait_for(n)
        await eventually(lambda n=n: _attempts_are(gw, n))  # type: ignore[misc]
        clock.advance(61)
    alerts = await eventually(gw.runtime.alerts.active)
    assert [a["kind"] for a in alerts] == ["unit_unreachable"]
    gw.receiver.statuses["gas-supply"] = []
    clock.advance(61)
    await gw.receiver.wait_for(12, timeout=3)
    await eventually(lambda: _no_alerts(gw))
    log = await gw.runtime.redis.lrange(gw.runtime.keys.alerts_log, 0, -1)
    assert len(log) == 2  # raised once, resolved once


async def _attempts_are(gw: Gateway, n: int) -> bool:
    ids = await gw.runtime.redis.zrange(gw.runtime.keys.delivery_schedule, 0, -1)
    records = [await gw.runtime.deliveries.get(i.decode()) for i in ids]
    return any(r is not None and r.attempts >= n for r in records)


async def _no_alerts(gw: Gateway) -> bool:
    return await gw.runtime.alerts.active() == []


async def test_the_breaker_stops_attempts_to_a_failing_unit(
    config: Config,
    redis: aioredis.Redis,
    keys: Keys,
    registry: Registry,
    receiver: UnitReceiver,
    clock: FakeClock,
) -> None:
    gw = await start_gateway(
        with_delivery(config, breaker_failures=2, breaker_cooldown_seconds=300),
        redis,
        keys,
        registry,
        receiver,
        clock=clock,
    )
    try:
        receiver.statuses["gas-supply"] = [500] * 10
        await gw.post_appeal(description=GAS)
        await gw.post_appeal(description=GAS + "，二号楼")
        await receiver.wait_for(2)
        await eventually(lambda: _breaker_open(gw, clock))
        await gw.post_appeal(description=GAS + "，三号楼")
        with pytest.raises(TimeoutError):
            await receiver.wait_for(3, timeout=0.8)  # the third waits for the breaker, untried
        clock.advance(301)
        await receiver.wait_for(3)
    finally:
        await gw.client.close()


async def _breaker_open(gw: Gateway, clock: FakeClock) -> bool:
    return (await gw.runtime.unit_health.get("gas-supply")).breaker(clock().timestamp()) == "open"


async def test_dead_letters_are_listed_replayed_and_recovered_under_the_same_id(
    config: Config,
    redis: aioredis.Redis,
    keys: Keys,
    registry: Registry,
    receiver: UnitReceiver,
) -> None:
    gw = await start_gateway(
        with_delivery(config, retry_schedule=(0,), then_every_seconds=0), redis, keys, registry, receiver
    )
    try:
        receiver.statuses["gas-supply"] = [500, 500]
        await gw.post_appeal(description=GAS)
        await gw.post_appeal(description=GAS + "，二号楼")
        await receiver.wait_for(2)
        listing: dict[str, Any] = await eventually(lambda: _dead(gw, 2))
        ids = [i["delivery_id"] for i in listing["items"]]
        replayed = await gw.client.post(f"/api/v1/dead-letters/{ids[0]}/replay", headers=OP)
        assert replayed.status == 200
        assert (await gw.client.post(f"/api/v1/dead-letters/{ids[0]}/replay", headers=OP)).status == 404
        recovered = await gw.client.post(
            "/api/v1/units/gas-supply/recover", headers=OP, json={"since": "2020-01-01T00:00:00+08:00"}
        )
        assert (await recovered.json())["replayed"] == [ids[1]]
        received = await receiver.wait_for(4)
        assert sorted(r.headers["webhook-id"] for r in received[2:]) == sorted(ids)
        bad = await gw.client.post(
            "/api/v1/units/gas-supply/recover", headers=OP, json={"since": "yesterday"}
        )
        assert bad.status == 400
    finally:
        await gw.client.close()


async def _dead(gw: Gateway, n: int) -> dict[str, Any] | None:
    body = await (await gw.client.get("/api/v1/dead-letters?unit=gas-supply", headers=OP)).json()
    return body if body["count"] == n else None


async def test_a_pull_unit_long_polls_its_inbox_and_acknowledges(
    tmp_path: Path,
    redis: aioredis.Redis,
    keys: Keys,
    registry: Registry,
    receiver: UnitReceiver,
) -> None:
    directory = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, directory)
    units = directory / "units.yaml"
    text = units.read_text(encoding="utf-8")
    marker = "  - id: gas-supply\n"
    assert marker in text
    units.write_text(text.replace(marker, marker + "    delivery: pull\n", 1), encoding="utf-8")
    config = load_config(directory, kinds=registry.kinds, env=sample_env(receiver.url))
    gw = await start_gateway(config, redis, keys, registry, receiver)
    try:
        token = (await gw.runtime.credentials.get("gas-supply")).api_token
        auth = {"Authorization": f"Bearer {token}"}
        poll = asyncio.create_task(gw.client.get("/api/v1/units/gas-supply/inbox?wait=10", headers=auth))
        appeal_no = await gw.post_appeal(description=GAS)
        response = await asyncio.wait_for(poll, 10)
        (event,) = (await response.json())["events"]
        assert event["subject"] == appeal_no and event["data"]["assignment"]["unit"] == "gas-supply"
        ack = await gw.client.post(f"/api/v1/units/gas-supply/inbox/{event['id']}/ack", headers=auth)
        assert ack.status == 200
        assert (await gw.runtime.deliveries.get(event["id"])).status == "delivered"  # type: ignore[union-attr]
        empty = await gw.client.get("/api/v1/units/gas-supply/inbox", headers=auth)
        assert (await empty.json())["count"] == 0
        assert receiver.received == []  # nothing was pushed
        other = (await gw.runtime.credentials.get("water-supply")).api_token
        refused = await gw.client.get(
            "/api/v1/units/gas-supply/inbox", headers={"Authorization": f"Bearer {other}"}
        )
        assert refused.status == 401
    finally:
        await gw.client.close()


async def test_a_thousand_appeals_with_30_percent_failures_each_arrive_under_one_id(
    config: Config,
    redis: aioredis.Redis,
    keys: Keys,
    registry: Registry,
) -> None:
    rng = random.Random(30)
    seen: dict[str, set[str]] = {}
    delivered: set[str] = set()
    done = asyncio.Event()

    async def flaky(request: web.Request) -> web.Response:
        body = await request.json()
        seen.setdefault(body["subject"], set()).add(request.headers["webhook-id"])
        if rng.random() < 0.3:
            return web.Response(status=503)
        delivered.add(body["subject"])
        if len(delivered) >= 1000:
            done.set()
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/units/{unit}", flaky)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    receiver = UnitReceiver(url=str(server.make_url("")).rstrip("/"))
    fast = with_delivery(
        load_config(CONFIG_DIR, kinds=registry.kinds, env=sample_env(receiver.url)),
        retry_schedule=(0, 0.05),
        then_every_seconds=0.05,
        breaker_failures=10_000,
    )
    gw = await start_gateway(fast, redis, keys, registry, receiver)
    try:
        texts = ["燃气泄漏", "路灯不亮", "孩子入学", "社保缴费", "公交车站"]

        async def post(i: int) -> str:
            return str(await gw.post_appeal(description=f"第{i}号诉求：{texts[i % 5]}问题，请处理"))

        numbers: list[str] = []
        for start in range(0, 1000, 50):
            numbers += await asyncio.gather(*(post(i) for i in range(start, start + 50)))
        manual = {n for n in numbers if (await gw.runtime.appeals.get(n)).state.value == "manual"}  # type: ignore[union-attr]
        await asyncio.wait_for(done.wait() if not manual else _all(delivered, set(numbers) - manual), 120)
        assert delivered >= set(numbers) - manual
        assert all(len(ids) == 1 for ids in seen.values())
    finally:
        await gw.client.close()
        await server.close()


async def _all(delivered: set[str], wanted: set[str]) -> None:
    while not delivered >= wanted:
        await asyncio.sleep(0.05)


async def test_a_unit_down_for_an_hour_then_back_gets_everything_once(
    engine: Gateway, clock: FakeClock
) -> None:
    gw = engine
    gw.receiver.statuses["gas-supply"] = [503] * 1000
    numbers = [await gw.post_appeal(description=f"{GAS}，{i}号楼") for i in range(5)]
    await gw.receiver.wait_for(5)
    for _minute in range(60):  # an hour of the clock, a minute at a time: retries keep failing
        clock.advance(60)
    await eventually(gw.runtime.alerts.active)
    gw.receiver.statuses["gas-supply"] = []
    clock.advance(60)

    async def all_in() -> bool:
        ok = {r.json()["subject"] for r in gw.receiver.received if r.unit == "gas-supply"}
        return ok >= set(numbers) and await gw.runtime.redis.zcard(gw.runtime.keys.delivery_schedule) == 0

    await eventually(all_in, 10)
    by_appeal: dict[str, set[str]] = {}
    for r in gw.receiver.received:
        if r.json()["type"] == EVENT_ASSIGNED:  # an overdue reminder (an hour passed) is another delivery
            by_appeal.setdefault(r.json()["subject"], set()).add(r.headers["webhook-id"])
    assert all(len(ids) == 1 for ids in by_appeal.values()), by_appeal

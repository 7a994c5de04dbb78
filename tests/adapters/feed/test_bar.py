"""The issue's bar: five work orders injected into the simulator reach units once each, also across
a gateway restart; a unit's signing and reply are written back upstream."""

from __future__ import annotations

import redis.asyncio as aioredis
from cloudevents.core.bindings.http import HTTPMessage, from_http_event

from gateway.config import Config
from gateway.registry import Registry
from gateway.store import Keys
from normalizer import Appeal
from tests.adapters.feed.conftest import Upstream
from tests.conformance.kit import stored_appeals
from tests.conftest import Received, UnitReceiver, eventually, start_gateway

TEXTS = (
    "我们小区燃气管道漏气，楼道里煤气味很重，请尽快派人处理",
    "小区燃气表漏气，煤气味很重，请燃气公司来人",
    "楼下燃气管道漏气，有很重的煤气味",
    "家里燃气灶旁管道漏气，煤气味很重",
    "单元门口燃气管道漏气，煤气味很重",
)


def appeal_of(received: Received) -> dict[str, object]:
    data = from_http_event(HTTPMessage(received.headers, received.body)).get_data()
    assert isinstance(data, dict)
    appeal: dict[str, object] = data["appeal"]
    return appeal


async def test_five_orders_reach_units_once_each_across_a_restart_and_are_written_back(
    config: Config,
    redis: aioredis.Redis,
    keys: Keys,
    registry: Registry,
    receiver: UnitReceiver,
    upstream: Upstream,
) -> None:
    for i, text in enumerate(TEXTS[:3]):
        await upstream.inject(
            id=f"AH-{i}", title="燃气漏气", content=text, phone="13912341234", deadline_days=3
        )
    first = await start_gateway(config, redis, keys, registry, receiver)
    await receiver.wait_for(3)
    await first.client.close()  # stops the runtime: poller, sender, workers

    for i, text in enumerate(TEXTS[3:], start=3):
        await upstream.inject(
            id=f"AH-{i}", title="燃气漏气", content=text, phone="13912341234", deadline_days=3
        )
    await upstream.behave(reset_cursor=True, repeat_pages=2)  # the platform serves old pages again
    second = await start_gateway(config, redis, keys, registry, receiver)
    try:
        received = await receiver.wait_for(5)
        pulls = upstream.sim.pulls
        await eventually(lambda: _true(upstream.sim.pulls >= pulls + 5))  # several more polls
        assert len(receiver.received) == 5
        assert len(await stored_appeals(redis, keys)) == 5
        appeals = [appeal_of(r) for r in received]
        numbers = sorted(str(a["external_id"]) for a in appeals)
        assert numbers == [f"AH-{i}" for i in range(5)]
        stored = Appeal.model_validate(appeals[0])
        assert stored.upstream is not None and stored.upstream.number == stored.external_id
        assert stored.upstream.deadline is not None and stored.channel_kind == "feed"

        # A unit signs and replies: both reach the platform.
        delivery = received[0]
        appeal_no, number = str(appeals[0]["appeal_no"]), str(appeals[0]["external_id"])
        token = (await second.runtime.credentials.get(delivery.unit)).api_token
        url = f"/api/v1/units/{delivery.unit}/appeals/{appeal_no}/events"
        headers = {"Authorization": f"Bearer {token}"}
        signed = await second.client.post(url, json={"type": "signed"}, headers=headers)
        assert signed.status == 200, await signed.text()
        replied = await second.client.post(
            url, json={"type": "replied", "content": "已派员修复管道，经检测无泄漏。"}, headers=headers
        )
        assert replied.status == 200, await replied.text()

        async def written_back() -> list[dict[str, object]]:
            return [w for w in await upstream.writebacks() if w.get("order_no") == number]

        async def both() -> list[dict[str, object]] | None:
            found = await written_back()
            return found if len(found) == 2 else None

        writebacks = await eventually(both)
        assert [w["action"] for w in writebacks] == ["sign", "reply"]
        assert writebacks[1]["content"] == "已派员修复管道，经检测无泄漏。"
        assert all(w["appeal_no"] == appeal_no and w["unit"] == delivery.unit for w in writebacks)
    finally:
        await second.client.close()


async def _true(value: bool) -> bool:
    return value

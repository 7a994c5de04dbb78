"""Durable intake: nothing is lost when a worker or the gateway dies, and a poisoned entry ends in
the dead-letter stream instead of blocking the rest."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from adapters.base import InboundMessage
from gateway.config import Config
from gateway.dispatch import GROUP
from gateway.errors import NotFound
from gateway.registry import Registry
from gateway.store import EmbeddedRedis, Keys
from normalizer import AppealDraft, Citizen
from tests.conftest import UnitReceiver, eventually, start_gateway


def with_intake(config: Config, **update: float) -> Config:
    intake = config.gateway.intake.model_copy(update=update)
    return dataclasses.replace(config, gateway=config.gateway.model_copy(update={"intake": intake}))


def message(external_id: str = "m-1", text: str = "小区燃气管道漏气，煤气味很重") -> InboundMessage:
    draft = AppealDraft(external_id=external_id, content=text, citizen=Citizen(phone="13912341234"))
    return InboundMessage("portal-bengbu", b'{"raw": true}', "application/json", draft)


async def test_a_stored_appeal_survives_a_gateway_that_never_dispatched_it(
    config: Config, redis: aioredis.Redis, keys: Keys, registry: Registry, receiver: UnitReceiver
) -> None:
    first = await start_gateway(config, redis, keys, registry, receiver, workers=False)
    receipt = await first.runtime.appeals.submit(message())
    await first.client.close()  # gone before routing anything
    second = await start_gateway(config, redis, keys, registry, receiver)
    try:
        (delivery,) = await receiver.wait_for(1)
        assert delivery.json()["subject"] == receipt.appeal_no
    finally:
        await second.client.close()


async def test_entries_of_a_dead_worker_are_taken_over(
    config: Config, redis: aioredis.Redis, keys: Keys, registry: Registry, receiver: UnitReceiver
) -> None:
    quick = with_intake(config, claim_idle_seconds=0.2)
    idle = await start_gateway(quick, redis, keys, registry, receiver, workers=False)
    receipt = await idle.runtime.appeals.submit(message())
    await idle.runtime.dispatcher.ensure_group()
    # a worker reads the entry, then dies without acknowledging it
    taken = await redis.xreadgroup(GROUP, "dead-worker", {keys.intake_stream: ">"}, count=10)
    assert taken and len(taken[0][1]) == 1
    await idle.client.close()
    live = await start_gateway(quick, redis, keys, registry, receiver)
    try:
        record = await live.wait_state(receipt.appeal_no, "dispatched")
        assert record.unit == "gas-supply"
        assert (await redis.xpending(keys.intake_stream, GROUP))["pending"] == 0
    finally:
        await live.client.close()


async def test_an_entry_that_keeps_failing_goes_to_dead_letters(
    config: Config, redis: aioredis.Redis, keys: Keys, registry: Registry, receiver: UnitReceiver
) -> None:
    quick = with_intake(config, claim_idle_seconds=0.1, max_attempts=2)
    gw = await start_gateway(quick, redis, keys, registry, receiver)
    try:
        await redis.xadd(keys.intake_stream, {"appeal_no": "BB-20200101-999999"})
        good = await gw.runtime.appeals.submit(message())

        (entry,) = await eventually(lambda: redis.xrange(keys.intake_dead))
        assert entry[1][b"appeal_no"] == b"BB-20200101-999999"
        await gw.wait_state(good.appeal_no, "dispatched")  # the rest went on
    finally:
        await gw.client.close()


async def test_a_retried_message_is_one_appeal_even_when_sent_at_once(
    config: Config, redis: aioredis.Redis, keys: Keys, registry: Registry, receiver: UnitReceiver
) -> None:
    gw = await start_gateway(config, redis, keys, registry, receiver, workers=False)
    try:
        receipts = await asyncio.gather(*(gw.runtime.appeals.submit(message()) for _ in range(10)))
        assert len({r.appeal_no for r in receipts}) == 1
        assert sum(not r.duplicate for r in receipts) == 1
        assert await redis.xlen(keys.intake_stream) == 1
    finally:
        await gw.client.close()


async def test_embedded_store_keeps_appeals_across_a_restart(
    tmp_path: Path, config: Config, registry: Registry, receiver: UnitReceiver
) -> None:
    keys = Keys("hl")
    embedded = EmbeddedRedis(tmp_path)
    client = aioredis.Redis(unix_socket_path=embedded.socket_path)
    gw = await start_gateway(config, client, keys, registry, receiver, workers=False)
    receipt = await gw.runtime.appeals.submit(message())
    await gw.client.close()
    await client.aclose()
    embedded.close()
    assert (tmp_path / "appendonly.aof").stat().st_size > 0

    embedded = EmbeddedRedis(tmp_path)
    client = aioredis.Redis(unix_socket_path=embedded.socket_path)
    try:
        gw = await start_gateway(config, client, keys, registry, receiver, workers=False)
        record = await gw.runtime.appeals.get(receipt.appeal_no)
        assert record is not None and record.appeal.citizen.phone == "+8613912341234"
        again = await gw.runtime.appeals.submit(message())
        assert again.duplicate and again.appeal_no == receipt.appeal_no
        await gw.client.close()
    finally:
        await client.aclose()
        embedded.close()


async def test_a_thread_within_its_hold_becomes_one_appeal_routed_when_quiet(
    config: Config, redis: aioredis.Redis, keys: Keys, registry: Registry, receiver: UnitReceiver
) -> None:
    from datetime import datetime

    from normalizer import SHANGHAI, Attachment, AttachmentKind
    from tests.conftest import FakeClock

    clock = FakeClock(datetime.now(SHANGHAI))
    gw = await start_gateway(config, redis, keys, registry, receiver, clock=clock)
    try:

        def part(n: int, text: str, **more: object) -> InboundMessage:
            draft = AppealDraft(external_id=f"wx-{n}", content=text, **more)  # type: ignore[arg-type]
            return InboundMessage(
                "portal-bengbu", b"{}", "application/json", draft, thread="openid-1", hold_seconds=60
            )

        first = await gw.runtime.appeals.submit(part(1, "小区门口的路灯坏了"))
        clock.advance(30)
        photo = Attachment(kind=AttachmentKind.image, url="https://example.cn/p.jpg")
        second = await gw.runtime.appeals.submit(part(2, "[图片]", attachments=(photo,)))
        again = await gw.runtime.appeals.submit(part(2, "[图片]", attachments=(photo,)))
        assert (second.appeal_no, second.merged) == (first.appeal_no, True)
        assert again.duplicate
        clock.advance(59)  # the window slid with the second message: still held
        with pytest.raises(TimeoutError):
            await gw.wait_state(first.appeal_no, "dispatched", timeout=0.6)
        clock.advance(2)
        record = await gw.wait_state(first.appeal_no, "dispatched")
        assert record.appeal.content == "小区门口的路灯坏了\n[图片]"
        assert record.appeal.attachments == (photo,)
        later = await gw.runtime.appeals.submit(part(3, "还有一件事，楼下垃圾没人收"))
        assert later.appeal_no != first.appeal_no and not later.merged
    finally:
        await gw.client.close()


async def test_a_follow_up_is_added_to_the_appeals_history_once(
    config: Config, redis: aioredis.Redis, keys: Keys, registry: Registry, receiver: UnitReceiver
) -> None:
    gw = await start_gateway(config, redis, keys, registry, receiver, workers=False)
    try:
        receipt = await gw.runtime.appeals.submit(message())
        follow = message("m-2", "补充：漏气点在三单元门口")
        added = await gw.runtime.appeals.add_to(receipt.appeal_no, follow)
        assert (added.appeal_no, added.duplicate) == (receipt.appeal_no, False)
        assert (await gw.runtime.appeals.add_to(receipt.appeal_no, follow)).duplicate
        history = await gw.runtime.appeals.history(receipt.appeal_no)
        assert [e["type"] for e in history] == ["accepted", "citizen_added"]
        assert history[1]["content"] == "补充：漏气点在三单元门口"
        with pytest.raises(NotFound):
            await gw.runtime.appeals.add_to("BB-20200101-000009", message("m-3"))
    finally:
        await gw.client.close()

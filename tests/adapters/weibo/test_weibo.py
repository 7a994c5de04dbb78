"""The weibo kind as Weibo's fans-service platform sees it: verification, a message to a unit,
follows, forged and oversized posts."""

from __future__ import annotations

import io
import re
import time

import redis.asyncio as aioredis

from gateway.store import Keys
from tests.adapters.weibo.weibo import CITIZEN_UID, PATH, post, push, query, reply_text
from tests.conformance.kit import send, stored_appeals
from tests.conftest import Gateway

APPEAL_NO = re.compile(r"[A-Z]+-\d{8}-\d{6,}")


async def test_url_verification_echoes_echostr_only_when_signed(gateway: Gateway) -> None:
    ok = await gateway.client.get(PATH, params=query() | {"echostr": "weibo-echo-42"})
    assert ok.status == 200 and await ok.text() == "weibo-echo-42"
    forged = await gateway.client.get(PATH, params=query("wrong") | {"echostr": "weibo-echo-42"})
    assert forged.status == 401 and "weibo-echo-42" not in await forged.text()


async def test_a_message_makes_one_appeal_answered_with_its_number_and_reaches_a_unit(
    gateway: Gateway, redis: aioredis.Redis, keys: Keys
) -> None:
    message = push(text="淮上区小蚌埠镇菜市场周边占道经营严重，早上车辆无法通行")
    numbers = set()
    for _ in range(2):  # Weibo retries a push it got no answer to
        response = await send(gateway, post(message))
        assert response.status == 200
        reply = await response.json()
        assert reply["receiver_id"] == CITIZEN_UID and reply["type"] == "text"
        match = APPEAL_NO.search(reply_text(reply))
        assert match
        numbers.add(match.group(0))
    (appeal_no,) = numbers
    assert len(await stored_appeals(redis, keys)) == 1
    record = await gateway.runtime.appeals.get(appeal_no)
    assert record is not None and record.appeal.channel_kind == "weibo"
    assert record.appeal.citizen.identity is not None
    assert record.appeal.citizen.identity.value == str(CITIZEN_UID)
    await gateway.runtime.appeals.release_held(time.time() + 3600)
    (delivery,) = await gateway.receiver.wait_for(1)
    assert appeal_no in delivery.body.decode()


async def test_position_and_image_join_the_text(gateway: Gateway) -> None:
    first = await (await send(gateway, post(push(text="这里的井盖丢了，很危险")))).json()
    place = push("position", text="我在这里", data={"longitude": "117.38", "latitude": "32.91"})
    second = await (await send(gateway, post(place))).json()
    third = await (await send(gateway, post(push("image", data={"vfid": 1, "tovfid": 2})))).json()
    numbers = {APPEAL_NO.search(reply_text(r)).group(0) for r in (first, second, third)}  # type: ignore[union-attr]
    assert len(numbers) == 1
    record = await gateway.runtime.appeals.get(numbers.pop())
    assert record is not None
    assert record.appeal.location.coordinates is not None
    assert [a.url for a in record.appeal.attachments] == ["weibo-media:1"]


async def test_a_follow_gets_a_welcome_and_other_events_nothing(
    gateway: Gateway, redis: aioredis.Redis, keys: Keys
) -> None:
    follow = await send(gateway, post(push("event", data={"subtype": "follow"})))
    assert "欢迎" in reply_text(await follow.json())
    click = await send(gateway, post(push("event", data={"subtype": "click", "key": "MENU"})))
    assert click.status == 200 and await click.text() == ""
    assert await stored_appeals(redis, keys) == []


async def test_forged_and_replayed_posts_are_refused(
    gateway: Gateway, redis: aioredis.Redis, keys: Keys
) -> None:
    forged = await send(gateway, post(push(text="伪造"), secret="guess"))
    assert forged.status == 401 and (await forged.json())["error"]["code"] == "unauthorized"
    replay = post(push(text="重放"))
    replay.params = query(timestamp=int(time.time()) - 86400)
    assert (await send(gateway, replay)).status == 401
    assert await stored_appeals(redis, keys) == []


async def test_oversized_body_gets_413(gateway: Gateway) -> None:
    req = post(b"{}")
    req.data = io.BytesIO(b'{"text": "' + b"x" * (gateway.runtime.config.gateway.intake.max_body_bytes + 10))
    assert (await send(gateway, req)).status == 413


async def test_a_signed_query_is_good_once(gateway: Gateway, redis: aioredis.Redis, keys: Keys) -> None:
    first = post(push(text="小区门口路灯坏了一个月"))
    assert (await send(gateway, first)).status == 200
    replayed = post(push(text="换了正文的重放"))
    replayed.params = first.params  # the same signed query, another body
    response = await send(gateway, replayed)
    assert response.status == 401 and "replayed" in (await response.json())["error"]["message"]
    assert len(await stored_appeals(redis, keys)) == 1


async def test_timestamps_in_milliseconds_are_accepted_and_checked(gateway: Gateway) -> None:
    now_ms = int(time.time() * 1000)
    fresh = post(push(text="公交站台顶棚漏雨"))
    fresh.params = query(timestamp=now_ms)
    assert (await send(gateway, fresh)).status == 200
    stale = post(push(text="公交站台顶棚漏雨"))
    stale.params = query(timestamp=now_ms - 86_400_000)
    assert (await send(gateway, stale)).status == 401


async def test_unicode_digits_in_a_uid_are_refused_before_anything_is_stored(
    gateway: Gateway, redis: aioredis.Redis, keys: Keys
) -> None:
    response = await send(gateway, post(push(text="测试", sender_id="²")))
    assert response.status == 400 and (await response.json())["error"]["code"] == "bad_request"
    assert await stored_appeals(redis, keys) == []

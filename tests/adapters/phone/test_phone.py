"""The phone kind as a call centre sees it: call events, work orders, voicemail, call-backs."""

from __future__ import annotations

import io
from typing import Any

import redis.asyncio as aioredis

from adapters.phone import PhoneAdapter
from adapters.phone.decode import CallEvent
from gateway.store import Keys
from normalizer import Appeal
from tests.adapters.phone.conftest import BEARER, EVENTS, PHONE_TOKEN
from tests.adapters.phone.test_conformance import WORK_ORDER
from tests.conformance.kit import stored_appeals
from tests.conftest import Gateway


async def post(gw: Gateway, body: dict[str, Any], path: str = EVENTS, **kw: Any) -> Any:
    kw.setdefault("headers", BEARER)
    return await gw.client.post(path, json=body, **kw)


def adapter(gw: Gateway, channel: str = "phone-12345") -> PhoneAdapter:
    found = gw.runtime.adapters[channel]
    assert isinstance(found, PhoneAdapter)
    return found


async def test_forged_and_missing_tokens_are_refused(
    gateway: Gateway, redis: aioredis.Redis, keys: Keys
) -> None:
    for headers, params in (
        ({"Authorization": "Bearer nope"}, {}),
        ({}, {}),
        ({}, {"token": "nope"}),
        ({"Authorization": "Basic eDp5"}, {}),
    ):
        response = await post(gateway, WORK_ORDER, headers=headers, params=params)
        assert response.status == 401, headers
    call = {"event": "newCall", "callId": "forged-1", "from": "13912341234"}
    assert (await post(gateway, call, headers={})).status == 401
    assert await stored_appeals(redis, keys) == []
    assert (await adapter(gateway).call_stats())["counts"] == {}


async def test_work_order_makes_one_appeal_that_reaches_a_unit(
    gateway: Gateway, redis: aioredis.Redis, keys: Keys
) -> None:
    first = await post(gateway, WORK_ORDER)
    again = await post(gateway, WORK_ORDER, headers={}, params={"token": PHONE_TOKEN})  # ?token= works too
    assert (first.status, again.status) == (201, 200)
    body = await first.json()
    assert body["appealNo"] == (await again.json())["appealNo"] and (await again.json())["duplicate"]
    (key,) = await stored_appeals(redis, keys)
    appeal = Appeal.model_validate_json(await redis.hget(key, "appeal"))
    assert appeal.channel_kind == "phone" and appeal.citizen.name == "王先生"
    assert appeal.citizen.phone == "+8613912341234" and appeal.appeal_type.value == "complaint"
    assert appeal.location.address == "蚌埠市龙子湖区胜利中路"
    await gateway.wait_state(body["appealNo"], "dispatched")
    (received,) = await gateway.receiver.wait_for(1)
    assert received.json()["data"]["appeal"]["appeal_no"] == body["appealNo"]
    assert (await adapter(gateway).call_stats())["counts"] == {"workOrder": 1}


async def test_voicemail_becomes_an_appeal_with_its_recording(gateway: Gateway) -> None:
    body = {
        "event": "voicemail",
        "callId": "vm-7",
        "from": "0552-3012345",
        "transcript": "我家楼下的下水道堵了，污水冒到路面上",
        "recordingUrl": "https://cti.example.cn/rec/vm-7.mp3",
    }
    response = await post(gateway, body, path="/channels/phone-voicemail/events")
    assert response.status == 201
    record = await gateway.runtime.appeals.get((await response.json())["appealNo"])
    assert record is not None
    appeal = record.appeal
    assert appeal.channel_id == "phone-voicemail" and appeal.content == body["transcript"]
    (audio,) = appeal.attachments
    assert audio.kind.value == "audio" and audio.url == body["recordingUrl"]


async def test_call_events_give_statistics_and_the_callback_list(
    gateway: Gateway, redis: aioredis.Redis, keys: Keys
) -> None:
    def ev(kind: str, call_id: str, caller: str, **more: str) -> dict[str, str]:
        return {"event": kind, "callId": call_id, "from": caller, "to": "12345", "direction": "in"} | more

    steps = [
        ev("newCall", "c1", "13912341234"),
        ev("answer", "c1", "13912341234", user="agent-7"),
        ev("hangup", "c1", "13912341234", cause="normal"),
        ev("newCall", "c2", "18655556789"),
        ev("hangup", "c2", "18655556789", cause="caller_abandon"),
        ev("hangup", "c2", "18655556789", cause="caller_abandon"),  # a retried post counts once
        ev("newCall", "c3", "18655551111"),
        ev("hangup", "c3", "18655551111"),
    ]
    for step in steps:
        response = await post(gateway, step)
        assert response.status == 200 and await response.json() == {"code": 0, "message": "ok"}
    phone = adapter(gateway)
    stats = await phone.call_stats()
    assert stats["counts"] == {"newCall": 3, "answer": 1, "hangup": 3, "abandoned": 2}
    assert stats["last_event_at"]
    assert [c.caller for c in await phone.pending_callbacks()] == ["18655556789", "18655551111"]
    # the caller rings again and is answered: no call-back needed any more
    await post(gateway, ev("newCall", "c4", "18655556789"))
    await post(gateway, ev("answer", "c4", "18655556789"))
    assert [c.caller for c in await phone.pending_callbacks()] == ["18655551111"]
    assert await phone.clear_callback("+8618655551111") == 1
    assert await phone.pending_callbacks() == []
    assert await stored_appeals(redis, keys) == []  # call events alone make no appeal
    hash_key = phone.state_key("call", "c1")
    assert (await redis.hget(hash_key, "user")) == b"agent-7"


async def test_the_callback_list_keeps_the_newest_calls_and_forgets_the_callers_of_the_others(
    gateway: Gateway, redis: aioredis.Redis
) -> None:
    base = adapter(gateway)
    settings = base.settings.model_copy(update={"callbacks_kept": 10})
    phone = PhoneAdapter(base.channel_id, settings, base.context)
    for n in range(14):
        caller = f"1391234{n:04d}"
        await phone.record(CallEvent("newCall", f"a{n}", caller, "12345", "in", "", ""))
        await phone.record(CallEvent("hangup", f"a{n}", caller, "12345", "in", "", "caller_abandon"))
    assert [c.caller for c in await phone.pending_callbacks()] == [f"1391234{n:04d}" for n in range(4, 14)]
    assert await redis.hlen(phone.state_key("callback_callers")) == 10  # not one per call ever abandoned


async def test_form_posts_are_accepted(gateway: Gateway) -> None:
    response = await gateway.client.post(
        EVENTS, data={"event": "newCall", "callId": "f1", "from": "13912341234"}, headers=BEARER
    )
    assert response.status == 200


async def test_oversized_body_gets_413(gateway: Gateway) -> None:
    size = gateway.runtime.config.gateway.intake.max_body_bytes + 10
    response = await gateway.client.post(
        EVENTS,
        data=io.BytesIO(b'{"event": "' + b"x" * size + b'"}'),
        headers=BEARER | {"Content-Type": "application/json"},
    )
    assert response.status == 413


async def test_three_channels_have_their_own_routes_and_tokens(gateway: Gateway) -> None:
    for channel in ("phone-12345", "phone-voicemail", "phone-transfer"):
        body = {"event": "newCall", "callId": f"{channel}-1", "from": "13912341234"}
        response = await post(gateway, body, path=f"/channels/{channel}/events")
        assert response.status == 200, channel
        assert (await adapter(gateway, channel).call_stats())["counts"] == {"newCall": 1}


async def test_an_unknown_urgency_or_appeal_type_hint_is_kept_as_a_note_and_the_order_accepted(
    gateway: Gateway,
) -> None:
    order = {**WORK_ORDER, "callId": "hint-1", "urgency": "特特急", "appealType": "闲聊"}
    response = await post(gateway, order)
    assert response.status == 201, await response.text()
    record = await gateway.runtime.appeals.get((await response.json())["appealNo"])
    assert record is not None
    appeal = record.appeal
    assert appeal.urgency.value == "general" and appeal.appeal_type.value == "complaint"
    assert "未识别的紧急程度：特特急" in appeal.content and "未识别的诉求类型：闲聊" in appeal.content
    assert appeal.content.startswith(WORK_ORDER["content"])

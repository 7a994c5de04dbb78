"""The wechat kind as WeChat's servers and a citizen see it: verification, modes, retries, merging,
events, limits, and answers by customer-service message against the fake WeChat API."""

from __future__ import annotations

import asyncio
import io
import re
import time
from datetime import datetime
from typing import Any

import redis.asyncio as aioredis
from aiohttp import ClientResponse

from adapters.wechat import WechatAdapter
from gateway.config import Config
from gateway.registry import Registry
from gateway.store import Keys
from normalizer import SHANGHAI, Appeal
from tests.adapters.wechat.wechat import (
    CHANNEL,
    OPENID,
    PATH,
    FakeWechatApi,
    WechatServer,
    message_xml,
    with_wechat,
)
from tests.conformance.kit import Req, send, stored_appeals
from tests.conftest import FakeClock, Gateway, UnitReceiver, start_gateway

WECHAT = WechatServer()
APPEAL_NO = re.compile(r"[A-Z]+-\d{8}-\d{6,}")


async def reply_of(response: ClientResponse) -> dict[str, Any]:
    assert response.status == 200, await response.text()
    return WECHAT.decrypt_reply(await response.text())


def number_in(reply: dict[str, Any]) -> str:
    match = APPEAL_NO.search(reply["Content"])
    assert match, reply
    return match.group(0)


async def appeal(gateway: Gateway, appeal_no: str) -> Appeal:
    record = await gateway.runtime.appeals.get(appeal_no)
    assert record is not None
    return record.appeal


def adapter(gateway: Gateway) -> WechatAdapter:
    found = gateway.runtime.adapters[CHANNEL]
    assert isinstance(found, WechatAdapter)
    return found


async def test_an_encrypt_type_it_does_not_declare_is_refused_naming_it(
    gateway: Gateway, redis: aioredis.Redis, keys: Keys
) -> None:
    query = WECHAT.query() | {"encrypt_type": "rot13", "msg_signature": "x"}
    response = await gateway.client.post(PATH, params=query, data=message_xml(Content="路灯坏了"))
    assert response.status == 400
    assert (await response.json())["error"]["detail"]["field"] == "encrypt_type"
    assert await stored_appeals(redis, keys) == []


async def test_url_verification_echoes_echostr_only_when_signed(gateway: Gateway) -> None:
    ok = await gateway.client.get(PATH, params=WECHAT.query() | {"echostr": "4302158926519433"})
    assert ok.status == 200 and await ok.text() == "4302158926519433"
    forged = WechatServer(token="not-our-token").query() | {"echostr": "4302158926519433"}
    refused = await gateway.client.get(PATH, params=forged)
    assert refused.status == 401
    assert "4302158926519433" not in await refused.text()
    stale = await gateway.client.get(PATH, params=WECHAT.query(timestamp=int(time.time()) - 3600))
    assert stale.status == 401


async def test_safe_mode_message_retried_three_times_is_one_appeal_answered_fast_and_reaches_a_unit(
    gateway: Gateway, redis: aioredis.Redis, keys: Keys
) -> None:
    req = WECHAT.safe(message_xml(Content="龙子湖区东风街道幸福小区门口的路灯坏了一个多月，晚上很黑"))
    numbers, seconds = [], []
    for _ in range(3):  # WeChat's first try and two retries, the same bytes each time
        started = time.perf_counter()
        response = await send(gateway, req)
        seconds.append(time.perf_counter() - started)
        reply = await reply_of(response)
        assert reply["ToUserName"] == OPENID and reply["MsgType"] == "text"
        numbers.append(number_in(reply))
    assert len(set(numbers)) == 1
    assert max(seconds) < 5.0, seconds
    assert len(await stored_appeals(redis, keys)) == 1
    stored = await appeal(gateway, numbers[0])
    assert stored.channel_kind == "wechat" and stored.citizen.identity is not None
    assert stored.reply_route.address == OPENID
    # the thread's hold ends (here: at once), the appeal is routed and delivered to a unit
    await gateway.runtime.appeals.release_held(time.time() + 3600)
    (delivery,) = await gateway.receiver.wait_for(1)
    assert numbers[0] in delivery.body.decode()


async def test_concurrent_retries_make_one_appeal(
    gateway: Gateway, redis: aioredis.Redis, keys: Keys
) -> None:
    req = WECHAT.safe(message_xml(Content="淮上区菜市场占道经营，早上车辆无法通行"))
    responses = await asyncio.gather(*(send(gateway, req) for _ in range(3)))
    numbers = {number_in(await reply_of(r)) for r in responses}
    assert len(numbers) == 1
    assert len(await stored_appeals(redis, keys)) == 1


async def test_text_photo_and_location_within_the_hold_become_one_appeal(
    gateway: Gateway, redis: aioredis.Redis, keys: Keys
) -> None:
    first = await reply_of(
        await send(gateway, WECHAT.safe(message_xml(Content="涂山路下水道堵了，污水漫到人行道")))
    )
    photo = message_xml("image", PicUrl="http://mmbiz.qpic.cn/mmbiz_jpg/abc/0", MediaId="m1")
    second = await reply_of(await send(gateway, WECHAT.safe(photo)))
    place = message_xml("location", Location_X="32.91", Location_Y="117.38", Scale="15", Label="涂山路")
    third = await reply_of(await send(gateway, WECHAT.safe(place)))
    appeal_no = number_in(first)
    assert number_in(second) == number_in(third) == appeal_no
    assert "受理" in first["Content"] and "补充" in second["Content"]
    assert len(await stored_appeals(redis, keys)) == 1
    merged = await appeal(gateway, appeal_no)
    assert "涂山路下水道堵了" in merged.content
    assert [a.kind.value for a in merged.attachments] == ["image"]
    assert merged.location.coordinates is not None and merged.location.coordinates.system == "gcj02"


async def test_voice_uses_the_recognition_transcript(gateway: Gateway) -> None:
    voice = message_xml("voice", MediaId="v1", Format="amr", Recognition="小区电梯坏了三天没人修")
    appeal_no = number_in(await reply_of(await send(gateway, WECHAT.safe(voice))))
    stored = await appeal(gateway, appeal_no)
    assert stored.content == "小区电梯坏了三天没人修"
    assert stored.attachments[0].transcript == "小区电梯坏了三天没人修"


async def test_subscribe_gets_a_welcome_and_no_appeal(
    gateway: Gateway, redis: aioredis.Redis, keys: Keys
) -> None:
    reply = await reply_of(await send(gateway, WECHAT.safe(message_xml("event", Event="subscribe"))))
    assert "欢迎" in reply["Content"]
    assert await stored_appeals(redis, keys) == []


async def test_a_reported_location_joins_the_citizens_next_message(gateway: Gateway) -> None:
    event = message_xml("event", Event="LOCATION", Latitude="32.93", Longitude="117.36", Precision="65")
    response = await send(gateway, WECHAT.safe(event))
    assert response.status == 200 and await response.text() == "success"
    appeal_no = number_in(
        await reply_of(await send(gateway, WECHAT.safe(message_xml(Content="这里井盖丢了"))))
    )
    coordinates = (await appeal(gateway, appeal_no)).location.coordinates
    assert coordinates is not None and (coordinates.lat, coordinates.lon) == (32.93, 117.36)


async def test_other_events_are_answered_success(gateway: Gateway, redis: aioredis.Redis, keys: Keys) -> None:
    for event in ("unsubscribe", "CLICK", "VIEW", "TEMPLATESENDJOBFINISH"):
        response = await send(gateway, WECHAT.safe(message_xml("event", Event=event, EventKey="k")))
        assert response.status == 200 and await response.text() == "success"
    assert await stored_appeals(redis, keys) == []


async def test_plaintext_and_compatible_modes(
    config: Config, redis: aioredis.Redis, keys: Keys, registry: Registry, receiver: UnitReceiver
) -> None:
    plain_gw = await start_gateway(with_wechat(config, mode="plaintext"), redis, keys, registry, receiver)
    try:
        response = await send(plain_gw, WECHAT.plain(message_xml(Content="明文模式：公交站牌倒了")))
        assert response.status == 200
        body = await response.text()
        assert "<Encrypt>" not in body and APPEAL_NO.search(body)
        assert (await send(plain_gw, WECHAT.safe(message_xml(Content="x")))).status < 500
    finally:
        await plain_gw.client.close()
    compatible = await start_gateway(with_wechat(config, mode="compatible"), redis, keys, registry, receiver)
    try:
        encrypted = WECHAT.safe(message_xml(Content="兼容模式：加密消息"), compatible=True)
        number_in(await reply_of(await send(compatible, encrypted)))  # encrypted reply
        response = await send(compatible, WECHAT.plain(message_xml(Content="兼容模式：明文消息")))
        assert response.status == 200 and APPEAL_NO.search(await response.text())
    finally:
        await compatible.client.close()


async def test_entities_inside_the_encrypted_message_are_refused(
    gateway: Gateway, redis: aioredis.Redis, keys: Keys
) -> None:
    inner = '<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>' + message_xml(
        Content="&b;"
    )
    response = await send(gateway, WECHAT.safe(inner))
    assert response.status == 400
    assert (await response.json())["error"]["code"] == "bad_request"
    outer = WECHAT.plain(
        '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><Encrypt>&e;</Encrypt></xml>'
    )
    outer.params |= {"encrypt_type": "aes", "msg_signature": "0" * 40}
    assert (await send(gateway, outer)).status == 400
    assert await stored_appeals(redis, keys) == []


async def test_oversized_body_gets_413(gateway: Gateway) -> None:
    size = gateway.runtime.config.gateway.intake.max_body_bytes + 10
    req = WECHAT.safe(message_xml(Content="x"))
    req.data = io.BytesIO(b"<xml>" + b"x" * size + b"</xml>")
    response = await send(gateway, req)
    assert response.status == 413


# --- answers by customer-service message -------------------------------------------------------


async def _appeal_from_citizen(gateway: Gateway, openid: str = OPENID) -> Appeal:
    xml = message_xml(Content="建议在学校门口增设红绿灯", openid=openid)
    return await appeal(gateway, number_in(await reply_of(await send(gateway, WECHAT.safe(xml)))))


async def test_answer_is_sent_with_a_token_cached_in_redis(
    wechat_gateway: Gateway, wechat_api: FakeWechatApi, redis: aioredis.Redis
) -> None:
    stored = await _appeal_from_citizen(wechat_gateway)
    wechat = adapter(wechat_gateway)
    first = await wechat.answer(stored, "您反映的问题已转交交通部门办理。")
    second = await wechat.answer(stored, "回访：请问您对办理结果是否满意？")
    assert first.delivered and second.delivered
    assert wechat_api.tokens_issued == 1
    assert await redis.get(wechat.state_key("access_token")) is not None
    assert [m["text"]["content"] for m in wechat_api.sent] == [
        "您反映的问题已转交交通部门办理。",
        "回访：请问您对办理结果是否满意？",
    ]
    assert all(m["touser"] == OPENID for m in wechat_api.sent)


async def test_an_expired_token_is_renewed_and_the_answer_sent(
    wechat_gateway: Gateway, wechat_api: FakeWechatApi
) -> None:
    stored = await _appeal_from_citizen(wechat_gateway)
    wechat = adapter(wechat_gateway)
    assert (await wechat.answer(stored, "第一条")).delivered
    wechat_api.expire_tokens()  # 42001 on the next call
    result = await wechat.answer(stored, "第二条")
    assert result.delivered, result
    assert wechat_api.tokens_issued == 2 and len(wechat_api.sent) == 2


async def test_wechat_saying_the_window_passed_is_a_fallback_the_operator_sees(
    wechat_gateway: Gateway, wechat_api: FakeWechatApi
) -> None:
    stored = await _appeal_from_citizen(wechat_gateway)
    wechat_api.outside_window.add(OPENID)
    result = await adapter(wechat_gateway).answer(stored, "答复")
    assert not result.delivered and "48-hour" in result.detail and "phone or SMS" in result.detail
    assert result.via == "wechat customer-service message"


async def test_past_48_hours_no_call_is_made_and_the_operator_is_told(
    config: Config,
    redis: aioredis.Redis,
    keys: Keys,
    registry: Registry,
    receiver: UnitReceiver,
    wechat_api: FakeWechatApi,
) -> None:
    clock = FakeClock(datetime.now(SHANGHAI))
    gw = await start_gateway(
        with_wechat(config, api_base=wechat_api.url), redis, keys, registry, receiver, clock=clock
    )
    try:
        stored = await _appeal_from_citizen(gw)
        clock.advance(47 * 3600)
        assert (await adapter(gw).answer(stored, "47小时后的答复")).delivered
        clock.advance(2 * 3600)
        late = await adapter(gw).answer(stored, "49小时后的答复")
        assert not late.delivered and "48-hour" in late.detail
        assert len(wechat_api.sent) == 1
    finally:
        await gw.client.close()


async def test_a_wrong_app_secret_is_reported_not_raised(
    config: Config,
    redis: aioredis.Redis,
    keys: Keys,
    registry: Registry,
    receiver: UnitReceiver,
    wechat_api: FakeWechatApi,
) -> None:
    wrong = with_wechat(config, api_base=wechat_api.url, app_secret="not-the-secret")
    gw = await start_gateway(wrong, redis, keys, registry, receiver)
    try:
        stored = await _appeal_from_citizen(gw)
        result = await adapter(gw).answer(stored, "答复")
        assert not result.delivered and "credential" in result.detail
        check = await adapter(gw).check()
        assert not check.ok and "40125" in check.detail
    finally:
        await gw.client.close()


async def test_check_obtains_a_token(wechat_gateway: Gateway, wechat_api: FakeWechatApi) -> None:
    result = await adapter(wechat_gateway).check()
    assert result.ok and wechat_api.tokens_issued == 1


async def test_unreachable_api_is_a_result_not_an_error(wechat_gateway: Gateway) -> None:
    stored = await _appeal_from_citizen(wechat_gateway)
    wechat = adapter(wechat_gateway)
    wechat.api().base_url = "http://127.0.0.1:9"  # type: ignore[union-attr]  # nothing listens there
    result = await wechat.answer(stored, "答复")
    assert not result.delivered and "cannot be reached" in result.detail


def test_req_helpers_sign_what_they_send() -> None:
    req: Req = WECHAT.safe(message_xml(Content="x"))
    assert req.params["encrypt_type"] == "aes" and len(req.params["msg_signature"]) == 40

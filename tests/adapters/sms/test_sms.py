"""The sms kind as a provider and a citizen see it: pushes, retries, merging, acknowledgements."""

from __future__ import annotations

import dataclasses
import io
import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import pytest
import redis.asyncio as aioredis

from adapters.sms import SmsAdapter
from adapters.sms.config import SmsConfig
from gateway.config import Config
from gateway.errors import AdapterAuthError
from gateway.registry import Registry
from gateway.store import Keys
from normalizer import SHANGHAI, Appeal
from tests.adapters.sms.standin import SMS_TOKEN, UPLINK, SmsStandIn
from tests.conformance.kit import stored_appeals
from tests.conftest import FakeClock, Gateway, UnitReceiver, eventually, start_gateway

START = datetime(2026, 11, 29, 8, 15, tzinfo=SHANGHAI)


def sms(seq: int, phone: str, content: str) -> dict[str, Any]:
    return {
        "phone_number": phone,
        "send_time": "2026-11-29 08:15:02",
        "content": content,
        "sign_name": "蚌埠12345",
        "dest_code": "12345",
        "sequence_id": seq,
    }


async def post(gw: Gateway, body: Any, token: str = SMS_TOKEN, **headers: str) -> Any:
    data = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    return await gw.client.post(
        UPLINK, data=data, params={"token": token}, headers={"Content-Type": "application/json", **headers}
    )


def with_settings(config: Config, **changes: Any) -> Config:
    channels = tuple(
        dataclasses.replace(c, settings=SmsConfig.model_validate(c.settings.model_dump() | changes))
        if c.id == "sms-12345" and c.settings is not None
        else c
        for c in config.channels
    )
    return dataclasses.replace(config, channels=channels)


@pytest.fixture
async def clocked(
    config: Config, redis: aioredis.Redis, keys: Keys, registry: Registry, receiver: UnitReceiver
) -> AsyncIterator[tuple[Gateway, FakeClock]]:
    clock = FakeClock(START)
    gw = await start_gateway(config, redis, keys, registry, receiver, clock=clock)
    yield gw, clock
    await gw.client.close()


async def appeals(redis: aioredis.Redis, keys: Keys) -> list[Appeal]:
    found = [
        Appeal.model_validate_json(await redis.hget(k, "appeal")) for k in await stored_appeals(redis, keys)
    ]
    return sorted(found, key=lambda a: a.appeal_no)


async def test_forged_and_missing_tokens_are_refused(
    gateway: Gateway, redis: aioredis.Redis, keys: Keys
) -> None:
    for token in ("forged", ""):
        response = await post(gateway, [sms(1, "13912341234", "路灯坏了")], token=token)
        assert response.status == 401
        assert (await response.json())["error"]["code"] == "unauthorized"
    assert await stored_appeals(redis, keys) == []


async def test_address_outside_the_allowlist_is_refused(
    config: Config, redis: aioredis.Redis, keys: Keys, registry: Registry, receiver: UnitReceiver
) -> None:
    gw = await start_gateway(
        with_settings(config, allow_from=["100.100.0.0/16"]), redis, keys, registry, receiver
    )
    try:
        response = await post(gw, [sms(1, "13912341234", "路灯坏了")])
        assert response.status == 403
    finally:
        await gw.client.close()
    gw = await start_gateway(
        with_settings(config, allow_from=["127.0.0.0/8"]), redis, keys, registry, receiver
    )
    try:
        assert (await post(gw, [sms(1, "13912341234", "路灯坏了")])).status == 200
    finally:
        await gw.client.close()


async def test_retried_aliyun_push_makes_one_appeal_per_sms_each_acknowledged_and_routed(
    clocked: tuple[Gateway, FakeClock], redis: aioredis.Redis, keys: Keys, standin: SmsStandIn
) -> None:
    gw, clock = clocked
    batch = [
        sms(5001, "13912341234", "胜利路菜市场门口占道经营，早上车辆无法通行"),
        sms(5002, "18655556789", "小区停水两天了，自来水公司什么时候恢复供水？"),
    ]
    for _ in range(3):  # Aliyun re-pushes the batch until it reads its answer
        response = await post(gw, batch)
        assert response.status == 200
        assert await response.json() == {"code": 0, "msg": "接收成功"}
    stored = await appeals(redis, keys)
    assert len(stored) == 2
    sent = await standin.wait_for(2)
    assert {(s["PhoneNumbers"], s["TemplateCode"]) for s in sent} == {
        ("13912341234", "SMS_480010001"),
        ("18655556789", "SMS_480010001"),
    }
    assert {s["TemplateParam"]["no"] for s in sent} == {a.appeal_no for a in stored}
    assert all(s["SignName"] == "蚌埠12345" for s in sent)
    clock.advance(121)  # the two-minute merge window closes: the appeals are routed
    received = await gw.receiver.wait_for(2)
    assert {r.json()["data"]["appeal"]["appeal_no"] for r in received} >= {a.appeal_no for a in stored}
    assert len(standin.sent) == 2  # retries are not acknowledged again


async def test_sms_from_one_phone_within_two_minutes_make_one_appeal(
    clocked: tuple[Gateway, FakeClock], redis: aioredis.Redis, keys: Keys, standin: SmsStandIn
) -> None:
    gw, clock = clocked
    await post(gw, [sms(6001, "13912341234", "胜利路菜市场门口占道经营")])
    clock.advance(60)
    await post(gw, [sms(6002, "13912341234", "早上七点到九点车辆无法通行")])
    clock.advance(100)  # still within two minutes of the last one
    await post(gw, [sms(6003, "+86 139 1234 1234", "希望城管部门管一管")])
    (appeal,) = await appeals(redis, keys)
    assert appeal.content.splitlines() == [
        "胜利路菜市场门口占道经营",
        "早上七点到九点车辆无法通行",
        "希望城管部门管一管",
    ]
    assert appeal.citizen.phone == "+8613912341234"
    clock.advance(121)
    record = await gw.wait_state(appeal.appeal_no, "dispatched", "manual")
    assert record is not None
    await post(gw, [sms(6004, "13912341234", "另外路灯也坏了")])  # after the window: a new appeal
    assert len(await appeals(redis, keys)) == 2
    await standin.wait_for(2)
    assert len(standin.sent) == 2  # one acknowledgement per appeal, not per SMS


@pytest.mark.parametrize(
    ("provider", "body", "content_type", "answer"),
    [
        (
            "tencent",
            b'{"extend": "", "mobile": "13912341234", "nationcode": "86", "sign": "x", '
            b'"text": "\xe8\xb7\xaf\xe7\x81\xaf\xe5\x9d\x8f\xe4\xba\x86", "time": 1795997702}',
            "application/json",
            {"result": 0, "errmsg": "OK"},
        ),
        (
            "form",
            b"mobile=13912341234&content=%E8%B7%AF%E7%81%AF%E5%9D%8F%E4%BA%86&msgid=g-1",
            "application/x-www-form-urlencoded",
            {"code": 0, "msg": "OK"},
        ),
    ],
)
async def test_other_providers_get_their_own_answer(
    config: Config,
    redis: aioredis.Redis,
    keys: Keys,
    registry: Registry,
    receiver: UnitReceiver,
    provider: str,
    body: bytes,
    content_type: str,
    answer: dict[str, Any],
) -> None:
    gw = await start_gateway(with_settings(config, provider=provider), redis, keys, registry, receiver)
    try:
        for _ in range(2):
            response = await post(gw, body, **{"Content-Type": content_type})
            assert response.status == 200, await response.text()
            assert await response.json() == answer
        (appeal,) = await appeals(redis, keys)
        assert appeal.content == "路灯坏了"
    finally:
        await gw.client.close()


async def test_oversized_push_gets_413(gateway: Gateway, redis: aioredis.Redis, keys: Keys) -> None:
    size = gateway.runtime.config.gateway.intake.max_body_bytes + 10
    response = await gateway.client.post(
        UPLINK, data=io.BytesIO(b"[" + b" " * size + b"]"), params={"token": SMS_TOKEN}
    )
    assert response.status == 413
    assert await stored_appeals(redis, keys) == []


async def test_answer_goes_out_as_a_template_sms(gateway: Gateway, standin: SmsStandIn) -> None:
    response = await post(gateway, [sms(7001, "13912341234", "路灯坏了")])
    assert response.status == 200
    await standin.wait_for(1)
    adapter = gateway.runtime.adapters["sms-12345"]
    assert isinstance(adapter, SmsAdapter)
    (appeal,) = await appeals(gateway.runtime.redis, gateway.runtime.keys)
    result = await adapter.answer(
        appeal, "经核实，路灯已于11月30日修复，感谢您对城市管理工作的支持与监督！欢迎继续反映。"
    )
    assert result.delivered and result.via == "sms"
    last = standin.sent[-1]
    assert last["TemplateCode"] == "SMS_480010002"
    assert last["TemplateParam"]["no"] == appeal.appeal_no
    assert len(last["TemplateParam"]["text"]) == 35 and last["TemplateParam"]["text"].endswith("…")

    standin.codes.append("isv.MOBILE_NUMBER_ILLEGAL")
    refused = await adapter.answer(appeal, "已修复")
    assert not refused.delivered and "MOBILE_NUMBER_ILLEGAL" in refused.detail
    assert (await adapter.send_failures())[0]["appeal_no"] == appeal.appeal_no

    standin.codes.append("InvalidAccessKeyId.NotFound")
    with pytest.raises(AdapterAuthError):
        await adapter.answer(appeal, "已修复")


async def test_failed_acknowledgement_is_recorded_not_fatal(gateway: Gateway, standin: SmsStandIn) -> None:
    standin.codes.append("isv.BUSINESS_LIMIT_CONTROL")
    response = await post(gateway, [sms(8001, "13912341234", "路灯坏了")])
    assert response.status == 200
    adapter = gateway.runtime.adapters["sms-12345"]
    assert isinstance(adapter, SmsAdapter)
    failures = await eventually(adapter.send_failures)
    assert failures[0]["what"] == "ack" and "BUSINESS_LIMIT_CONTROL" in failures[0]["error"]

"""Fixtures of the health tests: the sample gateway with its SMS channel's template API pointed at
an in-process stand-in, an operator webhook receiver, and helpers that post as the channels do."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from gateway.config import Config, load_config
from gateway.health.settings import AlertSettings
from gateway.registry import Registry
from tests.adapters.sms.standin import SMS_TOKEN, UPLINK, SmsStandIn, running_standin, sms_env
from tests.conftest import CONFIG_DIR, OPERATOR_TOKEN, Gateway, UnitReceiver

AUTH = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
ALERT_SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@pytest.fixture
async def standin() -> AsyncIterator[SmsStandIn]:
    async with running_standin() as stand:
        yield stand


@pytest.fixture
def config(registry: Registry, receiver: UnitReceiver, standin: SmsStandIn) -> Config:
    return load_config(CONFIG_DIR, kinds=registry.kinds, env=sms_env(receiver.url, standin))


@dataclass
class AlertReceiver:
    """The operators' webhook: keeps every post (body and headers)."""

    url: str = ""
    posts: list[tuple[dict[str, Any], dict[str, str], bytes]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.posts.append((json.loads(body), dict(request.headers), body))
        return web.Response(status=204)

    def of(self, kind: str, key: str) -> list[dict[str, Any]]:
        return [p for p, _, _ in self.posts if p["type"] == kind and p["alert"]["key"] == key]


@pytest.fixture
async def alert_receiver() -> AsyncIterator[AlertReceiver]:
    recv = AlertReceiver()
    app = web.Application()
    app.router.add_post("/alerts", recv.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    recv.url = str(server.make_url("/alerts"))
    yield recv
    await server.close()


def with_alerts(config: Config, **settings: Any) -> Config:
    alerts = AlertSettings.model_validate(settings)
    return dataclasses.replace(config, gateway=config.gateway.model_copy(update={"alerts": alerts}))


def sms(seq: int, phone: str, content: str) -> dict[str, Any]:
    return {
        "phone_number": phone,
        "send_time": "2026-11-29 08:15:02",
        "content": content,
        "sign_name": "蚌埠12345",
        "dest_code": "12345",
        "sequence_id": seq,
    }


async def post_sms(gw: Gateway, *messages: dict[str, Any], token: str = SMS_TOKEN) -> int:
    response = await gw.client.post(
        UPLINK,
        data=json.dumps(list(messages), ensure_ascii=False).encode(),
        params={"token": token},
        headers={"Content-Type": "application/json"},
    )
    return response.status


async def forged_wechat(gw: Gateway) -> int:
    response = await gw.client.post(
        "/channels/wechat-official",
        params={"signature": "0" * 40, "timestamp": "1764380000", "nonce": "1", "openid": "o1"},
        data=b"<xml><ToUserName>gh</ToUserName><MsgType>text</MsgType><Content>x</Content></xml>",
        headers={"Content-Type": "text/xml"},
    )
    return response.status


async def channels(gw: Gateway) -> dict[str, dict[str, Any]]:
    response = await gw.client.get("/api/v1/channels", headers=AUTH)
    assert response.status == 200, await response.text()
    return {c["id"]: c for c in (await response.json())["items"]}


async def settle() -> None:
    """Let background acknowledgements (template SMS) finish before the fixtures close."""
    await asyncio.sleep(0.05)

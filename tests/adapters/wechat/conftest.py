"""Fixtures of the wechat kind's tests: the fake WeChat API server, a gateway that calls it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from aiohttp import web
from aiohttp.test_utils import TestServer

from gateway.config import Config
from gateway.registry import Registry
from gateway.store import Keys
from tests.adapters.wechat.wechat import FakeWechatApi, with_wechat
from tests.conftest import Gateway, UnitReceiver, start_gateway


@pytest.fixture
async def wechat_api() -> AsyncIterator[FakeWechatApi]:
    fake = FakeWechatApi()
    app = web.Application()
    app.router.add_get("/cgi-bin/token", fake.token)
    app.router.add_post("/cgi-bin/message/custom/send", fake.custom_send)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    fake.url = str(server.make_url("")).rstrip("/")
    yield fake
    await server.close()


@pytest.fixture
async def wechat_gateway(
    config: Config,
    redis: aioredis.Redis,
    keys: Keys,
    registry: Registry,
    receiver: UnitReceiver,
    wechat_api: FakeWechatApi,
) -> AsyncIterator[Gateway]:
    """The gateway with the sample configuration, WeChat's API pointed at the fake."""
    gw = await start_gateway(with_wechat(config, api_base=wechat_api.url), redis, keys, registry, receiver)
    yield gw
    await gw.client.close()

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from gateway.config import Config, load_config
from gateway.registry import Registry
from tests.adapters.sms.standin import ACCESS_KEY_ID, ACCESS_KEY_SECRET, SmsStandIn
from tests.conftest import CONFIG_DIR, UnitReceiver, sample_env

SMS_TOKEN = "test-sms-token"
UPLINK = "/channels/sms-12345/uplink"


@pytest.fixture
async def standin() -> AsyncIterator[SmsStandIn]:
    stand = SmsStandIn()
    app = web.Application()
    app.router.add_post("/", stand.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    stand.url = str(server.make_url("/"))
    yield stand
    await server.close()


def sms_env(receiver: UnitReceiver, standin: SmsStandIn) -> dict[str, str]:
    return sample_env(receiver.url) | {
        "SMS_CALLBACK_TOKEN": SMS_TOKEN,
        "SMS_SEND_ENDPOINT": standin.url,
        "SMS_ACCESS_KEY_ID": ACCESS_KEY_ID,
        "SMS_ACCESS_KEY_SECRET": ACCESS_KEY_SECRET,
    }


@pytest.fixture
def config(registry: Registry, receiver: UnitReceiver, standin: SmsStandIn) -> Config:
    """The sample configuration with the SMS channel's template API pointed at the stand-in."""
    return load_config(CONFIG_DIR, kinds=registry.kinds, env=sms_env(receiver, standin))

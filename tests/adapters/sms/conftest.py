from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from gateway.config import Config, load_config
from gateway.registry import Registry
from tests.adapters.sms.standin import SmsStandIn, running_standin, sms_env
from tests.conftest import CONFIG_DIR, UnitReceiver


@pytest.fixture
async def standin() -> AsyncIterator[SmsStandIn]:
    async with running_standin() as stand:
        yield stand


@pytest.fixture
def config(registry: Registry, receiver: UnitReceiver, standin: SmsStandIn) -> Config:
    """The sample configuration with the SMS channel's template API pointed at the stand-in."""
    return load_config(CONFIG_DIR, kinds=registry.kinds, env=sms_env(receiver.url, standin))

from __future__ import annotations

import pytest

from gateway.config import Config, load_config
from gateway.registry import Registry
from tests.conftest import CONFIG_DIR, UnitReceiver, sample_env

PHONE_TOKEN = "test-phone-token"
EVENTS = "/channels/phone-12345/events"
BEARER = {"Authorization": f"Bearer {PHONE_TOKEN}"}


@pytest.fixture
def config(registry: Registry, receiver: UnitReceiver) -> Config:
    return load_config(
        CONFIG_DIR, kinds=registry.kinds, env=sample_env(receiver.url) | {"PHONE_API_TOKEN": PHONE_TOKEN}
    )

"""The feed kind's tests: the upstream simulator runs in-process as a real aiohttp server on
127.0.0.1, and the sample configuration's ``governor-hotline`` pulls from it, fast."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from adapters.feed import FeedConfig
from adapters.feed.simulator import Simulator
from gateway.config import Config, load_config
from gateway.registry import Registry
from tests.conftest import CONFIG_DIR, UnitReceiver, sample_env

CHANNEL = "governor-hotline"
APP_KEY = "test-feed-app-key"
APP_SECRET = "test-feed-app-secret"
OTHER_FEEDS = ("PEOPLE_DAILY", "STATE_COUNCIL", "NATIONAL_SERVICE", "PROVINCIAL_APP")


@dataclasses.dataclass
class Upstream:
    """The running simulator and a client of its control API."""

    sim: Simulator
    url: str
    session: aiohttp.ClientSession

    async def inject(self, **order: Any) -> Any:
        async with self.session.post(f"{self.url}/_sim/orders", json=order) as r:
            assert r.status == 201, await r.text()
            return await r.json()

    async def behave(self, **behaviour: Any) -> None:
        async with self.session.post(f"{self.url}/_sim/behaviour", json=behaviour) as r:
            assert r.status == 200, await r.text()

    async def writebacks(self) -> list[dict[str, Any]]:
        async with self.session.get(f"{self.url}/_sim/writebacks") as r:
            assert r.status == 200
            result: list[dict[str, Any]] = await r.json()
            return result


@pytest.fixture
async def upstream() -> AsyncIterator[Upstream]:
    sim = Simulator(app_key=APP_KEY, app_secret=APP_SECRET)
    server = TestServer(sim.make_app(), host="127.0.0.1")
    await server.start_server()
    async with aiohttp.ClientSession() as session:
        yield Upstream(sim, str(server.make_url("")).rstrip("/"), session)
    await server.close()


def fast(settings: FeedConfig) -> FeedConfig:
    """Short intervals and timeouts so the tests wait for milliseconds, not minutes."""
    assert settings.pull is not None
    pull = settings.pull.model_copy(
        update={"interval_seconds": 0.05, "backoff_initial_seconds": 0.05, "backoff_max_seconds": 0.2}
    )
    writeback = settings.writeback.model_copy(
        update={"backoff_initial_seconds": 0.05, "backoff_max_seconds": 0.2, "alert_after_attempts": 3}
    )
    return settings.model_copy(update={"pull": pull, "writeback": writeback, "timeout_seconds": 0.5})


def feed_env(receiver: UnitReceiver, upstream: Upstream) -> dict[str, str]:
    env = sample_env(receiver.url) | {
        "GOVERNOR_HOTLINE_URL": upstream.url,
        "GOVERNOR_HOTLINE_APP_KEY": APP_KEY,
        "GOVERNOR_HOTLINE_APP_SECRET": APP_SECRET,
    }
    return env | {f"{name}_URL": "http://127.0.0.1:9" for name in OTHER_FEEDS}  # nothing listens


@pytest.fixture
def config(registry: Registry, receiver: UnitReceiver, upstream: Upstream) -> Config:
    """The sample configuration with ``governor-hotline`` pulling from the simulator, fast."""
    loaded = load_config(CONFIG_DIR, kinds=registry.kinds, env=feed_env(receiver, upstream))
    channels = tuple(
        dataclasses.replace(c, settings=fast(c.settings)) if isinstance(c.settings, FeedConfig) else c
        for c in loaded.channels
    )
    return dataclasses.replace(loaded, channels=channels)

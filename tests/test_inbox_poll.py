"""The pull inbox's long poll: bad waits answer 400 at once; a poll ends when its client goes away
and when the gateway stops, so no poll loop outlives its request and a graceful stop is quick."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis
from aiohttp import web

from gateway.app import create_app
from gateway.config import load_config
from gateway.registry import Registry
from gateway.runtime import Runtime
from gateway.store import Keys
from tests.conftest import CONFIG_DIR, UnitReceiver, eventually, sample_env

INBOX = "/api/v1/units/gas-supply/inbox"


@dataclass
class Pulling:
    """A gateway served as ``serve`` serves it (aiohttp does not cancel a handler whose client left),
    where gas-supply pulls its work."""

    runner: web.AppRunner
    url: str
    auth: dict[str, str]
    session: aiohttp.ClientSession

    def get(self, **params: str) -> Any:
        return self.session.get(self.url + INBOX, params=params, headers=self.auth)


@pytest.fixture
async def pulling(
    tmp_path: Path, redis: aioredis.Redis, keys: Keys, registry: Registry, receiver: UnitReceiver
) -> AsyncIterator[Pulling]:
    directory = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, directory)
    units = directory / "units.yaml"
    marker = "  - id: gas-supply\n"
    units.write_text(units.read_text("utf-8").replace(marker, marker + "    delivery: pull\n", 1), "utf-8")
    config = load_config(directory, kinds=registry.kinds, env=sample_env(receiver.url))
    runtime = Runtime(config, redis, keys, registry, env=sample_env(receiver.url))
    runner = web.AppRunner(create_app(runtime), handler_cancellation=False)  # as web.run_app
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    token = (await runtime.credentials.get("gas-supply")).api_token
    async with aiohttp.ClientSession() as session:
        yield Pulling(runner, f"http://{host}:{port}", {"Authorization": f"Bearer {token}"}, session)
    await runner.cleanup()


def handlers_running() -> int:
    """Requests whose handler the test server is still running (each in a task of its own)."""
    names = (getattr(t.get_coro(), "__qualname__", "") for t in asyncio.all_tasks())
    return sum(1 for name in names if name == "RequestHandler._handle_request")


async def test_a_wait_that_is_not_a_finite_number_in_bounds_is_400_at_once(pulling: Pulling) -> None:
    for wait in ("nan", "NaN", "inf", "-inf", "-1", "31", "1e400", "9" * 5000, "²", "١"):
        async with asyncio.timeout(2), pulling.get(wait=wait) as response:
            assert response.status == 400, wait
            body = await response.json()
        assert body["error"]["code"] == "bad_request" and "wait" in body["error"]["message"], wait
    for limit in ("0", "101", "nan", "1.5", "²"):
        async with pulling.get(limit=limit) as response:
            assert response.status == 400, limit


async def test_a_poll_ends_when_its_client_goes_away(pulling: Pulling) -> None:
    polls = [asyncio.create_task(pulling.get(wait="30")) for _ in range(10)]
    await eventually(lambda: asyncio.sleep(0, handlers_running() == 10))
    for poll in polls:
        poll.cancel()
    await pulling.session.close()  # the clients hang up 29 seconds before their wait is over
    await eventually(lambda: asyncio.sleep(0, handlers_running() == 0), timeout=3)


async def test_a_stop_ends_the_polls_at_once(pulling: Pulling) -> None:
    polls = [asyncio.create_task(pulling.get(wait="30")) for _ in range(20)]
    await eventually(lambda: asyncio.sleep(0, handlers_running() == 20))
    await asyncio.wait_for(pulling.runner.cleanup(), 10)  # graceful: waits for the requests in flight
    for poll in polls:
        response = await asyncio.wait_for(poll, 1)
        assert response.status == 200 and (await response.json())["count"] == 0

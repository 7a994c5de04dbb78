"""The record against both databases: SQLite in a temporary directory, and the machine's PostgreSQL
(127.0.0.1:5432, user postgres) in a database made for this test session and dropped afterwards."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.app import create_app
from gateway.config import Config
from gateway.records.db import make_engine
from gateway.records.migrate import upgrade
from gateway.records.schema import metadata
from gateway.registry import Registry
from gateway.runtime import Runtime
from gateway.store import Keys
from tests.conftest import Gateway, UnitReceiver, _reachable, sample_env

PG_HOST, PG_PORT = "127.0.0.1", 5432
TABLES = ", ".join(table.name for table in metadata.sorted_tables)  # every table of the record


def _admin(statement: str) -> None:
    """One statement on the server's ``postgres`` database (in a thread: a test's loop may be running)."""
    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user="postgres", database="postgres")
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, run()).result()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    if not _reachable(PG_HOST, PG_PORT):
        pytest.skip("no PostgreSQL at 127.0.0.1:5432 (CI has one): the PostgreSQL half is not run")
    name = f"hotline_test_{uuid.uuid4().hex[:10]}"
    _admin(f'CREATE DATABASE "{name}" TEMPLATE template0')  # template1 may be busy: another run's CREATE
    yield f"postgresql+asyncpg://postgres@{PG_HOST}:{PG_PORT}/{name}"
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def empty_postgres(postgres_url: str) -> str:
    """The session's PostgreSQL database, migrated and emptied for this test."""
    engine = make_engine(postgres_url)
    await upgrade(engine)
    async with engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {TABLES}"))
    await engine.dispose()
    return postgres_url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of either kind (SQLite: a new file, migrated when first used)."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'record.db'}"
    url: str = request.getfixturevalue("empty_postgres")
    return url


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(database_url)
    await upgrade(engine)
    yield engine
    await engine.dispose()


RECORD_ENV = {"HOTLINE_RECORDER_CLAIM_SECONDS": "0.5", "HOTLINE_RETENTION_SWEEP_SECONDS": "0.2"}


async def recording_gateway(
    config: Config,
    redis: aioredis.Redis,
    keys: Keys,
    registry: Registry,
    receiver: UnitReceiver,
    url: str,
    **env: str,
) -> Gateway:
    """The gateway of the sample city, recording into ``url``."""
    runtime = Runtime(
        config, redis, keys, registry, env=sample_env(receiver.url) | RECORD_ENV | env, database_url=url
    )
    client: TestClient = TestClient(TestServer(create_app(runtime), host="127.0.0.1"))  # type: ignore[type-arg]
    await client.start_server()
    return Gateway(runtime, client, receiver)


@pytest.fixture
async def recording_with(
    config: Config,
    redis: aioredis.Redis,
    keys: Keys,
    registry: Registry,
    receiver: UnitReceiver,
    database_url: str,
) -> AsyncIterator[Callable[..., Awaitable[Gateway]]]:
    """Start recording gateways with more environment (closed after the test)."""
    started: list[Gateway] = []

    async def make(**env: str) -> Gateway:
        started.append(await recording_gateway(config, redis, keys, registry, receiver, database_url, **env))
        return started[-1]

    yield make
    for gw in started:
        await gw.client.close()


@pytest.fixture
async def recording(recording_with: Callable[..., Awaitable[Gateway]]) -> Gateway:
    return await recording_with()

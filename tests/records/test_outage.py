"""The database down for a while: intake and delivery go on, /readyz names the record degraded, the
recorder waits and then catches up with everything, once."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from sqlalchemy.engine import make_url

from gateway.config import Config
from gateway.registry import Registry
from gateway.store import Keys
from tests.conftest import UnitReceiver, eventually
from tests.records.conftest import PG_HOST, PG_PORT, recording_gateway
from tests.records.test_recorder import GAS, caught_up


class Outage:
    """A TCP relay to PostgreSQL on loopback that can be cut (the network between us and it)."""

    def __init__(self) -> None:
        self.up = True
        self.port = 0
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.up:
            writer.close()
            return
        up_reader, up_writer = await asyncio.open_connection(PG_HOST, PG_PORT)
        self._open |= {writer, up_writer}

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, ConnectionError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer))
        self._open -= {writer, up_writer}

    def cut(self) -> None:
        self.up = False
        for writer in list(self._open):
            writer.close()

    async def close(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


@pytest.fixture
async def outage() -> AsyncIterator[Outage]:
    relay = Outage()
    await relay.start()
    yield relay
    await relay.close()


async def test_a_database_down_for_a_while_delays_the_record_and_nothing_else(
    config: Config,
    redis: aioredis.Redis,
    keys: Keys,
    registry: Registry,
    receiver: UnitReceiver,
    empty_postgres: str,
    outage: Outage,
) -> None:
    url = make_url(empty_postgres).set(port=outage.port).render_as_string(hide_password=False)
    gw = await recording_gateway(config, redis, keys, registry, receiver, url)
    try:
        outage.cut()
        numbers = [await gw.post_appeal(description=f"{GAS}（{n}号楼）") for n in range(5)]
        for no in numbers:
            await gw.wait_state(no, "dispatched")
        await receiver.wait_for(5)  # delivered to the units while the record waits

        async def degraded() -> dict[str, object] | None:
            body = await (await gw.client.get("/readyz")).json()
            return body if body.get("degraded") == ["records"] else None

        body = await eventually(degraded, timeout=5)
        assert body["ready"] is True and body["records"]["database"] is False  # type: ignore[index]
        assert body["records"]["lag_events"] >= 10  # type: ignore[index]

        outage.up = True
        for no in numbers:
            await caught_up(gw, no, "dispatched")

        async def healthy() -> bool:
            body = await (await gw.client.get("/readyz")).json()
            return "degraded" not in body and body["records"]["lag_events"] == 0

        await eventually(healthy, timeout=5)
        metrics = await (await gw.client.get("/metrics")).text()
        assert "hotline_recorder_lag_events 0.0" in metrics
        assert "hotline_recorder_database_up 1.0" in metrics
    finally:
        await gw.client.close()

"""Reports sent on a schedule: once per ended period, to a real webhook receiver on loopback; a
failed send is tried again at the next check; several processes send it once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import pytest
import redis.asyncio as aioredis
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.errors import ConfigError
from gateway.records.schedule import Schedule, run_once
from gateway.store import Keys
from normalizer import SHANGHAI
from tests.records.test_reports import HISTORY, write_history

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=SHANGHAI)  # Tuesday of 2026-W48: W47 has ended


class Webhook:
    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.fail = 0

    async def handle(self, request: web.Request) -> web.Response:
        if self.fail:
            self.fail -= 1
            return web.Response(status=503)
        self.received.append(await request.json())
        return web.Response(status=204)


@pytest.fixture
async def webhook() -> AsyncIterator[tuple[Webhook, str]]:
    hook = Webhook()
    app = web.Application()
    app.router.add_post("/reports", hook.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield hook, str(server.make_url("/reports"))
    await server.close()


async def test_the_weekly_report_is_sent_once_and_again_after_a_failure(
    engine: AsyncEngine, redis: aioredis.Redis, keys: Keys, webhook: tuple[Webhook, str]
) -> None:
    hook, url = webhook
    await write_history(engine, HISTORY)
    schedule = Schedule.from_env({"HOTLINE_REPORT_WEBHOOK": url, "HOTLINE_REPORTS": "weekly"})
    assert schedule is not None
    hook.fail = 1
    assert await run_once(schedule, redis, keys, engine, NOW) == []  # the receiver is down
    assert hook.received == []
    # two processes check at once: one of them sends
    both = await asyncio.gather(*(run_once(schedule, redis, keys, engine, NOW) for _ in range(2)))
    assert sorted(both) == [[], ["weekly:2026-W47"]]
    assert [(r["period"], r["total"]) for r in hook.received] == [("2026-W47", 10)]
    assert hook.received[0]["timely_response_rate"] is not None
    assert await run_once(schedule, redis, keys, engine, NOW) == []  # sent: never again


def test_the_schedule_is_off_without_a_destination_and_names_bad_settings() -> None:
    assert Schedule.from_env({}) is None
    with pytest.raises(ConfigError, match="daily"):
        Schedule.from_env(
            {"HOTLINE_REPORT_WEBHOOK": "http://127.0.0.1:9/", "HOTLINE_REPORTS": "weekly,daily"}
        )

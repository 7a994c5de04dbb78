"""``hotline-gateway records rebuild``: replay into the record what Redis still holds (every appeal's
hash, history and deliveries). Idempotent: run it as often as you like, beside a serving gateway."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import redis.asyncio as aioredis
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.records.hot import read_histories, snapshot, store
from gateway.records.rows import CountyOf
from gateway.store import Keys, text


@dataclass
class Rebuilt:
    appeals: int = 0
    events: int = 0


async def rebuild(
    redis: aioredis.Redis,
    keys: Keys,
    engine: AsyncEngine,
    county_of: CountyOf,
    clock: Callable[[], datetime],
    batch: int = 200,
) -> Rebuilt:
    done = Rebuilt()
    prefix = keys.appeal("")
    pending: list[str] = []

    async def flush() -> None:
        histories = await read_histories(redis, keys, pending)
        events = [(no, seq, e) for no, history in histories.items() for seq, e in enumerate(history, 1)]
        rows = await snapshot(redis, keys, pending, events, county_of, clock())
        async with engine.begin() as conn:
            await store(conn, rows)
        done.appeals += len(rows.appeals)
        done.events += len(rows.events)
        pending.clear()

    async for key in redis.scan_iter(match=prefix + "*", count=1000):
        pending.append(text(key)[len(prefix) :])
        if len(pending) >= batch:
            await flush()
    if pending:
        await flush()
    return done

"""The recorder: copies every loop event from the ``events`` stream into the record.

It reads the stream with consumer group ``recorder``, takes the appeal's current hash for its row,
writes the batch in one database transaction and only then acknowledges (and deletes) the entries:
a crash before the commit leaves them pending, so another recorder (or this one after a restart)
claims and writes them again, and the writes are idempotent by event id. A database that is down
makes the recorder wait and retry the same batch; intake and delivery, which only need Redis, go on.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
import structlog
from redis.exceptions import RedisError, ResponseError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.base import wait_event
from gateway.records.db import writing
from gateway.records.hot import Context, new_appeals, snapshot, store
from gateway.records.links import Link
from gateway.records.repeats import link_new
from gateway.store import Keys, text

GROUP = "recorder"
ASSIGNING = frozenset({"dispatched", "sub_assigned", "reopened"})  # history events of an assignment
log = structlog.get_logger("records")


@dataclass(frozen=True)
class Lag:
    events: int  # entries written to the stream and not yet in the database
    seconds: float  # age of the oldest of them


async def lag(redis: aioredis.Redis, keys: Keys) -> Lag:
    """Recorded entries are deleted from the stream, so what it holds is what waits."""
    async with redis.pipeline(transaction=False) as pipe:
        pipe.xlen(keys.events)
        pipe.xrange(keys.events, count=1)
        length, first = await pipe.execute()
    if not first:
        return Lag(int(length), 0.0)
    millis = int(text(first[0][0]).split("-")[0])
    return Lag(int(length), max(0.0, time.time() - millis / 1000))


class Recorder:
    def __init__(
        self,
        ctx: Context,
        *,
        batch: int = 500,
        block_ms: int = 1000,
        claim_idle_seconds: float = 30.0,
        linger: float = 0.0,
        max_backoff: float = 30.0,
        on_recorded: Callable[[int], None] = lambda _n: None,
        periodic: Callable[[], Awaitable[None]] | None = None,
        after: Callable[[list[str]], Awaitable[object]] | None = None,
    ) -> None:
        self.ctx = ctx
        self.redis, self.keys, self.engine = ctx.redis, ctx.keys, ctx.engine
        self.batch, self.block_ms = batch, block_ms
        self.claim_idle_ms = int(claim_idle_seconds * 1000)
        self.linger = linger  # after a batch that was not full, wait this long for more to gather
        self.max_backoff = max_backoff
        self.on_recorded = on_recorded
        self.periodic = periodic
        self.after = after  # told, after each commit, the appeals linked or assigned in the batch
        self.consumer = f"{socket.gethostname()}-{os.getpid()}"
        self.stopping = False
        self.database_ok: bool | None = None  # None until the first write
        self.last_error: str | None = None
        self._wake = asyncio.Event()
        self._claimed_at = 0.0

    async def ensure_group(self) -> None:
        try:
            await self.redis.xgroup_create(self.keys.events, GROUP, id="0", mkstream=True)
        except ResponseError as e:
            if "BUSYGROUP" not in str(e):
                raise

    async def run(self) -> None:
        """Record until stopped; waits out Redis and database failures."""
        backoff = 1.0
        while not self.stopping:
            try:
                await self.ensure_group()
                while not self.stopping:
                    recorded = await self.step()
                    if self.periodic is not None:
                        await self.periodic()
                    backoff = 1.0
                    if 0 < recorded < self.batch and self.linger:
                        # group commit: an appeal's events of one moment (accepted, dispatched,
                        # delivered) become one row update, and the writes fewer and larger
                        await self._sleep(self.linger)
            except RedisError as e:
                log.warning("records.redis_unavailable", error=type(e).__name__)
            except OSError as e:
                log.warning("records.unavailable", error=type(e).__name__)
            await self._sleep(backoff)
            backoff = min(backoff * 2, self.max_backoff)

    async def step(self) -> int:
        """Record one batch: stale entries of stopped recorders first, then new ones."""
        entries = await self._claim_stale()
        if not entries:
            reply: Any = await self.redis.xreadgroup(
                GROUP, self.consumer, {self.keys.events: ">"}, count=self.batch, block=self.block_ms
            )
            entries = reply[0][1] if reply else []
        if entries:
            await self.record(entries)
        return len(entries)

    async def _claim_stale(self) -> list[Any]:
        now = time.monotonic()
        if now - self._claimed_at < min(5.0, self.claim_idle_ms / 1000):
            return []
        self._claimed_at = now
        reply: Any = await self.redis.xautoclaim(
            self.keys.events, GROUP, self.consumer, self.claim_idle_ms, "0-0", count=self.batch
        )
        if len(reply[1]) >= self.batch:
            self._claimed_at = 0.0  # more are waiting: claim again at once
        return [e for e in reply[1] if e and e[1]]

    async def record(self, entries: list[Any]) -> None:
        """Write the entries to the database (retrying while it is down), then acknowledge them."""
        events = []
        for entry_id, fields in entries:
            f = {text(k): v for k, v in fields.items()}
            try:
                events.append((text(f["appeal_no"]), int(f["seq"]), text(f["event"])))
            except (KeyError, ValueError):  # not written by the loop: acknowledged and left out
                log.error("records.unreadable", what="stream entry", item=text(entry_id))
        backoff = 1.0
        while True:
            # (again after a failure: what Redis holds may have moved on meanwhile)
            batch = await snapshot(self.ctx, [e[0] for e in events], events)
            try:
                async with writing(self.engine) as conn:
                    await store(conn, batch)
                    linked = await self._link(conn, new_appeals(batch))
                break
            except (SQLAlchemyError, OSError) as e:
                self._failed(e)
                if self.stopping:
                    return  # left pending: recorded after the restart
                await self._sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff)
        if self.database_ok is False:
            log.info("records.database_back")
        self.database_ok, self.last_error = True, None
        if self.after is not None:  # before the acknowledgement: a Redis error records the batch again
            assigned = [e["appeal_no"] for e in batch.events if e["type"] in ASSIGNING]
            await self.after(list(dict.fromkeys([*(link.appeal_no for link in linked), *assigned])))
        ids = [entry_id for entry_id, _ in entries]
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.xack(self.keys.events, GROUP, *ids)
            pipe.xdel(self.keys.events, *ids)
            await pipe.execute()
        self.on_recorded(len(ids))

    async def _link(self, conn: AsyncConnection, appeal_nos: list[str]) -> list[Link]:
        """Repeat detection for the newly recorded appeals, in a savepoint of the batch: a fault in
        it is logged and never holds the record up (the appeals can be linked by a rebuild)."""
        try:
            async with conn.begin_nested():
                return await link_new(conn, appeal_nos, self.ctx.links, self.ctx.clock())
        except (ValueError, TypeError, KeyError, AttributeError) as e:
            log.error("records.repeats_failed", appeals=len(appeal_nos), error=type(e).__name__)
            return []

    def _failed(self, error: BaseException) -> None:
        cause = getattr(error, "orig", None) or error  # never the SQL parameters: they hold appeals
        self.last_error = type(cause).__name__
        if self.database_ok is not False:
            log.warning("records.database_unavailable", error=self.last_error)
        self.database_ok = False

    async def _sleep(self, seconds: float) -> None:
        self._wake.clear()
        await wait_event(self._wake, seconds)

    def stop(self) -> None:
        self.stopping = True
        self._wake.set()

"""Durable write-back: the city's steps reported to the upstream platform until it accepts them.

``on_event`` queues first (Redis), the sender sends later, so a crash or a platform outage loses
nothing. Keys, under the channel's ``state_key``:

``writeback:items``     hash: write-back id -> the queued item (JSON, with seq, attempts, due)
``writeback:seq``       counter giving each item its place in line
``writeback:failed``    list of failed attempts past the alert threshold (newest first, capped)

Items of one work order go in the order they were queued (a reply never overtakes its signing);
work orders are independent of each other. A failed attempt is retried with exponential backoff,
for ever: after ``alert_after_attempts`` failures the item is logged as ``feed.writeback_failed``,
recorded in ``writeback:failed`` and an operator alert is raised; the alert is resolved when the
channel's write-backs go through again. Each body carries the item's id (``feedback_id`` by default)
so the platform can drop a repeat of a write-back it had already taken.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Callable
from datetime import datetime
from typing import Any

import redis.asyncio as aioredis
import structlog
from redis.exceptions import RedisError

from adapters.base import raise_if_cancelled, wait_event
from adapters.feed.client import FeedClient
from adapters.feed.config import WritebackSettings
from adapters.feed.decode import writeback_body
from gateway.alerts import Alerts
from gateway.errors import HotlineError

FAILED_KEPT = 1000
IDLE_POLL_SECONDS = 1.0  # another gateway process may have queued an item


class WritebackQueue:
    def __init__(self, redis: aioredis.Redis, key: Callable[..., str]) -> None:
        self.redis = redis
        self.items_key = key("writeback", "items")
        self.seq_key = key("writeback", "seq")
        self.failed_key = key("writeback", "failed")

    async def put(self, item: dict[str, Any]) -> None:
        item = item | {"seq": int(await self.redis.incr(self.seq_key)), "attempts": 0, "due": 0.0}
        await self.redis.hset(self.items_key, item["id"], json.dumps(item, ensure_ascii=False))

    async def pending(self) -> list[dict[str, Any]]:
        values = await self.redis.hvals(self.items_key)
        return sorted((json.loads(v) for v in values), key=lambda i: int(i["seq"]))

    async def update(self, item: dict[str, Any]) -> None:
        await self.redis.hset(self.items_key, item["id"], json.dumps(item, ensure_ascii=False))

    async def done(self, item_id: str) -> None:
        await self.redis.hdel(self.items_key, item_id)

    async def record_failure(self, entry: dict[str, Any]) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.lpush(self.failed_key, json.dumps(entry, ensure_ascii=False))
            pipe.ltrim(self.failed_key, 0, FAILED_KEPT - 1)
            await pipe.execute()

    async def failures(self, limit: int = 100) -> list[dict[str, Any]]:
        return [json.loads(v) for v in await self.redis.lrange(self.failed_key, 0, limit - 1)]


class WritebackSender:
    """Sends due items; one asyncio task per channel, started by the adapter's ``start()``."""

    def __init__(
        self,
        channel_id: str,
        queue: WritebackQueue,
        client: FeedClient,
        settings: WritebackSettings,
        alerts: Alerts,
        clock: Callable[[], datetime],
        log: structlog.stdlib.BoundLogger,
    ) -> None:
        self.channel_id = channel_id
        self.queue = queue
        self.client = client
        self.settings = settings
        self.alerts = alerts
        self.clock = clock
        self.log = log
        self.wake = asyncio.Event()
        self.alert_key = f"feed:{channel_id}:writeback"

    def backoff(self, attempts: int) -> float:
        s = self.settings
        wait = min(s.backoff_initial_seconds * 2 ** max(attempts - 1, 0), s.backoff_max_seconds)
        return float(wait * (1 + random.random() * 0.1))

    async def run(self) -> None:
        store_backoff = self.settings.backoff_initial_seconds
        while True:
            self.wake.clear()  # before sending: a wake-up during the round is not lost
            try:
                wait = await self.send_due()
                store_backoff = self.settings.backoff_initial_seconds
            except RedisError as e:
                raise_if_cancelled()
                self.log.warning("feed.writeback_store_unavailable", error=type(e).__name__)
                wait, store_backoff = store_backoff, min(store_backoff * 2, self.settings.backoff_max_seconds)
            except Exception:  # never let the sender die silently
                raise_if_cancelled()
                self.log.exception("feed.writeback_sender_failed")
                wait = store_backoff
            await wait_event(self.wake, max(wait, 0.01))

    async def send_due(self) -> float:
        """Send every due item (the first pending item of each work order); the wait until the next."""
        now = self.clock().timestamp()
        wait = IDLE_POLL_SECONDS
        seen: set[str] = set()
        for item in await self.queue.pending():
            if item["number"] in seen:
                continue
            seen.add(item["number"])
            if float(item["due"]) > now:
                wait = min(wait, float(item["due"]) - now)
                continue
            if not await self.send(item):
                wait = min(wait, float(item["due"]) - now)
        return wait

    async def send(self, item: dict[str, Any]) -> bool:
        try:
            await self.client.write_back(item["number"], writeback_body(item, self.settings))
        except HotlineError as e:
            await self.failed(item, e.message)
            return False
        await self.queue.done(item["id"])
        self.log.info(
            "feed.written_back",
            appeal_no=item["appeal_no"],
            number=item["number"],
            type=item["type"],
            attempts=item["attempts"] + 1,
        )
        if item["attempts"] >= self.settings.alert_after_attempts:
            still = [
                i for i in await self.queue.pending() if i["attempts"] >= self.settings.alert_after_attempts
            ]
            if not still:
                await self.alerts.resolve(
                    self.alert_key, f"write-backs of {self.channel_id} go through again"
                )
        return True

    async def failed(self, item: dict[str, Any], error: str) -> None:
        item["attempts"] = attempts = int(item["attempts"]) + 1
        retry_in = self.backoff(attempts)
        item["due"] = self.clock().timestamp() + retry_in
        item["last_error"] = error[:300]
        await self.queue.update(item)
        self.log.warning(
            "feed.writeback_failed",
            appeal_no=item["appeal_no"],
            number=item["number"],
            type=item["type"],
            attempts=attempts,
            error=error[:300],
            retry_in=round(retry_in, 1),
        )
        if attempts < self.settings.alert_after_attempts:
            return
        await self.queue.record_failure(
            {
                "id": item["id"],
                "appeal_no": item["appeal_no"],
                "number": item["number"],
                "type": item["type"],
                "attempts": attempts,
                "error": error[:300],
                "at": self.clock().isoformat(),
            }
        )
        await self.alerts.raise_(
            self.alert_key,
            "feed_writeback_failed",
            f"{self.channel_id}: write-back of {item['type']} for {item['appeal_no']} keeps failing: "
            f"{error[:200]}",
            channel=self.channel_id,
            appeal_no=item["appeal_no"],
        )

"""Retention: Redis keeps an appeal while it is open and for ``HOTLINE_RETENTION_DAYS`` after filing
(0: drop at filing), then its keys are dropped, but only once the record holds every event of its
history; a final copy of its row, deliveries and raw payloads goes to the record first."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import structlog
from sqlalchemy import func, select, update

from gateway.records.hot import Context, read_histories, read_raw, snapshot, store
from gateway.records.schema import appeal_events, appeals

log = structlog.get_logger("records")

# Drop the appeal's keys only if its history is still as long as what was recorded.
_DROP = """
if redis.call('LLEN', KEYS[1]) ~= tonumber(ARGV[1]) then return 0 end
redis.call('DEL', unpack(KEYS))
return 1
"""


class Retention:
    def __init__(self, ctx: Context, days: float) -> None:
        self.ctx, self.days = ctx, days
        self.redis, self.keys, self.engine, self.clock = ctx.redis, ctx.keys, ctx.engine, ctx.clock
        self._drop = ctx.redis.register_script(_DROP)

    async def sweep(self, limit: int = 200) -> int:
        """Drop from Redis the filed appeals past retention that are fully recorded; how many."""
        now = self.clock()
        cutoff = now - timedelta(days=self.days)
        async with self.engine.connect() as conn:
            due = list(
                (
                    await conn.execute(
                        select(appeals.c.appeal_no)
                        .where(appeals.c.state == "filed", appeals.c.filed_at <= cutoff)
                        .where(appeals.c.dropped_at.is_(None))
                        .limit(limit)
                    )
                ).scalars()
            )
        dropped = 0
        for appeal_no in due:
            dropped += await self._drop_one(appeal_no, now)
        if dropped:
            log.info("records.retention_dropped", appeals=dropped)
        return dropped

    async def _drop_one(self, appeal_no: str, now: datetime) -> int:
        history = (await read_histories(self.redis, self.keys, [appeal_no]))[appeal_no]
        async with self.engine.connect() as conn:
            recorded = await conn.scalar(
                select(func.count())
                .select_from(appeal_events)
                .where(appeal_events.c.appeal_no == appeal_no, appeal_events.c.seq <= len(history))
            )
        if (recorded or 0) < len(history):
            return 0  # the recorder has not caught up with this appeal yet
        batch = await snapshot(self.ctx, [appeal_no], [])
        fields = batch.hashes.get(appeal_no)
        keys = [self.keys.history(appeal_no), self.keys.appeal(appeal_no)]
        if fields is not None:
            if fields.get("state") != "filed":
                return 0  # reopened meanwhile: its row catches up with the next event
            appeal = json.loads(fields["appeal"])
            batch.raw = await read_raw(self.redis, self.keys, appeal_no, appeal)
            keys += [self.keys.raw(appeal_no), self.keys.raw_more(appeal_no)]
            keys += [self.keys.delivery(row["webhook_id"]) for row in batch.deliveries]
            keys += [self.keys.dedup(appeal["channel_id"], appeal["external_id"])]
            keys += [
                self.keys.dedup(appeal["channel_id"], str(e["external_id"]))
                for e in map(json.loads, history)
                if e.get("type") == "merged" and e.get("external_id")
            ]
        async with self.engine.begin() as conn:
            await store(conn, batch)
        if not await self._drop(keys=keys, args=[len(history)]):
            return 0
        async with self.engine.begin() as conn:
            await conn.execute(update(appeals).where(appeals.c.appeal_no == appeal_no).values(dropped_at=now))
        return 1

"""Retention: Redis keeps an appeal while it is open and for ``HOTLINE_RETENTION_DAYS`` after filing
(0: drop at filing), then its keys are dropped, but only once the record holds every event of its
history; a final copy of its row, deliveries and raw payloads goes to the record first."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import structlog
from sqlalchemy import func, select, update

from gateway.records.hot import Context, delivery_ids, read_histories, read_raw, snapshot, store
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
        self._drop_keys = ctx.redis.register_script(_DROP)

    async def sweep(self, limit: int = 500) -> int:
        """Drop from Redis the filed appeals past retention that are fully recorded; how many."""
        now = self.clock()
        cutoff = now - timedelta(days=self.days)
        total = 0
        while True:
            async with self.engine.connect() as conn:
                due = list(
                    (
                        await conn.execute(
                            select(appeals.c.appeal_no)
                            .where(appeals.c.state == "filed", appeals.c.filed_at <= cutoff)
                            .where(appeals.c.dropped_at.is_(None))
                            .order_by(appeals.c.filed_at)
                            .limit(limit)
                        )
                    ).scalars()
                )
            dropped = await self._drop(due, now) if due else 0
            total += dropped
            if len(due) < limit or not dropped:
                break
        if total:
            log.info("records.retention_dropped", appeals=total)
        return total

    async def _drop(self, due: list[str], now: datetime) -> int:
        histories = await read_histories(self.redis, self.keys, due)
        async with self.engine.connect() as conn:
            counts: dict[str, int] = dict(
                (
                    await conn.execute(
                        select(appeal_events.c.appeal_no, func.count())
                        .where(appeal_events.c.appeal_no.in_(due))
                        .group_by(appeal_events.c.appeal_no)
                    )
                ).all()
            )
        # only what the record holds every event of (the recorder may not have caught up)
        ready = [no for no in due if counts.get(no, 0) >= len(histories[no])]
        batch = await snapshot(self.ctx, ready, [], every=True)
        keys: dict[str, list[str]] = {}
        for no in ready:
            fields = batch.hashes.get(no)
            keys[no] = [self.keys.history(no), self.keys.appeal(no)]
            if fields is None:
                continue  # gone already (dropped before its row was marked)
            if fields.get("state") != "filed":
                del keys[no]  # reopened meanwhile: its row catches up with the next event
                continue
            appeal = json.loads(fields["appeal"])
            batch.raw += await read_raw(self.redis, self.keys, no, appeal)
            keys[no] += [self.keys.raw(no), self.keys.raw_more(no)]
            keys[no] += [self.keys.delivery(d) for d in delivery_ids(no, fields)]
            keys[no] += [self.keys.dedup(appeal["channel_id"], appeal["external_id"])]
            keys[no] += [
                self.keys.dedup(appeal["channel_id"], str(e["external_id"]))
                for e in map(json.loads, histories[no])
                if e.get("type") == "merged" and e.get("external_id")
            ]
        async with self.engine.begin() as conn:  # a last copy before Redis lets go
            await store(conn, batch)
        dropped = [no for no in keys if await self._drop_keys(keys=keys[no], args=[len(histories[no])])]
        if dropped:
            async with self.engine.begin() as conn:
                await conn.execute(
                    update(appeals).where(appeals.c.appeal_no.in_(dropped)).values(dropped_at=now)
                )
        return len(dropped)

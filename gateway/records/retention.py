"""Retention: Redis keeps an appeal while it is open and for ``HOTLINE_RETENTION_DAYS`` after filing
(0: drop at filing), then its keys are dropped, but only once the record holds every event of its
history; a final copy of its row, deliveries and raw payloads goes to the record first."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import Select, func, select, update

from gateway.records.db import padded, writing
from gateway.records.hot import Context, delivery_ids, read_histories, read_raw, snapshot, store
from gateway.records.schema import appeal_events, appeals

log = structlog.get_logger("records")

# Drop the appeal's keys only if its history is still as long as what was recorded: KEYS[1..n]
# (n = ARGV[2]) are deleted, and from each sorted set KEYS[n+i] its members ARGV[3] (JSON: i -> list)
# are removed (the delivery schedule, the units' pending sets and inboxes, the manual queue, the
# overdue index, the held set: an index entry whose appeal is gone would be claimed or listed forever).
_DROP = """
if redis.call('LLEN', KEYS[1]) ~= tonumber(ARGV[1]) then return 0 end
local n = tonumber(ARGV[2])
redis.call('DEL', unpack(KEYS, 1, n))
for i, members in pairs(cjson.decode(ARGV[3])) do
  if #members > 0 then redis.call('ZREM', KEYS[n + tonumber(i)], unpack(members)) end
end
return 1
"""


def due_query(cutoff: datetime, limit: int) -> Select[Any]:
    """The filed appeals filed by ``cutoff`` whose keys Redis still holds, oldest first: through
    ``ix_appeals_to_drop`` (migration 0006), as many index entries as Redis holds filed appeals,
    however long the record."""
    return (
        select(appeals.c.appeal_no)
        .where(appeals.c.dropped_at.is_(None), appeals.c.state == "filed", appeals.c.filed_at <= cutoff)
        .order_by(appeals.c.filed_at)
        .limit(limit)
    )


class Retention:
    def __init__(self, ctx: Context, days: float) -> None:
        self.ctx, self.days = ctx, days
        self.redis, self.keys, self.engine, self.clock = ctx.redis, ctx.keys, ctx.engine, ctx.clock

    async def sweep(self, limit: int = 500) -> int:
        """Drop from Redis the filed appeals past retention that are fully recorded; how many."""
        now = self.clock()
        cutoff = now - timedelta(days=self.days)
        total = 0
        while True:
            async with self.engine.connect() as conn:
                due = list((await conn.execute(due_query(cutoff, limit))).scalars())
            dropped = await self._drop(due, now) if due else 0
            total += dropped
            if len(due) < limit or not dropped:
                break
        if total:
            log.info("records.retention_dropped", appeals=total)
        return total

    def _indexes(self, no: str, deliveries: list[tuple[str, str]]) -> tuple[list[str], list[list[str]]]:
        """The sorted sets that can name the appeal or its deliveries, and what to remove from each."""
        k = self.keys
        ids = [d for d, _ in deliveries]
        indexes = [k.delivery_schedule, k.delivery_dead, k.manual_queue, k.deadlines, k.held]
        members = [ids, ids, [no], [no], [no]]
        for unit in sorted({u for _, u in deliveries}):
            mine = [d for d, u in deliveries if u == unit]
            indexes += [k.unit_pending(unit), k.inbox(unit), k.parked(unit)]
            members += [mine, mine, mine]
        return indexes, members

    async def _drop(self, due: list[str], now: datetime) -> int:
        histories = await read_histories(self.redis, self.keys, due)
        async with self.engine.connect() as conn:
            counts: dict[str, int] = dict(
                (
                    await conn.execute(
                        select(appeal_events.c.appeal_no, func.count())
                        .where(appeal_events.c.appeal_no.in_(padded(due)))
                        .group_by(appeal_events.c.appeal_no)
                    )
                ).all()
            )
        # only what the record holds every event of (the recorder may not have caught up)
        ready = [no for no in due if counts.get(no, 0) >= len(histories[no])]
        batch = await snapshot(self.ctx, ready, [], every=True)
        keys: dict[str, list[str]] = {}
        filed: dict[str, dict[str, Any]] = {}  # number -> the appeal's JSON
        for no in ready:
            fields = batch.hashes.get(no)
            keys[no] = [self.keys.history(no), self.keys.appeal(no)]
            if fields is None:
                continue  # gone already (dropped before its row was marked)
            if fields.get("state") != "filed":
                del keys[no]  # reopened meanwhile: its row catches up with the next event
                continue
            appeal = filed[no] = json.loads(fields["appeal"])
            keys[no] += [self.keys.raw(no), self.keys.raw_more(no)]
            keys[no] += [self.keys.delivery(d) for d in delivery_ids(no, fields)]
            keys[no] += [self.keys.dedup(appeal["channel_id"], appeal["external_id"])]
            keys[no] += [
                self.keys.dedup(appeal["channel_id"], str(e["external_id"]))
                for e in map(json.loads, histories[no])
                if e.get("type") == "merged" and e.get("external_id")
            ]
        batch.raw += await read_raw(self.redis, self.keys, filed)
        async with writing(self.engine) as conn:  # a last copy before Redis lets go
            await store(conn, batch)
        units: dict[str, list[tuple[str, str]]] = {}
        for row in batch.deliveries:
            units.setdefault(row["appeal_no"], []).append((row["webhook_id"], row["unit"]))
        async with self.redis.pipeline(transaction=False) as pipe:  # one round trip, a script each
            for no in keys:
                indexes, members = self._indexes(no, units.get(no, []))
                listed = json.dumps({str(i + 1): m for i, m in enumerate(members)})
                args: list[str | int] = [len(histories[no]), len(keys[no]), listed]
                # EVAL, not EVALSHA: a cluster's pipeline cannot load a script before it runs
                pipe.eval(_DROP, len(keys[no]) + len(indexes), *keys[no], *indexes, *args)
            outcomes = await pipe.execute() if keys else []
        dropped = [no for no, outcome in zip(keys, outcomes, strict=True) if outcome]
        if dropped:
            async with writing(self.engine) as conn:
                await conn.execute(
                    update(appeals).where(appeals.c.appeal_no.in_(padded(dropped))).values(dropped_at=now)
                )
        return len(dropped)

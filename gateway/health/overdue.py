"""Appeals past a deadline: an index of open appeals by their next deadline, kept by the loop, so
the operators' list needs no scan of every appeal.

``Keys.deadlines`` sorted set: appeal number -> the deadline it waits on now (epoch seconds):
``sign_by`` while dispatched, ``reply_by`` while signed or in handling; removed in any other state.
The loop's scripts keep it in the same step (``index_deadline``); reading it costs two round trips
whatever the number of overdue appeals.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import redis.asyncio as aioredis

from gateway.loop import WAITS_ON, AppealRecord
from gateway.loop.record import read_records
from gateway.store import Keys, text


def next_deadline(record: AppealRecord) -> tuple[str, datetime] | None:
    """The deadline the appeal waits on in its state, or None (not with a unit, no deadlines)."""
    name = WAITS_ON.get(record.state)
    if name is None or not record.deadlines or not record.deadlines.get(name):
        return None
    return name, datetime.fromisoformat(str(record.deadlines[name]))


class DeadlineIndex:
    def __init__(self, redis: aioredis.Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys
        self.key = keys.deadlines

    async def overdue(self, now: datetime, limit: int = 200) -> list[dict[str, Any]]:
        """Open appeals past the deadline they wait on, the longest overdue first."""
        return await self.due(now, now, limit, past=True)

    async def due_soon(self, now: datetime, within: timedelta, limit: int = 200) -> list[dict[str, Any]]:
        """Open appeals whose deadline falls within ``within`` from now (not yet missed), soonest first."""
        return await self.due(now, now + within, limit, past=False)

    async def due(self, now: datetime, until: datetime, limit: int, *, past: bool) -> list[dict[str, Any]]:
        low = "-inf" if past else f"({now.timestamp()}"
        found: list[Any] = await self.redis.zrangebyscore(
            self.key, low, until.timestamp(), start=0, num=limit
        )
        numbers = [text(raw) for raw in found]
        items = []
        for appeal_no, record in zip(
            numbers, await read_records(self.redis, self.keys, numbers), strict=True
        ):
            due = next_deadline(record) if record is not None else None
            if record is None or due is None or (due[1] > now) == past or due[1] > until:
                continue  # the scripts keep the index; a record gone or moved on is not listed
            name, at = due
            items.append(
                {
                    "appeal_no": appeal_no,
                    "state": record.state.value,
                    "unit": record.unit,
                    "channel": record.appeal.channel_id,
                    "subject": record.appeal.subject,
                    "urgency": record.appeal.urgency.value,
                    "missed" if past else "waits_on": name,
                    "due_at": at.isoformat(),
                    "overdue_minutes" if past else "left_minutes": round(
                        abs((now - at).total_seconds()) / 60
                    ),
                }
            )
        return items

"""Appeals past a deadline: an index of open appeals by their next deadline, kept from the loop's
events, so the operators' list needs no scan of every appeal.

``hl:health:deadlines`` sorted set: appeal number -> the deadline it waits on now (epoch seconds):
``sign_by`` while dispatched, ``reply_by`` while signed or in handling; removed in any other state.
Appeals dispatched before the index existed are not in it until their next step.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import redis.asyncio as aioredis

from gateway.appeals import AppealRecord, Appeals
from gateway.lifecycle import State
from gateway.store import Keys, text

WAITS_ON = {State.dispatched: "sign_by", State.signed: "reply_by", State.handling: "reply_by"}


def next_deadline(record: AppealRecord) -> tuple[str, datetime] | None:
    """The deadline the appeal waits on in its state, or None (not with a unit, no deadlines)."""
    name = WAITS_ON.get(record.state)
    if name is None or not record.deadlines or not record.deadlines.get(name):
        return None
    return name, datetime.fromisoformat(str(record.deadlines[name]))


class DeadlineIndex:
    def __init__(self, redis: aioredis.Redis, keys: Keys, appeals: Appeals) -> None:
        self.redis = redis
        self.key = keys.k("health", "deadlines")
        self.appeals = appeals

    async def update(self, appeal_no: str) -> None:
        record = await self.appeals.get(appeal_no)
        due = next_deadline(record) if record is not None else None
        if due is None:
            await self.redis.zrem(self.key, appeal_no)
        else:
            await self.redis.zadd(self.key, {appeal_no: due[1].timestamp()})

    async def overdue(self, now: datetime, limit: int = 200) -> list[dict[str, Any]]:
        """Open appeals past the deadline they wait on, the longest overdue first."""
        found: list[Any] = await self.redis.zrangebyscore(
            self.key, "-inf", now.timestamp(), start=0, num=limit
        )
        items = []
        for raw in found:
            appeal_no = text(raw)
            record = await self.appeals.get(appeal_no)
            due = next_deadline(record) if record is not None else None
            if record is None or due is None:
                await self.redis.zrem(self.key, appeal_no)  # moved on meanwhile
                continue
            name, at = due
            if at > now:
                await self.redis.zadd(self.key, {appeal_no: at.timestamp()})  # extended meanwhile
                continue
            items.append(
                {
                    "appeal_no": appeal_no,
                    "state": record.state.value,
                    "unit": record.unit,
                    "channel": record.appeal.channel_id,
                    "subject": record.appeal.subject,
                    "urgency": record.appeal.urgency.value,
                    "missed": name,
                    "due_at": at.isoformat(),
                    "overdue_minutes": round((now - at).total_seconds() / 60),
                }
            )
        return items

"""Reading an appeal back from the record, for what Redis no longer holds (past retention)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.loop import AppealRecord
from gateway.records.rows import record_fields
from gateway.records.schema import appeal_events, appeals


async def recorded_appeal(
    engine: AsyncEngine, appeal_no: str
) -> tuple[AppealRecord, list[dict[str, Any]]] | None:
    """The appeal's record and its history (oldest first) as the record holds them; None if unknown."""
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                select(appeals.c.appeal, appeals.c.record).where(appeals.c.appeal_no == appeal_no)
            )
        ).first()
        if row is None:
            return None
        history = (
            await conn.execute(
                select(appeal_events.c.event)
                .where(appeal_events.c.appeal_no == appeal_no)
                .order_by(appeal_events.c.seq)
            )
        ).scalars()
        events = [dict(e) for e in history]
    return AppealRecord.from_fields(record_fields(dict(row._mapping))), events


async def received_in(
    engine: AsyncEngine, channel_id: str, start: datetime, end: datetime, limit: int
) -> list[str]:
    """A channel's appeal numbers received in [start, end], newest first (``ix_appeals_channel_id``)."""
    query = (
        select(appeals.c.appeal_no)
        .where(appeals.c.channel_id == channel_id)
        .where(appeals.c.received_at >= start, appeals.c.received_at <= end)
        .order_by(appeals.c.received_at.desc(), appeals.c.appeal_no.desc())
        .limit(limit)
    )
    async with engine.connect() as conn:
        return list((await conn.execute(query)).scalars())

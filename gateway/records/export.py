"""``hotline-gateway appeals export``: the record of the appeals received in a period, for the
centre's archive, as CSV or JSON lines. The citizen's contact (name, phone, channel identity and the
reply address) is left out unless asked for."""

from __future__ import annotations

import csv
import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.records.schema import appeal_events, appeals
from normalizer import SHANGHAI

CSV_COLUMNS = (
    "appeal_no", "channel_id", "state", "unit", "received_at", "filed_at", "appeal_type", "urgency",
    "category_path", "area", "county", "address", "subject", "content", "satisfaction", "reopened",
    "returns",
)  # fmt: skip
CONTACT_COLUMNS = ("citizen_name", "phone", "identity")
CHUNK = 500


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(SHANGHAI).isoformat() if value else None


def without_contact(appeal: dict[str, Any]) -> dict[str, Any]:
    out = dict(appeal)
    out.pop("citizen", None)
    if isinstance(out.get("reply_route"), dict):
        out["reply_route"] = {k: v for k, v in out["reply_route"].items() if k != "address"}
    return out


async def _rows(engine: AsyncEngine, start: datetime, end: datetime) -> AsyncIterator[Any]:
    """Rows received in [start, end), oldest first, read a chunk at a time (memory stays flat)."""
    after = 0
    while True:
        async with engine.connect() as conn:
            chunk = (
                await conn.execute(
                    select(*(c for c in appeals.columns if c.name != "bigrams"))  # an index only
                    .where(appeals.c.received_at >= start, appeals.c.received_at < end, appeals.c.id > after)
                    .order_by(appeals.c.id)
                    .limit(CHUNK)
                )
            ).all()
        for row in chunk:
            yield row
        if len(chunk) < CHUNK:
            return
        after = chunk[-1].id


async def _history(engine: AsyncEngine, appeal_no: str) -> list[Any]:
    async with engine.connect() as conn:
        result = await conn.execute(
            select(appeal_events.c.event)
            .where(appeal_events.c.appeal_no == appeal_no)
            .order_by(appeal_events.c.seq)
        )
        return list(result.scalars())


async def export(
    engine: AsyncEngine, out: IO[str], start: datetime, end: datetime, *, fmt: str, with_contact: bool
) -> int:
    """Write the appeals received in [start, end) to ``out``; how many."""
    count = 0
    writer = None
    if fmt == "csv":
        writer = csv.writer(out)
        writer.writerow(CSV_COLUMNS + (CONTACT_COLUMNS if with_contact else ()))
    async for row in _rows(engine, start, end):
        count += 1
        if writer is not None:
            values = [_iso(getattr(row, c)) if c.endswith("_at") else getattr(row, c) for c in CSV_COLUMNS]
            if with_contact:
                values += [(row.appeal.get("citizen") or {}).get("name"), row.phone, row.identity]
            writer.writerow(values)
            continue
        line = {
            "appeal": row.appeal if with_contact else without_contact(row.appeal),
            "state": row.state,
            "unit": row.unit,
            "filed_at": _iso(row.filed_at),
            "satisfaction": row.satisfaction,
            "history": await _history(engine, row.appeal_no),
        }
        out.write(json.dumps(line, ensure_ascii=False) + "\n")
    return count

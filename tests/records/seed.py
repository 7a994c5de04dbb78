"""Appeals written straight into the record, as the recorder writes them (for search and export)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.records import write
from gateway.records.rows import appeal_row, event_row
from normalizer import Appeal


def appeal_hash(
    appeal_no: str,
    *,
    content: str,
    received_at: datetime,
    subject: str | None = None,
    phone: str | None = None,
    name: str | None = None,
    unit: str | None = "gas-supply",
    state: str = "dispatched",
    channel: str = "portal-bengbu",
    category: tuple[str, ...] = (),
    area: str | None = None,
) -> dict[str, str]:
    appeal = Appeal.model_validate(
        {
            "appeal_no": appeal_no,
            "channel_id": channel,
            "channel_kind": "portal",
            "external_id": f"ext-{appeal_no}",
            "received_at": received_at,
            "citizen": {"phone": phone, "name": name},
            "subject": subject or content[:20],
            "content": content,
            "category": category,
            "location": {"area": area, "address": "东风街道某小区"},
        }
    )
    return {
        "appeal": appeal.model_dump_json(),
        "state": state,
        "unit": unit or "",
        "channel": channel,
        "updated_at": received_at.isoformat(),
        "returned_by": json.dumps([]),
    }


async def seed(
    engine: AsyncEngine, hashes: list[dict[str, str]], county: dict[str, str] | None = None
) -> None:
    now = max(datetime.fromisoformat(h["updated_at"]) for h in hashes)
    rows = [appeal_row(h, lambda a: (county or {}).get(a), now) for h in hashes]
    events: list[dict[str, Any]] = []
    for h in hashes:
        no = json.loads(h["appeal"])["appeal_no"]
        body = {
            "type": "accepted",
            "actor": "channel:portal-bengbu",
            "at": h["updated_at"],
            "state": "accepted",
        }
        events.append(event_row(no, 1, json.dumps(body, ensure_ascii=False)))
    async with engine.begin() as conn:
        await write.upsert_appeals(conn, rows)
        await write.insert_events(conn, events)

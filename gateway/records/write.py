"""Idempotent writes of the record: an appeal's row is upserted (a newer snapshot never loses to an
older one), an event is inserted once by its event id, a delivery is upserted by its webhook id."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.records.schema import appeal_events, appeals, deliveries, raw_payloads


def _insert(conn: AsyncConnection, table: Table) -> Any:
    return (sqlite.insert if conn.dialect.name == "sqlite" else postgresql.insert)(table)


async def upsert_appeals(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    if not rows:
        return
    stmt = _insert(conn, appeals)
    keep = {"id", "appeal_no", "dropped_at"}
    stmt = stmt.on_conflict_do_update(
        index_elements=["appeal_no"],
        set_={c.name: stmt.excluded[c.name] for c in appeals.columns if c.name not in keep},
        where=appeals.c.updated_at <= stmt.excluded.updated_at,
    )
    await conn.execute(stmt, list(rows))


async def insert_events(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        stmt = _insert(conn, appeal_events).on_conflict_do_nothing(index_elements=["event_id"])
        await conn.execute(stmt, list(rows))


async def upsert_deliveries(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    if not rows:
        return
    stmt = _insert(conn, deliveries)
    stmt = stmt.on_conflict_do_update(
        index_elements=["webhook_id"],
        set_={c: stmt.excluded[c] for c in ("attempts", "outcome", "last_error", "recorded_at")},
    )
    await conn.execute(stmt, list(rows))


async def insert_raw(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        stmt = _insert(conn, raw_payloads).on_conflict_do_nothing(index_elements=["appeal_no", "seq"])
        await conn.execute(stmt, list(rows))

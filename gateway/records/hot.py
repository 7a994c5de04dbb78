"""What the record copies from the hot store (Redis): an appeal's hash, its history, its deliveries
and raw payloads, read in pipelines for many appeals at once; and writing that into the record."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import redis.asyncio as aioredis
import structlog
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway.loop.states import WAITS_ON
from gateway.records import write
from gateway.records.links import LinkPolicy
from gateway.records.rows import CountyOf, appeal_row, delivery_row, event_row
from gateway.store import Keys, decode_hash, text

log = structlog.get_logger("records")


REMINDED = tuple(dict.fromkeys(WAITS_ON.values()))  # the deadlines a reminder is sent for (催办)


def delivery_ids(appeal_no: str, fields: dict[str, str], now: datetime | None = None) -> list[str]:
    """The deliveries an appeal can have: one per assignment, one reminder per missed deadline
    (with ``now``: only for the deadlines already past, the only ones a reminder can exist for
    unless an extension moved the deadline after it: retention, which passes no ``now``, copies
    those)."""
    ids = [f"msg_{appeal_no}_{n}" for n in range(1, int(fields.get("assignments") or 0) + 1)]
    for name in REMINDED:
        due = fields.get(f"{name}_ts")
        if due and (now is None or float(due) <= now.timestamp()):
            ids.append(f"msg_{appeal_no}_overdue_{name}")
    return ids


async def read_hashes(
    redis: aioredis.Redis, keys: Keys, appeal_nos: Sequence[str]
) -> dict[str, dict[str, str]]:
    """Each appeal's hash; appeals Redis no longer holds are left out."""
    async with redis.pipeline(transaction=False) as pipe:
        for no in appeal_nos:
            pipe.hgetall(keys.appeal(no))
        found = await pipe.execute()
    return {no: decode_hash(h) for no, h in zip(appeal_nos, found, strict=True) if h}


async def read_deliveries(
    redis: aioredis.Redis, keys: Keys, hashes: dict[str, dict[str, str]], now: datetime | None = None
) -> list[tuple[str, dict[str, str]]]:
    ids = [d for no, fields in hashes.items() for d in delivery_ids(no, fields, now)]
    async with redis.pipeline(transaction=False) as pipe:
        for delivery_id in ids:
            pipe.hgetall(keys.delivery(delivery_id))
        found = await pipe.execute()
    return [(d, decode_hash(h)) for d, h in zip(ids, found, strict=True) if h]


async def read_histories(
    redis: aioredis.Redis, keys: Keys, appeal_nos: Sequence[str]
) -> dict[str, list[str]]:
    async with redis.pipeline(transaction=False) as pipe:
        for no in appeal_nos:
            pipe.lrange(keys.history(no), 0, -1)
        found = await pipe.execute()
    return {no: [text(e) for e in events] for no, events in zip(appeal_nos, found, strict=True)}


async def read_raw(
    redis: aioredis.Redis, keys: Keys, appeals: Mapping[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    """The raw payloads of these appeals (number -> the appeal's JSON) as ``raw_payloads`` rows, in
    one round trip: of each, the first message's, then those merged or added."""
    async with redis.pipeline(transaction=False) as pipe:
        for appeal_no in appeals:
            pipe.get(keys.raw(appeal_no))
            pipe.lrange(keys.raw_more(appeal_no), 0, -1)
        replies = await pipe.execute()
    rows = []
    for i, (appeal_no, appeal) in enumerate(appeals.items()):
        first, more = replies[2 * i], replies[2 * i + 1]
        ref = appeal.get("raw") or {}
        bodies = ([first] if first is not None else []) + list(more)
        for seq, body in enumerate(bodies, start=0 if first is not None else 1):
            data = body if isinstance(body, bytes) else body.encode()
            rows.append(
                {
                    "appeal_no": appeal_no,
                    "seq": seq,
                    "sha256": hashlib.sha256(data).hexdigest(),
                    "content_type": ref.get("content_type") if seq == 0 else None,
                    "size": len(data),
                    "body": data,
                }
            )
    return rows


@dataclass(frozen=True)
class Context:
    """What the record's workers read (Redis) and write (the database), and how they date and place
    the rows."""

    redis: aioredis.Redis
    keys: Keys
    engine: AsyncEngine
    county_of: CountyOf
    clock: Callable[[], datetime]
    links: LinkPolicy = field(default_factory=LinkPolicy)


@dataclass
class Batch:
    """Rows ready for the record, read from Redis before any database transaction opens."""

    hashes: dict[str, dict[str, str]] = field(default_factory=dict)
    appeals: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    raw: list[dict[str, Any]] = field(default_factory=list)


def _rows(
    make: Callable[..., dict[str, Any]], items: Iterable[tuple[Any, ...]], what: str
) -> list[dict[str, Any]]:
    """Rows of what can be read; an unreadable item is logged by appeal number and left out."""
    rows = []
    for item in items:
        try:
            rows.append(make(*item))
        except (KeyError, ValueError, TypeError) as e:
            log.error("records.unreadable", what=what, item=str(item[0])[:80], error=type(e).__name__)
    return rows


async def snapshot(
    ctx: Context, appeal_nos: Iterable[str], events: Iterable[tuple[str, int, str]], *, every: bool = False
) -> Batch:
    """The appeals' rows and deliveries as Redis holds them now, and ``events`` (appeal no, seq,
    event JSON) as rows. ``every``: every delivery an appeal can have, reminders of deadlines not
    yet past included (a last copy, a rebuild)."""
    now = ctx.clock()
    hashes = await read_hashes(ctx.redis, ctx.keys, list(dict.fromkeys(appeal_nos)))
    sent = await read_deliveries(ctx.redis, ctx.keys, hashes, None if every else now)
    events = list(events)

    def build() -> Batch:
        return Batch(
            hashes=hashes,
            appeals=_rows(
                lambda f: appeal_row(f, ctx.county_of, now), ((f,) for f in hashes.values()), "appeal"
            ),
            events=_rows(event_row, events, "event"),
            deliveries=_rows(lambda d, f: delivery_row(d, f, now), sent, "delivery"),
        )

    # In a thread: the rows of a batch of 500 events took the event loop for over 100 ms, and every
    # delivery waited; in a thread they take the interpreter in slices (its switch interval, 5 ms).
    return await asyncio.to_thread(build)


async def store(conn: AsyncConnection, batch: Batch) -> None:
    """Write a batch in the caller's transaction (every write is idempotent)."""
    await write.upsert_appeals(conn, batch.appeals)
    await write.insert_events(conn, batch.events)
    await write.upsert_deliveries(conn, batch.deliveries)
    await write.insert_raw(conn, batch.raw)


def new_appeals(batch: Batch) -> list[str]:
    """The appeals this batch records for the first time (their acceptance is in it)."""
    return list(dict.fromkeys(e["appeal_no"] for e in batch.events if e["type"] == "accepted"))

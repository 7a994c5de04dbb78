"""``hotline-gateway records rebuild``: replay into the record what Redis still holds (every appeal's
hash, history and deliveries). Idempotent: run it as often as you like, beside a serving gateway."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from gateway.records.db import writing
from gateway.records.hot import Context, read_histories, snapshot, store
from gateway.records.repeats import link_new
from gateway.store import text


@dataclass
class Rebuilt:
    appeals: int = 0
    events: int = 0


def _nothing(appeals: int) -> None:
    return None


async def rebuild(ctx: Context, batch: int = 200, replayed: Callable[[int], None] = _nothing) -> Rebuilt:
    """Replay every appeal Redis holds, ``batch`` at a time; ``replayed(n)`` after each batch."""
    done = Rebuilt()
    redis, keys = ctx.redis, ctx.keys
    prefix = keys.appeal("")
    pending: list[str] = []

    async def flush() -> None:
        histories = await read_histories(redis, keys, pending)
        events = [(no, seq, e) for no, history in histories.items() for seq, e in enumerate(history, 1)]
        rows = await snapshot(ctx, pending, events, every=True)
        async with writing(ctx.engine) as conn:
            await store(conn, rows)
            await link_new(conn, [r["appeal_no"] for r in rows.appeals], ctx.links, ctx.clock())
        done.appeals += len(rows.appeals)
        done.events += len(rows.events)
        replayed(len(pending))
        pending.clear()

    async for key in redis.scan_iter(match=prefix + "*", count=1000):
        pending.append(text(key)[len(prefix) :])
        if len(pending) >= batch:
            await flush()
    if pending:
        await flush()
    return done

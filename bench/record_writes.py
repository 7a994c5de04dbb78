"""The recorder's SQLite writes alone, as the record grows: is their cost per appeal flat?

    .venv/bin/python -m bench.record_writes [--appeals 240000] [--every 20000] [--links [--mixed]]
        [--sqlite-cache-mb 8] [--sqlite-mmap-mb 1024]

Per batch of 50 new appeals (rows built by ``bench.search.build`` from messages-hot.jsonl), in the
recorder's own writes (``gateway.records.write``) on a fresh SQLite record with every migration:
the rows and 3 events each in one transaction, then 3 more transactions of the same rows upserted
again with 2 events each, a delivery in the first. ``--links`` also runs the repeat detection of
the new appeals in the first transaction (``gateway.records.repeats.link_new``) on appeals shaped
like ``bench.retention_memory``'s: one channel, no phone, an area for one in 33, 6 ms apart;
with ``--mixed``, as ``bench.search`` builds them (17 channels, every area, the seven categories,
random phones), 6 ms apart: every new appeal has 200 earlier ones of other channels within the
duplicate hours, and many of its place and topic.
Prints the process's CPU and the wall time per appeal every ``--every`` appeals. What it leaves
out of the running gateway: Redis, the loop, retention, the recorder's reading of Redis.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from datetime import datetime, timedelta
from typing import Any

from bench.search import build
from gateway.records import write
from gateway.records.db import make_engine
from gateway.records.links import LinkPolicy
from gateway.records.migrate import upgrade
from gateway.records.repeats import link_new
from gateway.records.rows import event_row

BATCH = 50


def _events(no: str, first: int, count: int, at: datetime) -> list[dict[str, Any]]:
    return [
        event_row(
            no,
            seq,
            json.dumps({"type": "event", "actor": "system", "at": (at + timedelta(seconds=seq)).isoformat()}),
        )
        for seq in range(first, first + count)
    ]


def _like_retention_bench(rows: list[dict[str, Any]], mixed: bool) -> None:
    start = rows[0]["received_at"]
    for i, row in enumerate(rows):
        at = start + timedelta(milliseconds=6 * i)
        if mixed:
            row.update(received_at=at, updated_at=at)
            continue
        row.update(
            channel_id="portal",
            phone=None,
            phone_last4=None,
            area=row["area"] if i % 33 == 0 else None,
            received_at=at,
            updated_at=at,
        )


async def run(args: argparse.Namespace) -> None:
    rows, _ = build(args.appeals)
    if args.links:
        _like_retention_bench(rows, args.mixed)
    url = f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/record.db"
    engine = make_engine(url, sqlite_cache_mb=args.sqlite_cache_mb, sqlite_mmap_mb=args.sqlite_mmap_mb)
    await upgrade(engine)
    policy = LinkPolicy()
    cpu, wall = time.process_time(), time.perf_counter()
    for i in range(0, len(rows), BATCH):
        batch = rows[i : i + BATCH]
        async with engine.begin() as conn:
            await write.upsert_appeals(conn, batch)
            first = [e for r in batch for e in _events(r["appeal_no"], 1, 3, r["updated_at"])]
            await write.insert_events(conn, first)
            if args.links:
                await link_new(conn, [r["appeal_no"] for r in batch], policy, batch[-1]["updated_at"])
        for k in range(3):
            step = timedelta(minutes=k + 1)
            later = [dict(r, updated_at=r["updated_at"] + step, state="signed") for r in batch]
            async with engine.begin() as conn:
                await write.upsert_appeals(conn, later)
                await write.insert_events(
                    conn, [e for r in batch for e in _events(r["appeal_no"], 4 + 2 * k, 2, r["updated_at"])]
                )
                if k == 0:
                    await write.upsert_deliveries(conn, [_delivery(r) for r in batch])
        done = i + len(batch)
        if done % args.every == 0:
            now_cpu, now_wall = time.process_time(), time.perf_counter()
            print(
                json.dumps(
                    {
                        "appeals": done,
                        "cpu_ms_per_appeal": round(1000 * (now_cpu - cpu) / args.every, 3),
                        "wall_ms_per_appeal": round(1000 * (now_wall - wall) / args.every, 3),
                    }
                ),
                flush=True,
            )
            cpu, wall = now_cpu, now_wall
    await engine.dispose()


def _delivery(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "webhook_id": f"msg_{row['appeal_no']}_1",
        "appeal_no": row["appeal_no"],
        "unit": "gas-supply",
        "event_type": "cn.gov.12345.appeal.assigned",
        "attempts": 1,
        "outcome": "delivered",
        "last_error": None,
        "created_at": row["updated_at"],
        "recorded_at": row["updated_at"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--appeals", type=int, default=240_000)
    parser.add_argument("--every", type=int, default=20_000)
    parser.add_argument("--links", action="store_true", help="repeat detection too")
    parser.add_argument("--mixed", action="store_true", help="with --links: many channels, places, phones")
    parser.add_argument("--sqlite-cache-mb", type=int, default=8)
    parser.add_argument("--sqlite-mmap-mb", type=int, default=1024)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()

"""What repeat detection adds to the recorder, and what a report costs, on a record of real messages.

    .venv/bin/python -m bench.repeats [--months 6] [--per-month 3000] [--new 300]

Builds a SQLite record with the demo history (``gateway.records.demo``: the real citizen messages,
with repeats and cross-channel duplicates) minus its last ``--new`` appeals, then, side by side:
the recorder's own upsert of those appeals' rows (the reference: what recording costs anyway) and
the repeat detection of the same appeals (``link_new``), each timed per appeal; and the monthly
report of the last complete month (``report.build``) against a plain count of that month's appeals.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select

from bench._common import sample_config
from gateway.records import write
from gateway.records.db import make_engine
from gateway.records.demo import DATA, History
from gateway.records.links import LinkPolicy
from gateway.records.migrate import upgrade
from gateway.records.periods import containing
from gateway.records.repeats import link_new
from gateway.records.report import build
from gateway.records.rows import appeal_row, county
from gateway.records.schema import appeals
from gateway.runtime import shanghai_now


async def main(months: int, per_month: int, new: int) -> None:
    config = sample_config()
    now = shanghai_now()
    history = History(config, now, months, seed=14)
    history.build(per_month * months, DATA)
    rows = [appeal_row(h, lambda a: county(config.router.gazetteer, a), now) for h in history.hashes]
    old, fresh = rows[:-new], rows[-new:]
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite+aiosqlite:///{Path(tmp) / 'record.db'}")
        await upgrade(engine)
        async with engine.begin() as conn:
            for i in range(0, len(old), 1000):
                await write.upsert_appeals(conn, old[i : i + 1000])
            await write.insert_events(conn, history.events)
        upsert, detect, linked = [], [], 0
        for row in fresh:
            t = time.perf_counter()
            async with engine.begin() as conn:
                await write.upsert_appeals(conn, [row])
            upsert.append(time.perf_counter() - t)
            t = time.perf_counter()
            async with engine.begin() as conn:
                linked += len(await link_new(conn, [row["appeal_no"]], LinkPolicy(), now))
            detect.append(time.perf_counter() - t)
        month = containing("monthly", now).previous()
        t = time.perf_counter()
        async with engine.connect() as conn:
            count = (
                await conn.execute(
                    select(func.count())
                    .select_from(appeals)
                    .where(appeals.c.received_at >= month.start, appeals.c.received_at < month.end)
                )
            ).scalar()
        counted = time.perf_counter() - t
        t = time.perf_counter()
        report = await build(engine, month, now)
        built = time.perf_counter() - t
        await engine.dispose()

    def ms(values: list[float]) -> str:
        q = statistics.quantiles(values, n=20)
        return f"p50 {statistics.median(values) * 1000:7.2f} ms  p95 {q[18] * 1000:7.2f} ms"

    print(f"record: {len(rows)} appeals over {months} months (SQLite); {new} new appeals, {linked} links")
    print(f"  upsert of the row (reference)  {ms(upsert)}")
    print(f"  repeat detection (link_new)    {ms(detect)}")
    print(f"report {month.name}: {report['total']} appeals")
    print(f"  count of the month (reference) {counted * 1000:9.1f} ms (count {count})")
    print(f"  monthly report (report.build)  {built * 1000:9.1f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--months", type=int, default=6)
    parser.add_argument("--per-month", type=int, default=3000)
    parser.add_argument("--new", type=int, default=300)
    args = parser.parse_args()
    asyncio.run(main(args.months, args.per_month, args.new))

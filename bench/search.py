"""Operator search over 200,000 recorded appeals, on SQLite and PostgreSQL, side by side.

    .venv/bin/python -m bench.search [--appeals 200000] [--queries 100] [--database sqlite|postgresql|both]

Fills a fresh database of each kind (SQLite in a temporary directory; a PostgreSQL database made on
127.0.0.1:5432 and dropped afterwards) with N appeals built from the real citizen messages of
messages-hot.jsonl (spread over a year, 17 channels, units, states, categories, areas, phones),
written by the recorder's own upserts, then times ``gateway.records.search.search`` (the count and
the page, as the API answers) for each kind of query, Q times each with varied values, and prints
p50 / p95 / max in milliseconds. The reference row is the lookup of one appeal by its number
(a unique index): what any query costs at the least on that database. Two-character words are
timed twice in the same database: through the bigram index, and scanned for as before migration
0005 (the same search with no term counted as indexed). ``--backfill`` times migration 0005 over
N appeals recorded before it instead.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from alembic import command
from sqlalchemy import Connection, func, select, text

from bench._common import read_jsonl, sample_config
from gateway.records import search as search_module
from gateway.records import write
from gateway.records.db import make_engine
from gateway.records.migrate import alembic_config, upgrade
from gateway.records.rows import appeal_row
from gateway.records.schema import appeals
from gateway.records.search import SearchQuery, search
from normalizer import SHANGHAI, Appeal

STATES = ["dispatched", "signed", "handling", "replied", "visited", "filed", "filed", "filed", "manual"]
START = datetime(2025, 12, 1, tzinfo=SHANGHAI)
INDEXES = {  # PostgreSQL's text indexes, made after the rows
    "ix_appeals_text_trgm": (
        "CREATE INDEX ix_appeals_text_trgm ON appeals USING gin ((subject || ' ' || content) gin_trgm_ops)"
    ),
    "ix_appeals_bigrams": "CREATE INDEX ix_appeals_bigrams ON appeals USING gin (bigrams)",
}


def build(n: int, seed: int = 7) -> tuple[list[dict[str, Any]], dict[str, list[str]]]:
    """N appeal rows, and the values queries pick from."""
    rng = random.Random(seed)
    config = sample_config()
    channels = [c.id for c in config.channels]
    units = [u.id for u in config.units.values() if u.level > 1]
    gazetteer = config.router.gazetteer
    areas = [a.id for a in gazetteer.areas.values() if a.depth >= 1]
    messages = [(m["title"][:200], m["text"][:2000] or m["title"]) for m in read_jsonl("messages-hot.jsonl")]
    categories = ["城乡建设", "环境保护", "交通运输", "商贸旅游", "劳动和社会保障", "教育文体", "卫生计生"]
    rows, phones = [], []
    now = datetime.now(SHANGHAI)
    for i in range(n):
        subject, content = messages[i % len(messages)]
        received = START + timedelta(seconds=i * (365 * 86400 / n))
        phone = f"+861{rng.choice('3456789')}{rng.randrange(10**9):09d}"
        phones.append(phone)
        area = rng.choice(areas)
        appeal = Appeal.model_validate(
            {
                "appeal_no": f"BB-{received:%Y%m%d}-{i:06d}",
                "channel_id": rng.choice(channels),
                "channel_kind": "portal",
                "external_id": f"bench-{i}",
                "received_at": received,
                "citizen": {"phone": phone},
                "subject": subject,
                "content": f"{content}（{i}）",
                "category": (rng.choice(categories),),
                "location": {"area": area},
            }
        )
        fields = {
            "appeal": appeal.model_dump_json(),
            "state": rng.choice(STATES),
            "unit": rng.choice(units),
            "updated_at": received.isoformat(),
        }
        county = next((a for a in gazetteer.lineage(area) if gazetteer.areas[a].depth == 1), None)
        rows.append(appeal_row(fields, lambda _a, c=county: c, now))
    phrases, words = [], []  # 3 to 6 characters of a message, as an operator copies a phrase
    for subject, content in rng.sample(messages, 400):
        runs = [r for r in re.findall(r"[^\W\d_A-Za-z]{3,}", subject + content) if len(r) >= 3]
        if runs:
            run = rng.choice(runs)
            start = rng.randrange(len(run) - 2)
            phrases.append(run[start : start + rng.choice((3, 4, 5, 6))])
            words.append(run[start : start + 2])
    return rows, {
        "phrase": phrases,
        "word": words,
        "phone": phones,
        "unit": units,
        "area": areas,
        "category": categories,
    }


def queries(
    values: dict[str, list[str]], n_appeals: int
) -> dict[str, Callable[[random.Random], dict[str, Any]]]:
    def week(rng: random.Random) -> dict[str, Any]:
        first = START + timedelta(days=rng.randrange(360))
        return {"from": first.date().isoformat(), "to": (first + timedelta(days=6)).date().isoformat()}

    def pick(name: str) -> Callable[[random.Random], str]:
        return lambda r: r.choice(values[name])

    phrase, unit, phone = pick("phrase"), pick("unit"), pick("phone")
    return {
        "reference: one appeal by number": lambda r: {"appeal_no": f"{r.randrange(n_appeals):06d}"},
        "q: a phrase of the text": lambda r: {"q": phrase(r)},
        "q + unit": lambda r: {"q": phrase(r), "unit": unit(r)},
        "q: a two-character word (bigrams)": lambda r: {"q": pick("word")(r)},
        "q: the same, scanned (before 0005)": lambda r: {"q": pick("word")(r), "scan": True},
        "q: a two-character word + unit": lambda r: {"q": pick("word")(r), "unit": unit(r)},
        "phone: last four digits": lambda r: {"phone": phone(r)[-4:]},
        "phone: the whole number": lambda r: {"phone": phone(r)},
        "unit + state": lambda r: {"unit": unit(r), "state": r.choice(STATES)},
        "category + area (county)": lambda r: {"category": pick("category")(r), "area": pick("area")(r)},
        "from/to: one week": week,
        "state, page 50": lambda r: {"state": r.choice(STATES), "page": 50},
        "nothing: the newest": lambda r: {},
    }


async def fill(url: str, rows: list[dict[str, Any]]) -> float:
    """Write the rows with the recorder's upserts; on PostgreSQL the trigram and bigram indexes are
    made after them, as ``CREATE INDEX`` on a filled table (what the migrations make, sooner)."""
    engine = make_engine(url)
    await upgrade(engine)
    postgres = engine.dialect.name == "postgresql"
    started = time.perf_counter()
    if postgres:
        async with engine.begin() as conn:
            for index in INDEXES:
                await conn.exec_driver_sql(f"DROP INDEX {index}")
    for i in range(0, len(rows), 2000):
        async with engine.begin() as conn:
            await write.upsert_appeals(conn, rows[i : i + 2000])
    if postgres:
        async with engine.begin() as conn:
            for create in INDEXES.values():
                await conn.exec_driver_sql(create)
        async with engine.connect() as conn:
            await conn.exec_driver_sql("COMMIT")
            await conn.exec_driver_sql("VACUUM ANALYZE")
    else:
        async with engine.begin() as conn:
            await conn.exec_driver_sql("ANALYZE")
    await engine.dispose()
    return time.perf_counter() - started


async def backfill(url: str, rows: list[dict[str, Any]]) -> tuple[float, float]:
    """``--backfill``: the rows written as the recorder of revision 0004 did (no bigrams), then the
    migration to 0005 timed (it fills every row's bigrams, a batch at a time, and indexes them).
    Returns (seconds to fill, seconds of the migration)."""
    engine = make_engine(url)
    await upgrade(engine)

    def to_0004(connection: Connection) -> None:
        cfg = alembic_config()
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, "0004_sessions")

    started = time.perf_counter()
    async with engine.begin() as conn:
        await conn.run_sync(to_0004)
    for i in range(0, len(rows), 2000):
        async with engine.begin() as conn:
            batch = [{k: v for k, v in r.items() if k != "bigrams"} for r in rows[i : i + 2000]]
            await conn.execute(appeals.insert(), batch)
    filled = time.perf_counter() - started
    started = time.perf_counter()
    await upgrade(engine)
    migrated = time.perf_counter() - started
    await engine.dispose()
    return filled, migrated


async def measure(url: str, kinds: dict[str, Any], n: int, count: int) -> dict[str, list[float]]:
    engine = make_engine(url)
    rng = random.Random(11)
    times: dict[str, list[float]] = {}
    prefix: dict[str, str] = {}
    async with engine.connect() as conn:
        for no in (await conn.execute(select(appeals.c.appeal_no).limit(n))).scalars():
            prefix[no[-6:]] = no
    for name, make in kinds.items():
        spent = []
        for _ in range(count):
            params = make(rng)
            started = time.perf_counter()
            if "appeal_no" in params:
                async with engine.connect() as conn:
                    await conn.execute(
                        select(appeals).where(appeals.c.appeal_no == prefix[params["appeal_no"]])
                    )
            elif params.pop("scan", False):  # every term scanned for, as before the bigrams
                indexed = search_module.indexed
                search_module.indexed = lambda _term: False
                try:
                    await search(engine, SearchQuery.model_validate(params))
                finally:
                    search_module.indexed = indexed
            else:
                await search(engine, SearchQuery.model_validate(params))
            spent.append((time.perf_counter() - started) * 1000)
        times[name] = spent
    await engine.dispose()
    return times


async def size_mb(url: str) -> float:
    """The database's size on disk (SQLite: the file after a checkpoint), in MB."""
    engine = make_engine(url)
    async with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            pages = await conn.scalar(text("PRAGMA page_count"))
            size = int(pages or 0) * int(await conn.scalar(text("PRAGMA page_size")) or 0)
        else:
            size = int(await conn.scalar(text("SELECT pg_database_size(current_database())")) or 0)
    await engine.dispose()
    return round(size / 1e6, 1)


def summary(values: list[float]) -> dict[str, float]:
    p95 = statistics.quantiles(values, n=20)[-1]
    return {"p50": round(statistics.median(values), 2), "p95": round(p95, 2), "max": round(max(values), 2)}


async def existing(url: str, count: int, only: str | None = None) -> dict[str, Any]:
    """Measure a database filled before (``--url``): values are taken from it and from the data."""
    rng = random.Random(5)
    _rows, values = build(0)
    engine = make_engine(url)
    async with engine.connect() as conn:
        values["phone"] = list((await conn.execute(select(appeals.c.phone).limit(2000))).scalars())
        n = int(await conn.scalar(select(func.count()).select_from(appeals)) or 0)
    await engine.dispose()
    rng.shuffle(values["phone"])
    kinds = {k: v for k, v in queries(values, n).items() if only is None or only in k}
    times = await measure(url, kinds, n, count)
    return {"existing": {"appeals": n, "queries": {k: summary(v) for k, v in times.items()}}}


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    import asyncpg

    if args.url:
        return await existing(args.url, args.queries, args.only)

    print(f"building {args.appeals} appeals...", flush=True)
    rows, values = build(args.appeals)
    kinds = queries(values, args.appeals)
    out: dict[str, Any] = {}
    databases = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    with tempfile.TemporaryDirectory() as tmp:
        for kind in databases:
            name = f"hotline_bench_{uuid.uuid4().hex[:8]}"
            if kind == "sqlite":
                url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
            else:
                admin = await asyncpg.connect(host="127.0.0.1", user="postgres", database="postgres")
                await admin.execute(f'CREATE DATABASE "{name}"')
                url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
            try:
                if args.backfill:
                    fill_s, migrate_s = await backfill(url, rows)
                    print(f"{kind}: filled at 0004 in {fill_s:.0f} s, migrated to 0005 in {migrate_s:.1f} s")
                    out[kind] = {"fill_seconds": round(fill_s, 1), "migrate_seconds": round(migrate_s, 1)}
                    continue
                fill_s = await fill(url, rows)
                print(f"{kind}: filled in {fill_s:.0f} s; querying...", flush=True)
                times = await measure(url, kinds, args.appeals, args.queries)
                out[kind] = {
                    "fill_seconds": round(fill_s, 1),
                    "size_mb": await size_mb(url),
                    "queries": {k: summary(v) for k, v in times.items()},
                }
            finally:
                if kind == "postgresql" and args.keep:
                    print(f"kept: {url}  (measure again with --url; drop it with DROP DATABASE)")
                    await admin.close()
                elif kind == "postgresql":
                    await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
                    await admin.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--appeals", type=int, default=200_000)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--backfill", action="store_true", help="time migration 0005 over N appeals instead")
    parser.add_argument("--only", help="with --url: only the kinds of query whose name contains this")
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL database it filled")
    parser.add_argument("--url", help="measure this database, filled before, instead of filling new ones")
    args = parser.parse_args()
    result = asyncio.run(main_async(args))
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return
    for kind, found in result.items():
        if "queries" not in found:
            continue
        size = f", {found['size_mb']} MB" if "size_mb" in found else ""
        print(f"\n{kind} ({args.appeals} appeals{size}, {args.queries} queries each), ms")
        print(f"  {'query':<34} {'p50':>8} {'p95':>8} {'max':>8}")
        for name, t in found["queries"].items():
            print(f"  {name:<34} {t['p50']:>8.1f} {t['p95']:>8.1f} {t['max']:>8.1f}")


if __name__ == "__main__":
    main()

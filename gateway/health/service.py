"""The health service of one gateway process: records channel outcomes and delivery attempts (Redis
for the shared truth, Prometheus counters for this process), answers reports, judges channel status
every ``alerts.evaluate_seconds`` and raises or resolves alerts, which are posted to the operators'
webhook.

It is a :class:`~gateway.loop.LoopListener` given to the loop and the delivery worker when they are
made: it hears every submit's outcome (accepted, duplicate; for poller kinds also received, rejected,
failed) and every delivery attempt, counts them in memory and flushes the counts to Redis each second.
HTTP outcomes of channel routes come from the middleware in :mod:`gateway.health.http`. The overdue
index is kept by the loop's own scripts.
"""

from __future__ import annotations

import asyncio
import json
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

import structlog
from redis.exceptions import RedisError

from adapters.base import wait_event
from gateway import supervision
from gateway.delivery.sender import EVENT_OVERDUE
from gateway.health.notify import AlertPoster
from gateway.health.overdue import DeadlineIndex
from gateway.health.report import channel_reports, unit_reports
from gateway.health.store import HealthStore
from gateway.loop import LoopListener
from gateway.metrics import Metrics

if TYPE_CHECKING:
    from gateway.delivery.sender import SendResult
    from gateway.runtime import Runtime

IN_REQUEST: ContextVar[bool] = ContextVar("in_channel_request", default=False)
"""Set while an HTTP request is handled: its received/rejected/failed are counted by the middleware."""
POLLER_HEALTH_TIMEOUT = 2.0
FLUSH_SECONDS = 1.0
STOP_TIMEOUT = 5.0
log = structlog.get_logger("health")


class HealthService(LoopListener):
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.store = HealthStore(runtime.redis, runtime.keys)
        self.metrics = Metrics()
        alerts = runtime.config.gateway.alerts
        self.poster = AlertPoster(alerts, runtime.config.gateway.centre.name)
        runtime.alerts.listeners.append(self.poster.on_alert)
        self.deadlines = DeadlineIndex(runtime.redis, runtime.keys)
        self.interval = alerts.evaluate_seconds
        self._task: asyncio.Task[None] | None = None
        self._flusher: asyncio.Task[None] | None = None
        self._monitor_stopping = asyncio.Event()
        self._stopping = asyncio.Event()

    # --- recording (in memory; flushed each second) --------------------------------------------

    def record(self, channel_id: str, outcomes: tuple[str, ...], error: str = "") -> None:
        if not outcomes:
            return
        self.metrics.count(channel_id, outcomes)
        self.store.record("channel", channel_id, outcomes, self.runtime.clock(), error)

    def record_response(self, channel_id: str, status: int, error: str = "") -> None:
        """One request on a channel's routes answered ``status``."""
        outcomes: tuple[str, ...] = ("received",)
        if 400 <= status < 500:
            outcomes += ("rejected",)
        elif status >= 500:
            outcomes += ("failed",)
        self.record(channel_id, outcomes, error if status >= 400 else "")

    def submitted(self, channel_id: str, outcome: str) -> None:
        """An intake attempt ended: accepted, duplicate, rejected or failed."""
        if IN_REQUEST.get():
            self.record(channel_id, (outcome,) if outcome in ("accepted", "duplicate") else ())
        else:  # a poller's message: nobody else counts it
            error = {"rejected": "message refused", "failed": "store unavailable"}.get(outcome, "")
            self.record(channel_id, ("received", outcome), error)

    def attempted(self, unit: str, result: SendResult, seconds: float) -> None:
        self.metrics.attempt(unit, result.ok, seconds)
        outcomes = ("attempts", "ok" if result.ok else "failed")
        self.store.record("unit", unit, outcomes, self.runtime.clock(), "" if result.ok else result.error)

    async def flush(self) -> None:
        try:
            await self.store.flush()
        except (RedisError, OSError) as e:  # kept in memory for the next flush
            log.warning("health.not_flushed", error=type(e).__name__)

    async def _flush_every_second(self) -> None:
        while not self._stopping.is_set():
            await wait_event(self._stopping, FLUSH_SECONDS)
            await self.flush()

    # --- reports -----------------------------------------------------------------------------

    async def poller_health(self) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for channel_id, adapter in self.runtime.adapters.items():
            try:
                async with asyncio.timeout(POLLER_HEALTH_TIMEOUT):
                    found[channel_id] = dict(await adapter.health())
            except Exception as e:  # a broken hook must not hide the other channels
                found[channel_id] = {"state": "unknown", "error": repr(e)[:200]}
        return found

    async def channels(self) -> list[dict[str, Any]]:
        rt = self.runtime
        await self.flush()
        return await channel_reports(rt.config, self.store, await self.poller_health(), rt.clock())

    async def units(self) -> list[dict[str, Any]]:
        rt = self.runtime
        await self.flush()
        return await unit_reports(rt.config, self.store, rt.unit_health, rt.redis, rt.keys, rt.clock())

    # --- alerts ------------------------------------------------------------------------------

    async def evaluate(self) -> list[dict[str, Any]]:
        """Judge every channel once; raise ``channel:<id>:silent`` / ``:down``, resolve the rest."""
        reports = await self.channels()
        alerts = self.runtime.alerts
        for c in reports:
            for bad in ("silent", "down"):
                key = f"channel:{c['id']}:{bad}"
                if c["status"] == bad:
                    await alerts.raise_(
                        key,
                        f"channel_{bad}",
                        f"{c['name']} ({c['id']}) is {bad}: {'; '.join(c['reasons'])}",
                        channel=c["id"],
                    )
                else:
                    await alerts.resolve(key, f"{c['name']} ({c['id']}) is {c['status']} again")
        await self.escalate_overdue()
        await supervision.sweep(self.runtime)  # supervised appeals: reminders and escalations
        return reports

    async def remind(self, item: dict[str, Any]) -> None:
        """催办: the unit gets an ``appeal.overdue`` delivery naming the missed deadline (once)."""
        rt = self.runtime
        unit = rt.config.network.get(item["unit"])
        if unit is None:
            return
        now = rt.clock()
        data = {
            "unit": unit.id,
            "unit_name": unit.name,
            "missed": item["missed"],
            "due_at": item["due_at"],
            "overdue_minutes": item["overdue_minutes"],
            "reminded_at": now.isoformat(),
        }
        await rt.deliveries.add(
            f"msg_{item['appeal_no']}_overdue_{item['missed']}",
            appeal_no=item["appeal_no"],
            unit=unit.id,
            event_type=EVENT_OVERDUE,
            data=json.dumps(data, ensure_ascii=False),
            at=now.isoformat(),
            due=now.timestamp(),
            pull=unit.delivery == "pull",
        )
        rt.deliverer.wake.set()

    async def escalate_overdue(self) -> None:
        """An appeal past the deadline it waits on (signing, reply) raises ``appeal_overdue`` once,
        resolved when the appeal moves on or its deadline is extended."""
        alerts = self.runtime.alerts
        overdue = await self.deadlines.overdue(self.runtime.clock())
        current = set()
        for item in overdue:
            key = f"appeal:{item['appeal_no']}:overdue:{item['missed']}"
            current.add(key)
            raised = await alerts.raise_(
                key,
                "appeal_overdue",
                f"{item['appeal_no']} missed its {item['missed']} deadline at {item['unit'] or 'the centre'}",
                appeal_no=item["appeal_no"],
                unit=item["unit"],
                due_at=item["due_at"],
            )
            if raised and item["unit"]:
                await self.remind(item)
        for alert in await alerts.active():
            if alert.get("kind") == "appeal_overdue" and alert["key"] not in current:
                await alerts.resolve(alert["key"], f"{alert.get('appeal_no')} is no longer overdue")

    async def run(self) -> None:
        while not self._monitor_stopping.is_set():
            try:
                await self.evaluate()
            except (RedisError, OSError) as e:
                log.warning("health.evaluate_failed", error=type(e).__name__)
            except Exception:  # the monitor never dies silently
                log.exception("health.evaluate_failed")
            await wait_event(self._monitor_stopping, self.interval)

    async def start(self) -> None:
        enabled = [c.id for c in self.runtime.config.channels if c.enabled]
        try:
            await self.store.begin_observing(enabled, self.runtime.clock())
        except (RedisError, OSError) as e:
            log.warning("health.not_started", error=type(e).__name__)
        self._stopping.clear()
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_every_second(), name="health-flush")

    def start_monitor(self) -> None:
        """Judge channels and sweep overdue appeals (a singleton: one process at a time)."""
        self._monitor_stopping.clear()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self.run(), name="health")

    async def stop_monitor(self) -> None:
        task, self._task = self._task, None
        self._monitor_stopping.set()
        if task is not None:
            # A flag as well as a cancel: a cancel landing inside a Redis call can be swallowed.
            task.cancel()
            await asyncio.wait([task], timeout=STOP_TIMEOUT)

    async def stop(self) -> None:
        await self.stop_monitor()
        self._stopping.set()
        flusher, self._flusher = self._flusher, None
        if flusher is not None:
            await asyncio.wait([flusher], timeout=STOP_TIMEOUT)  # its last flush runs after the flag
        await self.poster.aclose()

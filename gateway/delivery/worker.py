"""The delivery worker: claims due deliveries, sends each as a signed CloudEvent, records the result."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import aiohttp
import structlog
from redis.exceptions import RedisError

from gateway.alerts import Alerts
from gateway.config import GatewaySettings
from gateway.credentials import CredentialStore, UnitCredentials
from gateway.delivery.health import UnitHealthStore
from gateway.delivery.queue import Claimed, DeliveryQueue, DeliveryRecord
from gateway.delivery.sender import EVENT_ASSIGNED, SendResult, build_event, post, sign_headers
from normalizer import Appeal
from router.network import Network

if TYPE_CHECKING:
    from gateway.loop import LoopListener

IDLE_POLL = 0.25


def unit_view(appeal: Appeal | Mapping[str, Any]) -> dict[str, Any]:
    """The appeal as a unit sees it (from the model, or its stored JSON decoded): an anonymous
    citizen's name and contact are withheld, the raw payload's reference is left out."""
    data = appeal.model_dump(mode="json") if isinstance(appeal, Appeal) else dict(appeal)
    if (data.get("citizen") or {}).get("anonymous"):
        data["citizen"] = {"anonymous": True, "name": None, "phone": None, "identity": None}
    data.pop("raw", None)
    return data


class DeliveryWorker:
    def __init__(
        self,
        queue: DeliveryQueue,
        health: UnitHealthStore,
        alerts: Alerts,
        credentials: CredentialStore,
        network: Callable[[], Network],
        settings: GatewaySettings,
        clock: Callable[[], datetime],
        *,
        concurrency: int = 32,
        listeners: Sequence[LoopListener] = (),
        processes: int = 1,
    ) -> None:
        self.queue = queue
        self.health = health
        self.alerts = alerts
        self._unit_slots: dict[str, asyncio.Semaphore] = {}
        self.credentials = credentials
        self.network = network
        self.settings = settings
        self.clock = clock
        self.wake = asyncio.Event()
        self.log = structlog.get_logger("delivery")
        self._slots = asyncio.Semaphore(concurrency)
        self._concurrency = concurrency
        self._tasks: set[asyncio.Task[None]] = set()
        self.running = False
        self.stopping = False
        self.listeners = tuple(listeners)  # told every attempt (delivery health and metrics)
        # A unit's concurrent deliveries are shared out among the processes: the same limit for any N.
        self._per_unit = max(1, settings.delivery.per_unit_concurrency // max(1, processes))

    async def run(self) -> None:
        d = self.settings.delivery
        timeout = aiohttp.ClientTimeout(total=d.total_timeout_seconds, connect=d.connect_timeout_seconds)
        lease = d.total_timeout_seconds + d.lease_margin_seconds
        # One keep-alive session for every delivery of this worker.
        connector = aiohttp.TCPConnector(limit=self._concurrency, keepalive_timeout=30)
        async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
            self.running = True
            try:
                while not self.stopping:
                    self.wake.clear()
                    try:
                        free = self._concurrency - len(self._tasks)
                        claimed = (
                            await self.queue.claim_due(self.clock().timestamp(), free, lease) if free else []
                        )
                    except (RedisError, OSError) as e:
                        self.log.warning("delivery.redis_error", error=str(e))
                        claimed = []
                    for item in claimed:
                        task = asyncio.create_task(self._deliver(session, item))
                        self._tasks.add(task)
                        task.add_done_callback(self._tasks.discard)
                    if not claimed or len(self._tasks) >= self._concurrency:
                        # Woken by a new delivery or by a finished one (a free slot); the poll
                        # only finds retries that fell due meanwhile.
                        with contextlib.suppress(TimeoutError):
                            async with asyncio.timeout(IDLE_POLL):
                                await self.wake.wait()
            finally:
                self.running = False
                for task in self._tasks:
                    task.cancel()
                await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _deliver(self, session: aiohttp.ClientSession, item: Claimed) -> None:
        async with self._slots:
            try:
                await self.deliver(session, item)
            except (RedisError, OSError) as e:
                # The claim's lease runs out and the delivery is tried again.
                self.log.warning("delivery.redis_error", delivery_id=item.record.id, error=str(e))
            finally:
                self.wake.set()  # a slot is free

    async def deliver(self, session: aiohttp.ClientSession, item: Claimed) -> SendResult | None:
        record = item.record
        if record.status != "pending":
            return None
        delivery_id = record.id
        about: dict[str, Any] = {"delivery_id": delivery_id, "appeal_no": record.appeal_no}
        about["unit"] = record.unit  # the lines' context (no bind: it costs more than the line)
        unit = self.network().get(record.unit)
        appeal = item.appeal
        now = self.clock()
        if unit is None or unit.webhook is None or appeal is None:
            await self.queue.failed(delivery_id, now.timestamp(), "unit has no webhook", None)
            self.log.error("delivery.undeliverable", **about)
            return None
        health = item.health
        if health.disabled:
            await self.health.park(unit.id, delivery_id, now.timestamp())
            self.log.warning("delivery.parked", **about, reason=health.disabled)
            return None
        if health.breaker(now.timestamp()) == "open":
            await self.queue.postpone(delivery_id, health.open_until)
            return None
        creds = item.credentials or await self.credentials.get(unit.id)
        slots = self._unit_slots.setdefault(unit.id, asyncio.Semaphore(self._per_unit))
        async with slots:
            started = time.monotonic()
            result = await self._send(session, record, str(unit.webhook), appeal, creds, now)
        took = time.monotonic() - started
        for listener in self.listeners:
            listener.attempted(unit.id, result, took)
        about |= {"channel": appeal.get("channel_id"), "attempt": record.attempts + 1}
        about["status"] = result.status
        if result.ok:
            if await self.queue.delivered(record, now, result.status or 0):
                await self.alerts.resolve(f"unit:{unit.id}:unreachable", f"{unit.name} answers again")
            self.log.info("delivery.delivered", **about)
            return result
        if result.status == 410:
            await self.health.disable(unit.id, f"HTTP 410 Gone at {now.isoformat()}")
            await self.health.park(unit.id, delivery_id, now.timestamp())
            await self.alerts.raise_(
                f"unit:{unit.id}:disabled",
                "unit_disabled",
                f"{unit.name} answered 410 Gone: its endpoint is disabled until re-enabled",
                unit=unit.id,
            )
            self.log.error("delivery.endpoint_disabled", **about)
            return result
        due = await self.queue.failed(delivery_id, now.timestamp(), result.error, result.retry_after)
        health = await self.health.failure(unit.id, now.timestamp(), result.error)
        if health.failing_for(now.timestamp()) >= self.settings.delivery.unreachable_alert_seconds:
            minutes = round(health.failing_for(now.timestamp()) / 60)
            await self.alerts.raise_(
                f"unit:{unit.id}:unreachable",
                "unit_unreachable",
                f"{unit.name} has failed every delivery for {minutes} min",
                unit=unit.id,
                last_error=result.error,
            )
        if due is None:
            self.log.error("delivery.dead_lettered", **about, error=result.error)
        else:
            retry_in = round(due - now.timestamp(), 1)
            self.log.warning("delivery.retry", **about, error=result.error, retry_in=retry_in)
        return result

    async def _send(
        self,
        session: aiohttp.ClientSession,
        record: DeliveryRecord,
        url: str,
        appeal: Mapping[str, Any],
        creds: UnitCredentials,
        now: datetime,
    ) -> SendResult:
        assignment = json.loads(record.assignment) if record.assignment else {"unit": record.unit}
        assignment["delivery_id"] = record.id
        headers, body = build_event(
            delivery_id=record.id,
            source=self.settings.centre.event_source,
            event_type=record.event_type or EVENT_ASSIGNED,
            subject=record.appeal_no,
            time=datetime.fromisoformat(record.created_at),
            data={"appeal": unit_view(appeal), "assignment": assignment},
        )
        headers.update(sign_headers(record.id, body, creds.signing_secrets(now.timestamp()), now))
        headers["user-agent"] = "hotline-gateway"
        return await post(session, url, headers, body, now)

"""The runtime: the one place that joins I/O (Redis, HTTP clients, adapters, workers) to the pure core."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import redis.asyncio as aioredis
import structlog
from aiohttp import web
from redis.exceptions import RedisError

from adapters.base import Adapter, AdapterContext
from gateway.alerts import Alerts
from gateway.briefing import SupervisionUpdates, UnitBriefing
from gateway.config import Config
from gateway.credentials import CredentialStore
from gateway.delivery import DeliveryQueue, DeliveryWorker
from gateway.delivery.health import UnitHealthStore
from gateway.delivery.sender import EVENT_UPDATED
from gateway.dispatch import DispatchWorker
from gateway.health.service import HealthService
from gateway.lease import Lease
from gateway.loop import Loop, LoopListener, Stepped
from gateway.loop.states import WITH_UNIT
from gateway.records import Records
from gateway.registry import Registry
from gateway.reload import RoutingReloader
from gateway.store import Keys
from normalizer import SHANGHAI, AppealDraft
from router import emergency

STOP_TIMEOUT = 5.0  # the dispatcher's blocking read returns within 1 s
ROLES = ("intake", "dispatch", "delivery")


def shanghai_now() -> datetime:
    return datetime.now(SHANGHAI)


@dataclass
class Runtime:
    config: Config
    redis: aioredis.Redis
    keys: Keys
    registry: Registry
    clock: Callable[[], datetime] = shanghai_now
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    reload_interval: float = 2.0
    roles: frozenset[str] = frozenset(ROLES)
    """What this process runs beside the HTTP API: ``dispatch``, ``delivery`` (``intake`` alone: none)."""
    processes: int = 1
    """How many gateway processes share the work (per-unit concurrency is divided among them)."""
    database_url: str | None = None
    """The record (gateway.records); None: Redis only."""
    loop: Loop = field(init=False)
    credentials: CredentialStore = field(init=False)
    alerts: Alerts = field(init=False)
    unit_health: UnitHealthStore = field(init=False)
    deliveries: DeliveryQueue = field(init=False)
    dispatcher: DispatchWorker = field(init=False)
    deliverer: DeliveryWorker = field(init=False)
    adapters: dict[str, Adapter] = field(init=False, default_factory=dict)  # type: ignore[type-arg]
    reloader: RoutingReloader = field(init=False)
    health: HealthService = field(init=False)
    records: Records | None = field(init=False, default=None)
    _tasks: list[asyncio.Task[None]] = field(init=False, default_factory=list)
    _watch: asyncio.Task[None] | None = field(init=False, default=None)
    _lease_task: asyncio.Task[None] | None = field(init=False, default=None)
    _started: bool = field(init=False, default=False)
    lease: Lease = field(init=False)
    singletons_running: bool = field(init=False, default=False)
    _background: set[asyncio.Task[Any]] = field(init=False, default_factory=set)

    def __post_init__(self) -> None:
        config = self.config
        self.credentials = CredentialStore(self.redis, self.keys)
        self.lease = Lease(self.redis, self.keys.lease("singletons"))
        self.reloader = RoutingReloader(lambda: self.config, self._put_config, self.registry.kinds, self.env)
        self.deliveries = DeliveryQueue(self.redis, self.keys, config.gateway.delivery)
        self.alerts = Alerts(self.redis, self.keys, self.clock)
        self.unit_health = UnitHealthStore(self.redis, self.keys, config.gateway.delivery)
        # The side effects of the loop, each a listener given to the loop and the delivery worker.
        self.health = HealthService(self)
        wake = WakeDelivery()
        listeners: list[LoopListener] = [
            self.health,
            WriteBack(self),
            FollowUps(self),
            SupervisionUpdates(self),
            wake,
        ]
        self.records = Records(self, self.database_url) if self.database_url else None
        self.loop = Loop(
            self.redis,
            self.keys,
            lambda: self.config,
            clock=self.clock,
            listeners=listeners,
            is_emergency=self._is_emergency,
            briefing=UnitBriefing(self),  # repeats and supervision in the assignment
            archive=self.records,  # appeals past retention
        )
        self.deliverer = DeliveryWorker(
            self.deliveries,
            self.unit_health,
            self.alerts,
            self.credentials,
            lambda: self.config.network,
            config.gateway,
            self.clock,
            listeners=listeners,
            processes=self.processes,
        )
        wake.worker = self.deliverer
        self.dispatcher = DispatchWorker(
            self.redis, self.keys, self.loop, lambda: self.config, config.gateway.intake, self.clock
        )
        context = AdapterContext(
            intake=self.loop,
            clock=self.clock,
            log=structlog.get_logger("adapter"),
            max_body_bytes=config.gateway.intake.max_body_bytes,
            redis=self.redis,
            keys=self.keys,
        )
        for channel in config.channels:
            if channel.enabled and channel.settings is not None:
                cls = self.registry.kinds[channel.kind]
                self.adapters[channel.id] = cls(channel.id, channel.settings, context)

    @property
    def appeals(self) -> Loop:
        """The loop under its earlier name (reads and intake of appeal records)."""
        return self.loop

    def spawn(self, work: Coroutine[Any, Any, Any], name: str) -> None:
        """Run ``work`` in the background; stop waits for it (briefly)."""
        task = asyncio.create_task(work, name=name)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _is_emergency(self, draft: AppealDraft) -> bool:
        return bool(emergency(self.config.router, draft.subject or "", draft.content))

    def _put_config(self, config: Config) -> None:
        self.config = config

    async def start(self, *, workers: bool = True) -> None:
        """Start this process's part: the record, webhook adapters, health counting, the workers of
        its ``roles``; the singletons (poller kinds, the health monitor) if it takes their lease."""
        if self.records is not None:
            await self.records.start(workers=workers)
        for adapter in self.adapters.values():
            if not adapter.capabilities.poller:
                await adapter.start()
        await self.health.start()
        try:
            await self._singletons_step()
        except (RedisError, OSError) as e:
            structlog.get_logger("runtime").warning("lease.unavailable", error=type(e).__name__)
        self._lease_task = asyncio.create_task(self._keep_singletons(), name="singletons")
        if workers:
            if "dispatch" in self.roles:
                self._tasks.append(asyncio.create_task(self.dispatcher.run(), name="dispatch"))
            if "delivery" in self.roles:
                self._tasks.append(asyncio.create_task(self.deliverer.run(), name="delivery"))
            self._watch = asyncio.create_task(self.reloader.watch(self.reload_interval), name="reload")
        self._started = workers

    async def _singletons_step(self) -> None:
        held = await self.lease.hold()
        if held and not self.singletons_running:
            for adapter in self.adapters.values():
                if adapter.capabilities.poller:
                    await adapter.start()
            self.health.start_monitor()
            self.singletons_running = True
        elif not held and self.singletons_running:
            await self._stop_singletons()

    async def _stop_singletons(self) -> None:
        self.singletons_running = False
        await self.health.stop_monitor()
        for channel_id, adapter in self.adapters.items():
            if adapter.capabilities.poller:
                await self._close(channel_id, adapter)

    async def _keep_singletons(self) -> None:
        while True:
            await asyncio.sleep(self.lease.ttl / 3)
            try:
                await self._singletons_step()
            except (RedisError, OSError) as e:  # cannot renew: another process may take over
                structlog.get_logger("runtime").warning("lease.unavailable", error=type(e).__name__)
                if self.singletons_running:
                    await self._stop_singletons()

    @property
    def workers_running(self) -> bool:
        return self._started and all(not t.done() for t in self._tasks)

    async def stop(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
        if self._lease_task is not None:
            self._lease_task.cancel()
        if self.singletons_running:
            await self._stop_singletons()
            with contextlib.suppress(RedisError, OSError):
                await self.lease.release()  # another process takes over at once
        await self.health.stop()
        if self._background:
            await asyncio.wait(self._background, timeout=STOP_TIMEOUT)
        # A flag as well as a cancel: a cancel that lands as a blocking read times out can be lost.
        self.dispatcher.stopping = self.deliverer.stopping = True
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=STOP_TIMEOUT)
        self._tasks.clear()
        for channel_id, adapter in self.adapters.items():
            await self._close(channel_id, adapter)
        if self.records is not None:
            await self.records.stop()

    async def _close(self, channel_id: str, adapter: Adapter) -> None:  # type: ignore[type-arg]
        # In a task of its own: one adapter that cannot close must not keep the others open.
        # Waited for, never awaited: a close that will not end is left behind, not waited on for ever.
        closing = asyncio.create_task(adapter.aclose(), name=f"close:{channel_id}")
        done, _ = await asyncio.wait([closing], timeout=STOP_TIMEOUT)
        error = "TimeoutError()" if not done else None
        if done and not closing.cancelled() and closing.exception() is not None:
            error = repr(closing.exception())
        if not done:
            closing.cancel()
        if error is not None:
            structlog.get_logger("runtime").warning("adapter.close_failed", channel=channel_id, error=error)


class WakeDelivery(LoopListener):
    """A new delivery wakes the delivery worker at once."""

    worker: DeliveryWorker | None = None

    def scheduled(self, delivery_id: str, unit: str) -> None:
        if self.worker is not None:
            self.worker.wake.set()


class WriteBack(LoopListener):
    """The loop's steps reach the appeal's channel adapter when its kind writes back upstream, and
    a unit's reply is carried to the citizen."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def stepped(self, step: Stepped) -> None:
        rt = self.runtime
        if step.event.type == "replied":
            from gateway.answers import answer_citizen

            rt.spawn(answer_citizen(rt, step.appeal_no), name=f"answer-{step.appeal_no}")
        adapter = rt.adapters.get(step.channel_id)
        if adapter is not None and adapter.capabilities.writes_back and step.event.type not in INTAKE_EVENTS:
            rt.spawn(self._publish(adapter, step), name=f"event-{step.appeal_no}")

    async def _publish(self, adapter: Adapter, step: Stepped) -> None:  # type: ignore[type-arg]
        record = await self.runtime.loop.get(step.appeal_no)
        if record is not None:
            await adapter.on_event(record.appeal, step.event.as_dict())


class FollowUps(LoopListener):
    """A citizen's follow-up reaches the unit holding the appeal as an ``appeal.updated`` delivery.
    One added before the appeal reached a unit stays in its history, which the unit sees with the
    appeal (``GET /api/v1/units/{unit}/appeals/{no}``)."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def stepped(self, step: Stepped) -> None:
        if step.event.type == "citizen_added":
            self.runtime.spawn(self._deliver(step), name=f"update-{step.appeal_no}")

    async def _deliver(self, step: Stepped) -> None:
        rt = self.runtime
        record = await rt.loop.get(step.appeal_no)
        unit = rt.config.network.get(record.unit) if record is not None and record.unit else None
        if record is None or unit is None or record.state not in WITH_UNIT:
            return
        added = step.event.as_dict()
        data = {"appeal_no": step.appeal_no, "unit": unit.id, "unit_name": unit.name, **added}
        count = await rt.redis.llen(rt.keys.history(step.appeal_no))
        created = await rt.deliveries.add(
            f"msg_{step.appeal_no}_updated_{count}",
            appeal_no=step.appeal_no,
            unit=unit.id,
            event_type=EVENT_UPDATED,
            data=json.dumps(data, ensure_ascii=False),
            at=added["at"],
            due=rt.clock().timestamp(),
            pull=unit.delivery == "pull",
        )
        if created:
            rt.deliverer.wake.set()


INTAKE_EVENTS = frozenset({"accepted", "merged", "citizen_added", "manual", "answered"})
"""Events the write-back adapters are not told (their own intake, the centre's queue, the answer)."""

RUNTIME: web.AppKey[Runtime] = web.AppKey("runtime", Runtime)

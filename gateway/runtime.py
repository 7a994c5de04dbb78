"""The runtime: the one place that joins I/O (Redis, HTTP clients, adapters, workers) to the pure core."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import redis.asyncio as aioredis
import structlog
from aiohttp import web

from adapters.base import Adapter, AdapterContext
from gateway.alerts import Alerts
from gateway.appeals import AppealRecord, Appeals
from gateway.assignments import Assignments
from gateway.config import Config
from gateway.credentials import CredentialStore
from gateway.delivery import DeliveryQueue, DeliveryWorker
from gateway.delivery.health import UnitHealthStore
from gateway.dispatch import DispatchWorker
from gateway.health.service import HealthService
from gateway.records import Records
from gateway.registry import Registry
from gateway.reload import RoutingReloader
from gateway.sla import Deadlines, extend
from gateway.store import Keys
from normalizer import SHANGHAI

STOP_TIMEOUT = 5.0  # the dispatcher's blocking read returns within 1 s


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
    database_url: str | None = None  # the record (gateway.records); None: Redis only
    appeals: Appeals = field(init=False)
    credentials: CredentialStore = field(init=False)
    alerts: Alerts = field(init=False)
    unit_health: UnitHealthStore = field(init=False)
    assignments: Assignments = field(init=False)
    deliveries: DeliveryQueue = field(init=False)
    dispatcher: DispatchWorker = field(init=False)
    deliverer: DeliveryWorker = field(init=False)
    adapters: dict[str, Adapter] = field(init=False, default_factory=dict)  # type: ignore[type-arg]
    reloader: RoutingReloader = field(init=False)
    health: HealthService = field(init=False)
    records: Records | None = field(init=False, default=None)
    _tasks: list[asyncio.Task[None]] = field(init=False, default_factory=list)
    _watch: asyncio.Task[None] | None = field(init=False, default=None)
    _background: set[asyncio.Task[Any]] = field(init=False, default_factory=set)

    def __post_init__(self) -> None:
        config = self.config
        self.appeals = Appeals(
            self.redis,
            self.keys,
            prefix=config.gateway.centre.appeal_no_prefix,
            network=config.network,
            channel_kinds={c.id: c.kind for c in config.channels},
            clock=self.clock,
        )
        self.credentials = CredentialStore(self.redis, self.keys)
        self.reloader = RoutingReloader(lambda: self.config, self._put_config, self.registry.kinds, self.env)
        self.deliveries = DeliveryQueue(self.redis, self.keys, config.gateway.delivery)
        self.alerts = Alerts(self.redis, self.keys, self.clock)
        self.unit_health = UnitHealthStore(self.redis, self.keys, config.gateway.delivery)
        self.deliverer = DeliveryWorker(
            self.deliveries,
            self.unit_health,
            self.alerts,
            self.appeals,
            self.credentials,
            lambda: self.config.network,
            config.gateway,
            self.clock,
        )
        self.assignments = Assignments(self.redis, self.keys, lambda: self.config.network, self.clock)
        self.appeals.on_event = self.assignments.on_event = self.publish
        self.dispatcher = DispatchWorker(
            self.redis,
            self.keys,
            self.appeals,
            self.assignments,
            lambda: self.config,
            config.gateway.intake,
            self.clock,
            on_dispatched=self.deliverer.wake.set,
        )
        context = AdapterContext(
            intake=self.appeals,
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
        self.health = HealthService(self)
        self.health.wire()
        self.records = Records(self, self.database_url) if self.database_url else None

    def publish(self, appeal_no: str, event: str) -> None:
        """Tell the appeal's channel adapter about a step of the loop (kinds that write back)."""
        if not any(a.capabilities.writes_back for a in self.adapters.values()):
            return
        task = asyncio.create_task(self._publish(appeal_no, json.loads(event)), name=f"event-{appeal_no}")
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _publish(self, appeal_no: str, event: dict[str, Any]) -> None:
        record = await self.appeals.get(appeal_no)
        adapter = self.adapters.get(record.appeal.channel_id) if record else None
        if record is not None and adapter is not None and adapter.capabilities.writes_back:
            await adapter.on_event(record.appeal, event)

    def answer_citizen(self, appeal_no: str) -> None:
        """Answer the citizen in the background (the unit's request does not wait for the channel)."""
        from gateway.answers import answer_citizen

        task = asyncio.create_task(answer_citizen(self, appeal_no), name=f"answer-{appeal_no}")
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def extend_deadlines(self, record: AppealRecord, days: int) -> dict[str, Any] | None:
        """The appeal's deadlines with ``days`` working days added to the reply deadline."""
        if not record.deadlines:
            return None
        current = Deadlines.model_validate(record.deadlines)
        return extend(current, days, self.config.sla).model_dump(mode="json")

    def _put_config(self, config: Config) -> None:
        self.config = config

    async def start(self, *, workers: bool = True) -> None:
        if self.records is not None:
            await self.records.start(workers=workers)
        for adapter in self.adapters.values():
            await adapter.start()
        await self.health.start()
        if workers:
            self._tasks.append(asyncio.create_task(self.dispatcher.run(), name="dispatch"))
            self._tasks.append(asyncio.create_task(self.deliverer.run(), name="delivery"))
            self._watch = asyncio.create_task(self.reloader.watch(self.reload_interval), name="reload")

    @property
    def workers_running(self) -> bool:
        return bool(self._tasks) and all(not t.done() for t in self._tasks)

    async def stop(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
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
            try:
                await asyncio.wait_for(adapter.aclose(), STOP_TIMEOUT)
            except Exception as e:  # one adapter that cannot close must not keep the others open
                structlog.get_logger("runtime").warning(
                    "adapter.close_failed", channel=channel_id, error=repr(e)
                )
        if self.records is not None:
            await self.records.stop()


RUNTIME: web.AppKey[Runtime] = web.AppKey("runtime", Runtime)

"""The record as the runtime holds it: the database engine, the recorder and retention workers, the
lag metrics and health item, and the reads (search, an appeal past retention)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import TYPE_CHECKING, Any

import structlog
from prometheus_client import CollectorRegistry, Counter, Gauge
from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from adapters.base import raise_if_cancelled
from gateway.env import env_number
from gateway.errors import ConfigError
from gateway.loop import AppealRecord
from gateway.records import render
from gateway.records.db import make_engine, safe_url
from gateway.records.hot import Context
from gateway.records.links import LinkPolicy
from gateway.records.migrate import upgrade
from gateway.records.read import received_in, recorded_appeal
from gateway.records.recorder import Lag, Recorder, lag
from gateway.records.retention import Retention
from gateway.records.rows import county
from gateway.records.schedule import Schedule, run_once
from gateway.records.search import SearchQuery, search

if TYPE_CHECKING:
    from gateway.runtime import Runtime

log = structlog.get_logger("records")
LAG_DEGRADED_SECONDS = 60.0  # the record is behind by more than this: /readyz names it degraded
STOP_TIMEOUT = 5.0


def retention_days(env: Any) -> float:
    return env_number(env, "HOTLINE_RETENTION_DAYS", 30, 0, 36_500, "days")


def sqlite_cache_mb(env: Any) -> int:
    """``HOTLINE_SQLITE_CACHE_MB``: SQLite's page cache, shared by the pool's connections (default
    64; in the heap, at least 1 MiB a connection)."""
    mib = env_number(env, "HOTLINE_SQLITE_CACHE_MB", 64, 1, 4096, "MiB")
    if mib != int(mib):
        raise ConfigError([f"HOTLINE_SQLITE_CACHE_MB: {mib:g} is not a whole number of MiB"])
    return int(mib)


def sqlite_mmap_mb(env: Any) -> int:
    """``HOTLINE_SQLITE_MMAP_MB``: how much of the SQLite file is read through a memory map (default
    1024; 0 reads through SQLite's page cache alone, so the RSS holds no file pages)."""
    mib = env_number(env, "HOTLINE_SQLITE_MMAP_MB", 1024, 0, 1_048_576, "MiB")
    if mib != int(mib):
        raise ConfigError([f"HOTLINE_SQLITE_MMAP_MB: {mib:g} is not a whole number of MiB"])
    return int(mib)


class RecorderMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.lag_events = Gauge(
            "hotline_recorder_lag_events", "Loop events not yet in the database.", registry=registry
        )
        self.lag_seconds = Gauge(
            "hotline_recorder_lag_seconds",
            "Age of the oldest loop event not yet in the database.",
            registry=registry,
        )
        self.database_up = Gauge(
            "hotline_recorder_database_up",
            "1 while the recorder can write to the database.",
            registry=registry,
        )
        self.recorded = Counter(
            "hotline_recorder_events",
            "Loop events written to the database (this process).",
            registry=registry,
        )

    def observe(self, found: Lag) -> None:
        self.lag_events.set(found.events)
        self.lag_seconds.set(found.seconds)


class Records:
    def __init__(self, runtime: Runtime, url: str) -> None:
        self.runtime = runtime
        self.url = url
        self.engine = make_engine(
            url, sqlite_cache_mb=sqlite_cache_mb(runtime.env), sqlite_mmap_mb=sqlite_mmap_mb(runtime.env)
        )
        self.retention_days = retention_days(runtime.env)
        env = runtime.env
        self.sweep_interval = env_number(env, "HOTLINE_RETENTION_SWEEP_SECONDS", 60, 0.01, 86_400, "seconds")
        self.metrics = RecorderMetrics(runtime.health.metrics.registry)
        self.context = Context(
            runtime.redis,
            runtime.keys,
            self.engine,
            self._county_of,
            runtime.clock,
            LinkPolicy.from_env(runtime.env),
        )
        self.recorder = Recorder(
            self.context,
            claim_idle_seconds=env_number(env, "HOTLINE_RECORDER_CLAIM_SECONDS", 30, 0.1, 86_400, "seconds"),
            linger=env_number(env, "HOTLINE_RECORDER_LINGER_MS", 200, 0, 5_000, "milliseconds") / 1000,
            on_recorded=self.metrics.recorded.inc,
            periodic=self._observe,
            after=self._tell_repeats,
        )
        self.retention = Retention(self.context, self.retention_days)
        self.schedule = Schedule.from_env(runtime.env)
        self._task: asyncio.Task[None] | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self._sender: asyncio.Task[None] | None = None

    async def _tell_repeats(self, appeal_nos: list[str]) -> int:
        """Units holding appeals linked since their assignment are told (gateway.briefing)."""
        from gateway.briefing import tell_repeats  # it reads the loop and the record: a cycle at import

        return await tell_repeats(self.runtime, appeal_nos)

    def _county_of(self, area: str) -> str | None:
        return county(self.runtime.config.router.gazetteer, area)

    async def start(self, *, workers: bool = True) -> None:
        """Migrate the schema (a failure stops start-up: :class:`MigrationFailed`), start the recorder."""
        before, now = await upgrade(self.engine)
        if before != now:
            log.info("records.migrated", database=safe_url(self.url), before=before, now=now)
        if workers:
            self._task = asyncio.create_task(self.recorder.run(), name="recorder")
            self._sweeper = asyncio.create_task(self._sweep(), name="retention")
            if self.schedule is not None:
                self._sender = asyncio.create_task(self._send_reports(self.schedule), name="reports")

    async def stop(self) -> None:
        """Cancel the recorder wherever it is: what it had not acknowledged is recorded again later."""
        self.recorder.stop()
        tasks = [t for t in (self._task, self._sweeper, self._sender) if t is not None]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=STOP_TIMEOUT)
        await self.engine.dispose()

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def _observe(self) -> None:
        self.metrics.observe(await lag(self.runtime.redis, self.runtime.keys))
        self.metrics.database_up.set(1 if self.recorder.database_ok is not False else 0)

    async def _sweep(self) -> None:
        """Retention, beside the recorder (a sweep never delays recording); failures wait a round."""
        while True:
            await asyncio.sleep(self.sweep_interval)
            try:
                await self.retention.sweep()
            except (RedisError, SQLAlchemyError, OSError) as e:
                raise_if_cancelled()
                log.warning("records.retention_failed", error=type(getattr(e, "orig", None) or e).__name__)

    async def _send_reports(self, schedule: Schedule) -> None:
        """The scheduled reports (docs/reports.md), checked every ``check_seconds``."""
        while True:
            try:
                names = render.display_names(self.runtime.config)
                runtime = self.runtime
                await run_once(schedule, runtime.redis, runtime.keys, self.engine, runtime.clock(), names)
            except (RedisError, SQLAlchemyError) as e:
                raise_if_cancelled()
                log.warning("records.reports_failed", error=type(getattr(e, "orig", None) or e).__name__)
            await asyncio.sleep(schedule.check_seconds)

    async def health(self) -> dict[str, Any]:
        """The health item of /readyz: whether the database answers and how far behind the record is."""
        try:
            found: Lag | None = await lag(self.runtime.redis, self.runtime.keys)
        except RedisError:
            found = None  # the redis check of /readyz says so
        if found is not None:
            self.metrics.observe(found)
        try:
            async with asyncio.timeout(2.0), self.engine.connect() as conn:
                await conn.execute(select(1))
            database = True
        except Exception:  # any failure to answer is "down" here; the recorder logs the cause
            database = False
        problems = []
        if not database:
            problems.append("the database does not answer; events wait in Redis")
        if found is not None and found.seconds > LAG_DEGRADED_SECONDS:
            problems.append(f"the record is {found.seconds:.0f} s behind")
        if self._task is not None and not self.running:
            problems.append("the recorder is not running")
        return {
            "status": "degraded" if problems else "healthy",
            "database": database,
            "lag_events": found.events if found else None,
            "lag_seconds": round(found.seconds, 3) if found else None,
            "problems": problems,
        }

    async def search(self, query: SearchQuery) -> dict[str, Any]:
        return await search(self.engine, query)

    async def archived(self, appeal_no: str) -> AppealRecord | None:
        """The appeal as the record holds it (for the channels' status past retention)."""
        found = await recorded_appeal(self.engine, appeal_no)
        return found[0] if found is not None else None

    async def received(self, channel_id: str, start: datetime, end: datetime, limit: int) -> list[str]:
        """A channel's appeals received in [start, end], newest first (Open311's list)."""
        return await received_in(self.engine, channel_id, start, end, limit)


async def find_appeal(runtime: Runtime, appeal_no: str) -> tuple[AppealRecord, list[dict[str, Any]]] | None:
    """An appeal and its history: from Redis while it is there, else from the record (past
    retention); None when neither knows it. For every surface that answers about one appeal."""
    record = await runtime.loop.get(appeal_no)
    if record is not None:
        return record, await runtime.loop.history(appeal_no)
    if runtime.records is None:
        return None
    return await recorded_appeal(runtime.records.engine, appeal_no)

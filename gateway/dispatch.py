"""The dispatch worker: reads the intake stream, asks the router, records the decision and schedules
the delivery to the chosen unit, or puts the appeal in the centre's manual queue.

Intake entries are read with a consumer group, so an entry is acknowledged only after its decision
is stored. Entries a dead worker held longer than ``claim_idle_seconds`` are taken over (XAUTOCLAIM).
An entry that fails ``max_attempts`` times goes to the dead-letter stream ``hl:intake:dead``.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Callable
from datetime import datetime
from typing import Any

import redis.asyncio as aioredis
import structlog
from redis.exceptions import RedisError, ResponseError

from gateway.config import Config, IntakeSettings
from gateway.errors import Conflict
from gateway.loop import MAX_RETURNS, AppealRecord, IntakeEntry, Loop, State
from gateway.store import Keys, decode_hash
from router import route

GROUP = "router"
BLOCK_MS = 250  # also how often held appeals are looked at


class DispatchWorker:
    def __init__(
        self,
        redis: aioredis.Redis,
        keys: Keys,
        loop: Loop,
        config: Callable[[], Config],
        settings: IntakeSettings,
        clock: Callable[[], datetime],
    ) -> None:
        self.redis = redis
        self.keys = keys
        self.loop = loop
        self.config = config
        self.settings = settings
        self.clock = clock
        self.consumer = f"{socket.gethostname()}-{os.getpid()}"
        self.log = structlog.get_logger("dispatch")
        self.running = False
        self.stopping = False

    async def ensure_group(self) -> None:
        try:
            await self.redis.xgroup_create(self.keys.intake_stream, GROUP, id="0", mkstream=True)
        except ResponseError as e:
            if "BUSYGROUP" not in str(e):
                raise

    async def run(self) -> None:
        await self.ensure_group()
        self.running = True
        loop = asyncio.get_running_loop()
        next_claim = 0.0
        while not self.stopping:
            try:
                if loop.time() >= next_claim:
                    await self._reclaim()
                    next_claim = loop.time() + self.settings.claim_idle_seconds / 2
                await self.loop.release_held(self.clock().timestamp())
                batches: Any = await self.redis.xreadgroup(
                    GROUP, self.consumer, {self.keys.intake_stream: ">"}, count=32, block=BLOCK_MS
                )
                for _stream, entries in batches or []:
                    await self._handle_all(entries)
            except (RedisError, OSError) as e:
                self.log.warning("dispatch.redis_error", error=str(e))
                await asyncio.sleep(1)  # back off while Redis is away, then read again

        self.running = False

    async def _reclaim(self) -> None:
        idle = int(self.settings.claim_idle_seconds * 1000)
        start = "0-0"
        while True:
            result: Any = await self.redis.xautoclaim(
                self.keys.intake_stream, GROUP, self.consumer, idle, start_id=start, count=64
            )
            start, entries = result[0], result[1]
            await self._handle_all([(entry_id, fields) for entry_id, fields in entries if fields])
            if start in (b"0-0", "0-0"):
                return

    async def _handle_all(self, entries: list[tuple[bytes, dict[bytes, bytes]]]) -> None:
        """A batch at once: its attempt counts and appeal records in one round trip, then each
        appeal's step (one script, which also acknowledges the entry) concurrently. Entries
        acknowledged by no step (dead-lettered, already dispatched) are acknowledged together. A
        Redis error leaves the rest pending for a retry."""
        if not entries:
            return
        numbers = [fields.get(b"appeal_no", b"").decode() for _, fields in entries]
        async with self.redis.pipeline(transaction=False) as pipe:
            for entry_id, _ in entries:
                pipe.hincrby(self.keys.intake_attempts, entry_id, 1)
            for appeal_no in numbers:
                pipe.hgetall(self.keys.appeal(appeal_no))
            replies: list[Any] = await pipe.execute()
        attempts, records = replies[: len(entries)], replies[len(entries) :]
        results = await asyncio.gather(
            *(
                self._handle(entry_id, appeal_no, int(n), data)
                for (entry_id, _), appeal_no, n, data in zip(entries, numbers, attempts, records, strict=True)
            ),
            return_exceptions=True,
        )
        done = [entry_id for (entry_id, _), acked in zip(entries, results, strict=True) if acked is False]
        if done:
            await self._ack(done)
        for result in results:
            if isinstance(result, BaseException):
                raise result

    async def _handle(
        self, entry_id: bytes, appeal_no: str, attempts: int, data: dict[bytes, bytes]
    ) -> bool | None:
        """True: the step acknowledged the entry; False: acknowledge it; None: leave it pending."""
        try:
            if not data:
                raise LookupError(f"intake entry for a missing appeal {appeal_no}")
            record = AppealRecord.from_fields(decode_hash(data))
            return await self.dispatch(record, IntakeEntry(GROUP, entry_id.decode()))
        except (RedisError, OSError):
            raise
        except Exception as e:  # a bad entry must not stop the worker
            log = self.log.bind(appeal_no=appeal_no, entry=entry_id.decode())
            log.error("dispatch.failed", attempts=attempts, error=repr(e)[:300])
            if attempts < self.settings.max_attempts:
                return None  # stays pending; XAUTOCLAIM brings it back
            await self.redis.xadd(
                self.keys.intake_dead,
                {"appeal_no": appeal_no, "entry": entry_id, "error": repr(e)[:500]},
            )
            log.error("dispatch.dead_lettered", attempts=attempts)
            return False

    async def _ack(self, entry_ids: list[bytes]) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.xack(self.keys.intake_stream, GROUP, *entry_ids)
            pipe.xdel(self.keys.intake_stream, *entry_ids)
            pipe.hdel(self.keys.intake_attempts, *entry_ids)
            await pipe.execute()

    async def dispatch(self, record: AppealRecord, entry: IntakeEntry) -> bool:
        """Route an accepted appeal (new, or returned by a unit) and assign it, acknowledging its
        intake entry in the same step (True); False when it was already dispatched by an earlier
        try. Units that returned it are never chosen again; after ``MAX_RETURNS`` returns the
        centre decides by hand."""
        if record.state is not State.accepted:
            return False  # already dispatched by an earlier try
        appeal_no = record.appeal_no
        config = self.config()
        appeal = record.appeal
        decision = route(
            config.router,
            subject=appeal.subject,
            content=appeal.content,
            address=appeal.location.address,
            channel=appeal.channel_id,
            appeal_type=appeal.appeal_type,
            urgency=appeal.urgency,
            at=appeal.received_at,
            exclude=record.returned_by,
        )
        updates: dict[str, Any] = {"category": decision.category}
        if decision.area is not None:
            updates["location"] = appeal.location.model_copy(update={"area": decision.area})
        if decision.urgency is not None:
            updates["urgency"] = decision.urgency
        appeal = appeal.model_copy(update=updates)
        about = {"appeal_no": appeal_no, "channel": appeal.channel_id}  # no bind: one line each
        too_many = len(record.returned_by) >= MAX_RETURNS
        if decision.unit is None or too_many:
            why = f"returned {len(record.returned_by)} times" if too_many else decision.explanation
            await self.loop.to_manual(record, appeal, decision, why, entry)
            self.log.info("appeal.manual", **about, reason=why, confidence=decision.confidence)
            return True
        try:
            await self.loop.route_to(record, appeal, decision, entry)
        except Conflict:
            return True  # another worker got there first (the script acknowledged the entry)
        chosen = {"unit": decision.unit, "rule": decision.rule, "confidence": decision.confidence}
        self.log.info("appeal.dispatched", **about, **chosen)
        return True

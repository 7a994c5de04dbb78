"""What a unit is told about an appeal beside the loop's own assignment fields: the earlier appeal it
repeats or duplicates (``repeat_of``) and its supervision 督办 (``supervision``); and, when either
comes after the assignment went out, an ``appeal.updated`` delivery that says so.

Where each is known, and when:

- ``repeat_of``: links live in the record (SQL), which the recorder writes within a second of each
  step. At an assignment, :func:`gateway.records.repeats.repeat_of` answers from a link that stands
  (a re-dispatch, an operator's assignment, a reopening) or decides against the same citizen's
  earlier appeals in the record (a handful of indexed rows), within :data:`LOOKUP_SECONDS`
  (``HOTLINE_REPEAT_LOOKUP_SECONDS``; 0: no look-up, every repeat is told by an update); after a
  failure the lookup rests :data:`REST_SECONDS`, so a database that is away never slows dispatch for
  long. What it cannot know in time (a link by place and topic, another citizen's report of the same
  matter, anything while the database is away) the recorder finds when it records the appeal:
  :func:`tell_repeats` then sends the unit holding it an update, once (the record's ``told_repeat``
  field says what the unit was told).
- ``supervision``: an operator's ``supervised`` event in the appeal's history, or its upstream
  platform's flag (both in Redis). An appeal put under supervision while a unit holds it is told by
  an update (:class:`SupervisionUpdates`); one put there while its assignment was being made, by the
  assignment script's answer (:meth:`UnitBriefing.supervised_since`).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import structlog
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from adapters.base import raise_if_cancelled
from gateway.delivery.sender import EVENT_UPDATED
from gateway.env import env_number
from gateway.loop import AppealRecord, LoopListener, State, Stepped
from gateway.loop.service import Brief
from gateway.loop.states import WITH_UNIT
from gateway.records.repeats import repeat_of, standing, told_reply
from gateway.store import text
from gateway.supervision import EVENT_SUPERVISED, supervision_of
from normalizer import Appeal

if TYPE_CHECKING:
    from gateway.runtime import Runtime

LOOKUP_SECONDS = 0.5  # the most an assignment waits for the record's answer on repeats (default)
REST_SECONDS = 10.0  # after a failed lookup, assignments go out without one for this long
log = structlog.get_logger("briefing")


async def current(runtime: Runtime, repeat: dict[str, Any] | None) -> dict[str, Any] | None:
    """``repeat_of`` with the earlier appeal's unit, state and reply as Redis holds them while it
    does (the record may be a second behind; past retention it is the truth)."""
    if repeat is None:
        return None
    earlier = await runtime.loop.get(repeat["appeal_no"])
    if earlier is None:
        return repeat
    reply = told_reply(earlier.reply, earlier.appeal.model_dump(mode="json"))
    return repeat | {"unit": earlier.unit, "state": earlier.state.value, "reply": reply}


def lookup_seconds(env: Mapping[str, str]) -> float:
    """``HOTLINE_REPEAT_LOOKUP_SECONDS``: how long an assignment may wait for the record's answer
    on repeats (default 0.5); 0 turns the look-up off (every repeat then reaches the unit as an
    update, a second or so after its assignment)."""
    return env_number(env, "HOTLINE_REPEAT_LOOKUP_SECONDS", LOOKUP_SECONDS, 0, 10, "seconds")


def told_supervision(supervision: dict[str, Any] | None) -> dict[str, Any] | None:
    """What a unit is told of a supervision: its note, deadline and who supervises."""
    if supervision is None:
        return None
    return {k: supervision.get(k) for k in ("note", "deadline", "by")}


class UnitBriefing:
    """The runtime's :class:`gateway.loop.service.Briefing`."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._rest_until = 0.0
        self.lookup_seconds = lookup_seconds(runtime.env)

    async def brief(self, record: AppealRecord, appeal: Appeal) -> Brief:
        first = record.state is State.accepted and not record.returned_by  # the router's first dispatch
        repeat = await self._repeat_of(appeal, first)
        supervision = await self._supervision(record)
        return Brief(
            {"repeat_of": repeat, "supervision": told_supervision(supervision)},
            {"told_repeat": repeat["appeal_no"] if repeat else ""},
        )

    async def _repeat_of(self, appeal: Appeal, first: bool) -> dict[str, Any] | None:
        records = self.runtime.records
        if records is None or not self.lookup_seconds or time.monotonic() < self._rest_until:
            return None
        try:
            async with asyncio.timeout(self.lookup_seconds):
                found = await repeat_of(
                    records.engine, appeal, records.context.links, self.runtime.clock(), first=first
                )
        except (SQLAlchemyError, OSError, TimeoutError, ValueError, TypeError, KeyError) as e:
            raise_if_cancelled()
            self._rest_until = time.monotonic() + REST_SECONDS
            error = type(getattr(e, "orig", None) or e).__name__  # never the SQL parameters
            log.warning("briefing.repeat_lookup_failed", appeal_no=appeal.appeal_no, error=error)
            return None
        return await current(self.runtime, found)

    async def _supervision(self, record: AppealRecord) -> dict[str, Any] | None:
        upstream = record.appeal.upstream
        if not record.supervised and not (upstream is not None and upstream.supervised):
            return None  # the usual case: no history read
        return supervision_of(record, await self.runtime.loop.history(record.appeal_no))

    def supervised_since(self, appeal_no: str) -> None:
        self.runtime.spawn(tell_supervision(self.runtime, appeal_no), name=f"supervised-{appeal_no}")


class SupervisionUpdates(LoopListener):
    """An operator's supervision of an appeal a unit already holds reaches that unit as an
    ``appeal.updated`` delivery. (An upstream platform's flag, recorded as an event by the first
    supervision sweep, has no note: the unit had it with the assignment.)"""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def stepped(self, step: Stepped) -> None:
        event = step.event
        if event.type == EVENT_SUPERVISED and event.detail.get("note") is not None:
            self.runtime.spawn(
                tell_supervision(self.runtime, step.appeal_no), name=f"supervised-{step.appeal_no}"
            )


async def tell_supervision(runtime: Runtime, appeal_no: str) -> bool:
    """Tell the unit holding the appeal its latest supervision; once per supervision (the delivery
    id counts the appeal's ``supervised`` events). False: nobody to tell, or told already."""
    try:
        record = await runtime.loop.get(appeal_no)
        network = runtime.config.network
        unit = network.get(record.unit) if record is not None and record.unit else None
        if record is None or unit is None or record.state not in WITH_UNIT:
            return False  # its assignment will carry it
        history = await runtime.loop.history(appeal_no)
        events = [e for e in history if e.get("type") == EVENT_SUPERVISED]
        supervision = told_supervision(supervision_of(record, history))
        if not events or supervision is None:
            return False
        at = str(events[-1].get("at"))
        data = {
            "appeal_no": appeal_no,
            "unit": unit.id,
            "unit_name": unit.name,
            "type": "supervised",
            "supervision": supervision,
            "at": at,
        }
        created = await runtime.deliveries.add(
            f"msg_{appeal_no}_supervised_{len(events)}",
            appeal_no=appeal_no,
            unit=unit.id,
            event_type=EVENT_UPDATED,
            data=json.dumps(data, ensure_ascii=False),
            at=at,
            due=runtime.clock().timestamp(),
            pull=unit.delivery == "pull",
        )
    except (RedisError, OSError) as e:
        raise_if_cancelled()
        log.warning("briefing.supervision_update_failed", appeal_no=appeal_no, error=type(e).__name__)
        return False
    if created:
        runtime.deliverer.wake.set()
    return created


async def tell_repeats(runtime: Runtime, appeal_nos: Sequence[str]) -> int:
    """After the recorder's batch: each of these appeals that a unit holds, told no ``repeat_of``
    while a link now stands, gets an ``appeal.updated`` delivery saying which earlier appeal it
    repeats (its id ``msg_<no>_repeat_<earlier no>``: once, whoever records it). Returns how many were
    told. Redis errors are raised (the recorder records the batch again); database errors logged."""
    records = runtime.records
    if not appeal_nos or records is None:
        return 0
    keys = runtime.keys
    async with runtime.redis.pipeline(transaction=False) as pipe:
        for no in appeal_nos:
            pipe.hmget(keys.appeal(no), ["state", "unit", "told_repeat"])
        replies: list[Any] = await pipe.execute()
    with_unit = {s.value for s in WITH_UNIT}
    held: dict[str, str] = {}
    for no, (state, unit, told) in zip(appeal_nos, replies, strict=True):
        if state is not None and text(state) in with_unit and unit and not told:
            held[no] = text(unit)
    if not held:
        return 0
    try:
        found = await standing(records.engine, list(held))
    except (SQLAlchemyError, OSError) as e:
        raise_if_cancelled()
        log.warning(
            "briefing.repeat_lookup_failed",
            appeals=len(held),
            error=type(getattr(e, "orig", None) or e).__name__,
        )
        return 0
    told = 0
    now = runtime.clock()
    for no, stands in found.items():
        unit = runtime.config.network.get(held[no])
        if unit is None:
            continue
        context = await current(runtime, stands) or stands
        data = {
            "appeal_no": no,
            "unit": unit.id,
            "unit_name": unit.name,
            "type": "repeat_found",
            "repeat_of": context,
            "at": now.isoformat(),
        }
        if await runtime.deliveries.add(
            f"msg_{no}_repeat_{context['appeal_no']}",
            appeal_no=no,
            unit=unit.id,
            event_type=EVENT_UPDATED,
            data=json.dumps(data, ensure_ascii=False),
            at=now.isoformat(),
            due=now.timestamp(),
            pull=unit.delivery == "pull",
        ):
            told += 1
        await runtime.redis.hset(keys.appeal(no), "told_repeat", context["appeal_no"])
    if told:
        runtime.deliverer.wake.set()
    return told

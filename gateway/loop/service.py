"""The loop as one service: every step after acceptance (dispatch, passing down, the units'
reports, the centre's decisions), checked against the step table, applied by one script each, and
heard by the listeners given at construction.

HTTP handlers authenticate, parse, call a method here and answer; the dispatch worker calls
:meth:`Loop.route_to` / :meth:`Loop.to_manual` with the router's decision.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from gateway.config import Config
from gateway.delivery.queue import new_delivery
from gateway.delivery.sender import EVENT_ASSIGNED, EVENT_REOPENED, SendResult
from gateway.errors import BadRequest, Conflict, Forbidden, NotFound, StorageUnavailable
from gateway.loop.effects import UnitReport, assignment_of, unit_effect
from gateway.loop.events import HistoryEvent, Stepped
from gateway.loop.intake import Archive, Intake
from gateway.loop.record import AppealRecord, deadline_fields, dumps
from gateway.loop.states import OPERATOR_STEPS, UNIT_STEPS, State, Step, step
from gateway.sla import Deadlines, deadlines, extend
from gateway.store import Keys, text
from normalizer import Appeal, AppealDraft
from router import Decision, UnitKind

OPERATOR = "operator"
DECIDED = {"approve": "approved", "deny": "denied"}


class LoopListener:
    """Hears the loop; a side effect (health, metrics, write-back, answers, waking the delivery
    worker) subclasses it and overrides what it needs. Called right after the step is stored, in
    the caller's task: return at once (spawn a task for I/O), never raise."""

    def submitted(self, channel_id: str, outcome: str) -> None:
        """An intake attempt ended: ``accepted``, ``duplicate``, ``rejected`` or ``failed``."""

    def stepped(self, step: Stepped) -> None:
        """A history event was stored (acceptance, merge, follow-up, every later step)."""

    def scheduled(self, delivery_id: str, unit: str) -> None:
        """A delivery to a unit was created (due now)."""

    def attempted(self, unit: str, result: SendResult, seconds: float) -> None:
        """A delivery attempt to a unit ended (told by the delivery worker)."""


@dataclass(frozen=True)
class Brief:
    """What a unit is told about an assignment beside the loop's own fields."""

    assignment: dict[str, Any]
    """Merged into the assignment (e.g. ``repeat_of``, ``supervision``)."""
    fields: dict[str, str] = field(default_factory=dict)
    """Record fields set with it (what the unit was told, to tell it what comes later)."""


class Briefing(Protocol):
    """The runtime's part of an assignment: what the record and the history know of the appeal
    (the earlier appeal it repeats, its supervision). The loop asks before every assignment."""

    async def brief(self, record: AppealRecord, appeal: Appeal) -> Brief:
        """Never raises: what cannot be known in time is left out (and told later)."""
        ...

    def supervised_since(self, appeal_no: str) -> None:
        """The appeal went under supervision after its brief was made: tell the unit now (return at
        once; I/O in a task)."""
        ...


@dataclass(frozen=True)
class IntakeEntry:
    """The intake stream entry a dispatch step acknowledges in its own script."""

    group: str
    entry_id: str


@dataclass(frozen=True)
class TransitionResult:
    ok: bool
    previous: State | None
    reason: str = ""


class Loop(Intake):
    def __init__(
        self,
        redis: aioredis.Redis,
        keys: Keys,
        config: Callable[[], Config],
        *,
        clock: Callable[[], datetime],
        listeners: Sequence[LoopListener] = (),
        is_emergency: Callable[[AppealDraft], bool] = lambda _draft: False,
        briefing: Briefing | None = None,
        archive: Archive | None = None,
    ) -> None:
        first = config()
        super().__init__(
            redis,
            keys,
            prefix=first.gateway.centre.appeal_no_prefix,
            network=lambda: config().network,
            channel_kinds={c.id: c.kind for c in first.channels},
            clock=clock,
            listeners=listeners,
            is_emergency=is_emergency,
            archive=archive,
        )
        self.config = config
        self.briefing = briefing

    # --- the units' steps ---------------------------------------------------------------------

    async def assigned(self, unit_id: str, appeal_no: str, *, or_supervised: bool) -> AppealRecord:
        """The appeal if it is assigned to the unit (or, ``or_supervised``, passed down by it)."""
        record = await self.get(appeal_no)
        mine = record is not None and (
            record.unit == unit_id or (or_supervised and record.supervisor == unit_id)
        )
        if record is None or not mine:
            raise NotFound(f"no appeal {appeal_no} is assigned to {unit_id}")
        return record

    async def unit_report(self, unit_id: str, appeal_no: str, report: UnitReport) -> dict[str, Any]:
        """A unit's signing 签收, return 退回, passing down 下派, progress, extension request or reply."""
        record = await self.assigned(unit_id, appeal_no, or_supervised=False)
        found = _checked(UNIT_STEPS, report.type, record)
        if report.type == "sub_assigned":
            return await self._pass_down(record, unit_id, report)
        now = self.clock()
        effect = unit_effect(report, record, unit_id, now)
        to = found.to or record.state
        event = HistoryEvent(report.type, f"unit:{unit_id}", now, to, effect.detail)
        result = await self.transition(
            record, found, event, unit=unit_id, fields=effect.fields, requeue=effect.requeue
        )
        if not result.ok:
            raise Conflict(f"{report.type!r} is not allowed now: {result.reason}")
        return {"appeal_no": appeal_no, "state": to.value}

    async def _pass_down(self, record: AppealRecord, unit_id: str, report: UnitReport) -> dict[str, Any]:
        if not report.unit:
            raise BadRequest("'sub_assigned' needs 'unit'", field="unit")
        network = self.network()
        child = network.get(report.unit)
        acting = network.get(unit_id)
        if acting is None or acting.level != 2:
            raise Forbidden("only a level-2 unit passes an appeal down")
        if child is None or child.level != 3 or child.parent != unit_id:
            raise BadRequest(f"{report.unit!r} is not a level-3 unit under {unit_id}", field="unit")
        if child.kind is UnitKind.centre:
            raise BadRequest("cannot pass down to the centre", field="unit")
        now = self.clock()
        event = HistoryEvent(
            "sub_assigned", f"unit:{unit_id}", now, State.dispatched, {"unit": child.id, "note": report.note}
        )
        await self.assign(
            record,
            child.id,
            allowed=UNIT_STEPS["sub_assigned"].after,
            expect_unit=unit_id,
            supervisor=unit_id,
            event=event,
            assignment=assignment_of(
                network, child.id, record.appeal, now, None, assigned_by=unit_id, deadlines=record.deadlines
            ),
        )
        return {"appeal_no": record.appeal_no, "state": State.dispatched.value, "unit": child.id}

    # --- the centre's steps -------------------------------------------------------------------

    async def assign_by_hand(
        self, appeal_no: str, unit_id: str, note: str | None, *, actor: str = OPERATOR
    ) -> dict[str, Any]:
        """An operator (``actor``: who, as the history names them) assigns, from the manual queue
        or overriding the router."""
        record = await self.require(appeal_no)
        _checked(OPERATOR_STEPS, "assigned", record)
        network = self.network()
        unit = network.get(unit_id)
        if unit is None or unit.level == 1:
            raise BadRequest(f"{unit_id!r} is not a member unit to assign to", field="unit")
        now = self.clock()
        event = HistoryEvent(
            "dispatched", actor, now, State.dispatched, {"unit": unit.id, "note": note, "by_hand": True}
        )
        assignment = assignment_of(
            network, unit.id, record.appeal, now, None, assigned_by=actor, deadlines=record.deadlines
        )
        await self.assign(
            record, unit.id, allowed=OPERATOR_STEPS["assigned"].after, event=event, assignment=assignment
        )
        return {"appeal_no": appeal_no, "state": State.dispatched.value, "unit": unit.id}

    async def decide_extension(
        self, appeal_no: str, decision: str, note: str | None, *, actor: str = OPERATOR
    ) -> dict[str, Any]:
        """Approve or deny a unit's pending extension request; the deadline moves only on approval."""
        record = await self.require(appeal_no)
        _checked(OPERATOR_STEPS, "extension_decided", record)
        pending = record.extension or {}
        if pending.get("status") != "pending":
            raise Conflict("no extension request is waiting")
        now = self.clock()
        fields = {"extension": dumps(pending | {"status": DECIDED[decision], "decided_at": now.isoformat()})}
        detail: dict[str, Any] = {"decision": decision, "days": pending.get("days")}
        if decision == "approve" and record.deadlines:
            current = Deadlines.model_validate(record.deadlines)
            moved = extend(current, int(pending.get("days", 0)), self.config().sla).model_dump(mode="json")
            fields |= deadline_fields(moved)
            detail["reply_by"] = moved.get("reply_by")
        await self._operator_step(record, "extension_decided", fields, detail, actor)
        return {"appeal_no": appeal_no, "extension": DECIDED[decision]}

    async def return_visit(
        self, appeal_no: str, satisfaction: str, note: str | None, *, actor: str = OPERATOR
    ) -> dict[str, Any]:
        """The centre's return visit 回访 to the citizen after the reply."""
        record = await self.require(appeal_no)
        detail = {"satisfaction": satisfaction, "note": note}
        state = await self._operator_step(record, "visited", {"satisfaction": satisfaction}, detail, actor)
        return {"appeal_no": appeal_no, "state": state.value}

    async def review(
        self, appeal_no: str, decision: str, note: str | None, *, actor: str = OPERATOR
    ) -> dict[str, Any]:
        """Review 审核: approve files 归档 the appeal; reopen sends it back to its unit (counted)."""
        record = await self.require(appeal_no)
        if decision == "approve":
            state = await self._operator_step(record, "filed", {}, {"reviewed": True, "note": note}, actor)
            return {"appeal_no": appeal_no, "state": state.value}
        _checked(OPERATOR_STEPS, "reopened", record)
        if record.unit is None:
            raise Conflict("the appeal has no unit to reopen it with")
        now = self.clock()
        reopened = record.reopened + 1
        event = HistoryEvent(
            "reopened",
            actor,
            now,
            State.handling,
            {"unit": record.unit, "note": note, "reopened": reopened},
        )
        assignment = assignment_of(
            self.network(), record.unit, record.appeal, now, None,
            reopened=reopened, note=note, deadlines=record.deadlines,
        )  # fmt: skip
        await self.assign(
            record,
            record.unit,
            allowed=OPERATOR_STEPS["reopened"].after,
            to=State.handling,
            supervisor=record.supervisor,
            event_type=EVENT_REOPENED,
            event=event,
            assignment=assignment,
            fields={"reopened": str(reopened)},
        )
        return {"appeal_no": appeal_no, "state": State.handling.value}

    async def _operator_step(
        self,
        record: AppealRecord,
        event_type: str,
        fields: dict[str, str],
        detail: dict[str, Any],
        actor: str = OPERATOR,
    ) -> State:
        found = _checked(OPERATOR_STEPS, event_type, record)
        state = found.to or record.state
        event = HistoryEvent(event_type, actor, self.clock(), state, detail)
        result = await self.transition(record, found, event, fields=fields)
        if not result.ok:
            raise Conflict(f"{event_type!r} is not allowed now: {result.reason}")
        return state

    # --- dispatch -----------------------------------------------------------------------------

    async def route_to(
        self, record: AppealRecord, appeal: Appeal, decision: Decision, entry: IntakeEntry | None = None
    ) -> str:
        """The router chose ``decision.unit``: record the decision and deadlines, schedule the
        delivery. Returns the delivery id; Conflict when another worker dispatched it first."""
        assert decision.unit is not None
        config = self.config()
        now = self.clock()
        due = deadlines(appeal.urgency, appeal.received_at, config.sla).model_dump(mode="json")
        event = HistoryEvent(
            "dispatched",
            "router",
            now,
            State.dispatched,
            {"unit": decision.unit, "rule": decision.rule, "explanation": decision.explanation},
        )
        return await self.assign(
            record,
            decision.unit,
            allowed={State.accepted},
            event=event,
            assignment=assignment_of(config.network, decision.unit, appeal, now, decision, deadlines=due),
            fields={"appeal": appeal.model_dump_json(), "decision": decision.model_dump_json()}
            | deadline_fields(due),
            entry=entry,
            appeal=appeal,
        )

    async def to_manual(
        self,
        record: AppealRecord,
        appeal: Appeal,
        decision: Decision,
        why: str,
        entry: IntakeEntry | None = None,
    ) -> bool:
        """Leave the appeal to the centre's manual dispatch queue 人工派单."""
        now = self.clock()
        event = HistoryEvent(
            "manual",
            "router",
            now,
            State.manual,
            {"explanation": why, "candidates": [c.model_dump(mode="json") for c in decision.candidates]},
        )
        code, _state = await self.scripts.manual(
            keys=self._step_keys(record.appeal_no) | {"manual": self.keys.manual_queue},
            args=_entry_args(entry)
            | {
                "no": record.appeal_no,
                "allowed": dumps([State.accepted.value]),
                "event": event.to_json(),
                "at": now.isoformat(),
                "since": now.timestamp(),
                "fields": dumps({"appeal": appeal.model_dump_json(), "decision": decision.model_dump_json()}),
            },
        )
        if code == -1:
            raise NotFound(f"no appeal {record.appeal_no}")
        if code == 1:
            self._told(record.appeal_no, appeal.channel_id, event)
        return bool(code == 1)

    # --- the primitives -----------------------------------------------------------------------

    def _step_keys(self, appeal_no: str) -> dict[str, str]:
        """The keys every step's script touches: the record, its history, the loop-events stream,
        the overdue index, and the intake stream (a requeue, or the entry a dispatch acknowledges)."""
        k = self.keys
        return {
            "appeal": k.appeal(appeal_no),
            "history": k.history(appeal_no),
            "events": k.events,
            "deadlines": k.deadlines,
            "intake": k.intake_stream,
            "attempts": k.intake_attempts,
        }

    async def assign(
        self,
        record: AppealRecord,
        unit_id: str,
        *,
        allowed: Iterable[State],
        event: HistoryEvent,
        assignment: dict[str, Any],
        supervisor: str | None = None,
        expect_unit: str | None = None,
        to: State = State.dispatched,
        event_type: str = EVENT_ASSIGNED,
        fields: Mapping[str, str] | None = None,
        entry: IntakeEntry | None = None,
        appeal: Appeal | None = None,
    ) -> str:
        """Give the appeal to a unit and create its delivery; returns the delivery id. Raises
        NotFound, or Conflict with the current state. ``entry``: the intake entry acknowledged
        with it (also when the state no longer allows it: another worker dispatched it).
        ``appeal``: the appeal as it is being stored (routed), if not the record's."""
        unit = self.network().get(unit_id)
        if unit is None:
            raise NotFound(f"no unit {unit_id}")
        appeal_no = record.appeal_no
        if self.briefing is not None:
            brief = await self.briefing.brief(record, appeal or record.appeal)
            assignment = assignment | brief.assignment
            fields = dict(fields or {}) | brief.fields
        now = self.clock()
        delivery = new_delivery(
            appeal_no=appeal_no,
            unit=unit_id,
            event_type=event_type,
            data=dumps(assignment),
            at=now.isoformat(),
        )
        try:
            code, value, *after = await self.scripts.assign(
                keys=self._step_keys(appeal_no)
                | {
                    "schedule": self.keys.delivery_schedule,
                    "manual": self.keys.manual_queue,
                    "inbox": self.keys.inbox(unit_id),
                    "pending": self.keys.unit_pending(unit_id),
                },
                args=_entry_args(entry)
                | {
                    "no": appeal_no,
                    "allowed": dumps(sorted(allowed)),
                    "to": to.value,
                    "unit": unit_id,
                    "supervisor": supervisor or "",
                    "expect_unit": expect_unit or "",
                    "event": event.to_json(),
                    "at": now.isoformat(),
                    "due": now.timestamp(),
                    "fields": dumps(dict(fields or {})),
                    "delivery": dumps(delivery),
                    "delivery_prefix": self.keys.delivery_prefix,
                    "pull": "1" if unit.delivery == "pull" else "0",
                },
            )
        except RedisError as e:
            raise StorageUnavailable("the appeal store is unavailable") from e
        if code == -1:
            raise NotFound(f"no appeal {appeal_no}")
        if code == -2:
            raise NotFound(f"appeal {appeal_no} is not assigned to {expect_unit}")
        if code == 0:
            raise Conflict(f"not allowed in state {text(value)!r}", state=text(value))
        delivery_id = text(value)
        self._told(appeal_no, record.appeal.channel_id, event)
        for listener in self.listeners:
            listener.scheduled(delivery_id, unit_id)
        supervised = bool(after) and text(after[0]) == "1"
        if self.briefing is not None and supervised and not assignment.get("supervision"):
            self.briefing.supervised_since(appeal_no)
        return delivery_id

    async def transition(
        self,
        record: AppealRecord,
        found: Step,
        event: HistoryEvent,
        *,
        unit: str = "",
        fields: Mapping[str, str] | None = None,
        requeue: bool = False,
    ) -> TransitionResult:
        """Move along ``found`` if the state still allows it (and, given ``unit``, the appeal is
        still assigned to it): fields set, event appended and (``requeue``) the appeal put back on
        the intake stream to be routed again, all in one script."""
        appeal_no = record.appeal_no
        try:
            code, previous = await self.scripts.transition(
                keys={k: v for k, v in self._step_keys(appeal_no).items() if k != "attempts"},
                args={
                    "no": appeal_no,
                    "allowed": dumps(sorted(found.after)),
                    "to": found.to.value if found.to else "",
                    "unit": unit,
                    "event": event.to_json(),
                    "at": event.at.isoformat(),
                    "fields": dumps(dict(fields or {})),
                    "requeue": "1" if requeue else "",
                },
            )
        except RedisError as e:
            raise StorageUnavailable("the appeal store is unavailable") from e
        prev = State(text(previous)) if previous else None
        if code == -1:
            raise NotFound(f"no appeal {appeal_no}")
        if code == -2:
            return TransitionResult(False, prev, "not assigned to this unit")
        if code != 1:
            return TransitionResult(False, prev, f"state is {prev}")
        self._told(appeal_no, record.appeal.channel_id, event)
        return TransitionResult(True, prev)

    async def record_event(
        self, record: AppealRecord, event: HistoryEvent, *, once: str | None = None
    ) -> bool:
        """Append a history event that changes no state (e.g. the citizen was answered). With
        ``once``, a field of the record that marks it done: the event is appended only the first
        time, however many callers race (False: it was already there)."""
        no = record.appeal_no
        history, events = self.keys.history(no), self.keys.events
        try:
            if once is None:
                await self.scripts.record(
                    keys={"history": history, "events": events}, args={"no": no, "event": event.to_json()}
                )
            elif not await self.scripts.record_once(
                keys={"appeal": self.keys.appeal(no), "history": history, "events": events},
                args={"no": no, "event": event.to_json(), "once": once},
            ):
                return False
        except RedisError as e:
            raise StorageUnavailable("the appeal store is unavailable") from e
        self._told(no, record.appeal.channel_id, event)
        return True


def _entry_args(entry: IntakeEntry | None) -> dict[str, str]:
    return {"group": entry.group if entry else "", "entry": entry.entry_id if entry else ""}


def _checked(table: dict[str, Step], event_type: str, record: AppealRecord) -> Step:
    try:
        return step(table, event_type, record.state)
    except ValueError as e:
        raise Conflict(str(e), state=record.state.value) from None

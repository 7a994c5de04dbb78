"""Supervision 督办: an operator (``POST /api/v1/appeals/{no}/supervise``, a note and a deadline) or an
upstream platform's supervised flag puts an appeal under supervision. Supervised appeals get their
own reminders before a step falls due, and escalate to the unit's parent unit and the centre (an
alert, a delivery, an event in the appeal's history) once it is late.

:func:`decide` is pure (the network and the clock passed in); :func:`sweep` is the small function
the loop's deadline sweep calls once a round: it reads the supervised open appeals, decides, and
acts (alerts are raised once per key, deliveries have stable ids, so a repeated round adds nothing).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import select

from gateway.loop import AppealRecord, HistoryEvent, State
from gateway.records.schema import appeals as appeals_table
from router.network import Network

if TYPE_CHECKING:
    from gateway.runtime import Runtime

EVENT_SUPERVISED = "supervised"  # the history event of putting an appeal under supervision
EVENT_REMINDER = "cn.gov.12345.appeal.supervision_reminder"  # a supervised step is due soon
EVENT_ESCALATED = "cn.gov.12345.appeal.supervision_escalated"  # a supervised step is late
REMIND_WITHIN = timedelta(hours=4)
STEP_OF = {State.dispatched: "sign_by", State.signed: "reply_by", State.handling: "reply_by"}
UNANSWERED = frozenset({State.accepted, State.manual, State.dispatched, State.signed, State.handling})
ACTOR = "supervision"


@dataclass(frozen=True)
class SupervisedAppeal:
    """What the decision needs to know of one supervised appeal."""

    appeal_no: str
    state: State
    unit: str | None
    deadlines: Mapping[str, Any] | None
    deadline: datetime | None  # the supervision's own deadline (the operator's, or the upstream's)


@dataclass(frozen=True)
class Notice:
    appeal_no: str
    kind: Literal["reminder", "escalation"]
    step: str  # sign_by, reply_by, or supervision (the supervision's own deadline)
    due: datetime
    unit: str | None  # the unit responsible now
    to: tuple[str, ...]  # the units told: the unit itself (reminder); its parent and the centre

    @property
    def key(self) -> str:
        return f"supervision:{self.appeal_no}:{self.step}:{self.kind}"


def escalation_targets(network: Network, unit_id: str | None) -> tuple[str, ...]:
    """Whom a late step escalates to in the three-level network: the unit's parent unit (when that
    is not the centre itself) and the centre."""
    unit = network.get(unit_id) if unit_id else None
    parent = unit.parent if unit is not None else None
    if parent is None or parent == network.centre.id:
        return (network.centre.id,)
    return (parent, network.centre.id)


def _dues(item: SupervisedAppeal) -> list[tuple[str, datetime]]:
    dues = []
    step = STEP_OF.get(item.state)
    if step and item.deadlines and item.deadlines.get(step):
        dues.append((step, datetime.fromisoformat(str(item.deadlines[step]))))
    if item.deadline is not None and item.state in UNANSWERED:
        dues.append(("supervision", item.deadline))
    return dues


def decide(
    items: Iterable[SupervisedAppeal],
    now: datetime,
    network: Network,
    remind_within: timedelta = REMIND_WITHIN,
) -> list[Notice]:
    """The reminders (a step due within ``remind_within``) and escalations (a step past due) of the
    supervised appeals, in the order given."""
    notices = []
    for item in items:
        for step, due in _dues(item):
            if now >= due:
                to = escalation_targets(network, item.unit)
                notices.append(Notice(item.appeal_no, "escalation", step, due, item.unit, to))
            elif due - now <= remind_within:
                to = (item.unit,) if item.unit else (network.centre.id,)
                notices.append(Notice(item.appeal_no, "reminder", step, due, item.unit, to))
    return notices


def supervision_of(record: AppealRecord, history: Iterable[Mapping[str, Any]]) -> dict[str, Any] | None:
    """The appeal's supervision (by, at, note, deadline): the latest ``supervised`` event of its
    history, else its upstream platform's flag; None when it is not supervised."""
    last = None
    for event in history:
        if event.get("type") == EVENT_SUPERVISED:
            last = event
    if last is not None:
        return {
            "by": last.get("actor"),
            "at": last.get("at"),
            "note": last.get("note"),
            "deadline": last.get("deadline"),
        }
    upstream = record.appeal.upstream
    if upstream is not None and upstream.supervised:
        deadline = upstream.deadline.isoformat() if upstream.deadline else None
        return {"by": upstream.platform, "at": None, "note": None, "deadline": deadline}
    return None


async def _open_supervised(runtime: Runtime) -> list[SupervisedAppeal]:
    if runtime.records is None:
        return []
    c = appeals_table.c
    async with runtime.records.engine.connect() as conn:
        numbers = list(
            (
                await conn.execute(
                    select(c.appeal_no).where(c.supervised.is_(True), c.state != State.filed.value)
                )
            ).scalars()
        )
    found = []
    for appeal_no in numbers:
        record = await runtime.appeals.get(appeal_no)
        if record is None:
            continue
        history = await runtime.appeals.history(appeal_no)
        supervision = supervision_of(record, history) or {}
        if not any(e.get("type") == EVENT_SUPERVISED for e in history):
            await _record_upstream(runtime, record, supervision)
        deadline = datetime.fromisoformat(supervision["deadline"]) if supervision.get("deadline") else None
        found.append(SupervisedAppeal(appeal_no, record.state, record.unit, record.deadlines, deadline))
    return found


async def _record_upstream(runtime: Runtime, record: AppealRecord, supervision: dict[str, Any]) -> None:
    """An upstream platform's flag as a ``supervised`` event in the history (once, the first round
    that sees it, even when two sweeps run at the same time), so every supervision reads the same
    way (actor: the platform)."""
    upstream = record.appeal.upstream
    assert upstream is not None  # supervised, and no supervised event: the flag is the upstream's
    detail = {"note": None, "deadline": supervision.get("deadline")}
    event = HistoryEvent(EVENT_SUPERVISED, upstream.platform, runtime.clock(), detail=detail)
    await runtime.loop.record_event(record, event, once="upstream_supervision")


async def sweep(runtime: Runtime) -> list[Notice]:
    """One round for the loop's deadline sweep: the new notices of this round (raised, delivered
    and recorded in the appeal's history); those of earlier rounds are not repeated."""
    now = runtime.clock()
    network = runtime.config.network
    done = []
    for notice in decide(await _open_supervised(runtime), now, network):
        late = notice.kind == "escalation"
        message = (
            f"supervised appeal {notice.appeal_no}: {notice.step} was due at {notice.due.isoformat()}"
            if late
            else f"supervised appeal {notice.appeal_no}: {notice.step} is due at {notice.due.isoformat()}"
        )
        detail = {
            "appeal_no": notice.appeal_no,
            "unit": notice.unit,
            "step": notice.step,
            "to": list(notice.to),
        }
        kind = "supervision_escalated" if late else "supervision_reminder"
        if not await runtime.alerts.raise_(
            notice.key, kind, message, due_at=notice.due.isoformat(), **detail
        ):
            continue
        await _deliver(runtime, notice, now)
        record = await runtime.loop.get(notice.appeal_no)
        if record is not None:
            detail = {"step": notice.step, "due_at": notice.due.isoformat(), "to": list(notice.to)}
            await runtime.loop.record_event(record, HistoryEvent(kind, ACTOR, now, detail=detail))
        done.append(notice)
    return done


async def _deliver(runtime: Runtime, notice: Notice, now: datetime) -> None:
    """A delivery to each unit told that has a way to receive one (a webhook, or its inbox)."""
    for unit_id in notice.to:
        unit = runtime.config.network.get(unit_id)
        if unit is None or (unit.delivery == "push" and unit.webhook is None):
            continue
        data = {
            "unit": notice.unit,
            "step": notice.step,
            "due_at": notice.due.isoformat(),
            "escalated_to": list(notice.to) if notice.kind == "escalation" else [],
            "at": now.isoformat(),
        }
        await runtime.deliveries.add(
            f"msg_{notice.appeal_no}_supervision_{notice.step}_{notice.kind}_{unit_id}",
            appeal_no=notice.appeal_no,
            unit=unit_id,
            event_type=EVENT_ESCALATED if notice.kind == "escalation" else EVENT_REMINDER,
            data=json.dumps(data, ensure_ascii=False),
            at=now.isoformat(),
            due=now.timestamp(),
            pull=unit.delivery == "pull",
        )
    runtime.deliverer.wake.set()

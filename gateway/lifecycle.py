"""The closed loop of an appeal as states and allowed steps. Pure.

Eight links (八个环节): acceptance 受理 (``accepted``), dispatch 派单 (``dispatched``), signing 签收
(``signed``), handling 办理 (``handling``), reply 答复 (``replied``), return visit 回访
(``visited``), review 审核 (``reviewed``), filing 归档 (``filed``); ``manual`` is the centre's manual
dispatch queue.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class State(StrEnum):
    accepted = "accepted"
    manual = "manual"
    dispatched = "dispatched"
    signed = "signed"
    handling = "handling"
    replied = "replied"
    visited = "visited"
    reviewed = "reviewed"
    filed = "filed"


@dataclass(frozen=True)
class Step:
    """A unit event: the states it may follow and the state it leads to."""

    after: frozenset[State]
    to: State


UNIT_STEPS: dict[str, Step] = {
    "signed": Step(frozenset({State.dispatched}), State.signed),
    "progress": Step(frozenset({State.signed, State.handling}), State.handling),
}


def unit_step(event_type: str, current: State) -> State:
    """The state after ``event_type`` from ``current``; raises ``LookupError`` (unknown event) or
    ``ValueError`` with the reason when the step is out of order."""
    step = UNIT_STEPS.get(event_type)
    if step is None:
        raise LookupError(f"unknown event type {event_type!r}; known: {sorted(UNIT_STEPS)}")
    if current not in step.after:
        allowed = ", ".join(sorted(step.after))
        raise ValueError(f"{event_type!r} is not allowed in state {current.value!r} (only after {allowed})")
    return step.to

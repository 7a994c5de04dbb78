"""The closed loop of an appeal as states and allowed steps. Pure.

Eight links (八个环节): acceptance 受理 (``accepted``), dispatch 派单 (``dispatched``), signing
签收 (``signed``), handling 办理 (``handling``), reply 答复 (``replied``), return visit 回访
(``visited``), review 审核 (``reviewed``), filing 归档 (``filed``). ``manual`` is the centre's
manual dispatch queue. A return 退回 sends the appeal back to ``accepted`` to be routed again
without the units that returned it; passing down 下派 (``sub_assigned``) gives it to a level-3 unit
(``dispatched`` again) while the level-2 unit keeps sight of it.
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


S = State
IN_HAND = frozenset({S.signed, S.handling})
WITH_UNIT = frozenset({S.dispatched, S.signed, S.handling})
MAX_RETURNS = 2  # after this many returns the centre decides by hand


@dataclass(frozen=True)
class Step:
    """An event: the states it may follow and the state it leads to (None: the state stays)."""

    after: frozenset[State]
    to: State | None


UNIT_STEPS: dict[str, Step] = {
    "signed": Step(frozenset({S.dispatched}), S.signed),
    "returned": Step(WITH_UNIT, S.accepted),
    "sub_assigned": Step(WITH_UNIT, S.dispatched),
    "progress": Step(IN_HAND, S.handling),
    "extension_requested": Step(IN_HAND, None),
    "replied": Step(IN_HAND, S.replied),
}

OPERATOR_STEPS: dict[str, Step] = {
    "assigned": Step(frozenset({S.accepted, S.manual, *WITH_UNIT}), S.dispatched),
    "extension_decided": Step(IN_HAND, None),
    "visited": Step(frozenset({S.replied}), S.visited),
    "filed": Step(frozenset({S.visited, S.reviewed}), S.filed),
    "reopened": Step(frozenset({S.replied, S.visited, S.reviewed}), S.handling),
}


def step(table: dict[str, Step], event_type: str, current: State) -> Step:
    """The step for ``event_type`` from ``current``; raises ``LookupError`` (unknown event) or
    ``ValueError`` with the reason when it is out of order."""
    found = table.get(event_type)
    if found is None:
        raise LookupError(f"unknown event type {event_type!r}; known: {sorted(table)}")
    if current not in found.after:
        allowed = ", ".join(sorted(found.after))
        raise ValueError(f"{event_type!r} is not allowed in state {current.value!r} (only in: {allowed})")
    return found


WAITS_ON: dict[State, str] = {S.dispatched: "sign_by", S.signed: "reply_by", S.handling: "reply_by"}
"""The deadline an appeal waits on in each state (the overdue index keeps it; others have none)."""

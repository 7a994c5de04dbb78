"""The closed loop of an appeal, in one place: its states and allowed steps (:mod:`.states`), each
step's effects (:mod:`.effects`), the typed history event (:mod:`.events`), the record's codec
(:mod:`.record`), the scripts that apply steps atomically (:mod:`.scripts`), acceptance
(:mod:`.intake`) and the service the HTTP handlers and workers call (:mod:`.service`)."""

from gateway.loop.effects import UnitReport, assignment_of
from gateway.loop.events import HistoryEvent, Stepped
from gateway.loop.intake import Intake
from gateway.loop.record import AppealRecord
from gateway.loop.service import IntakeEntry, Loop, LoopListener, TransitionResult
from gateway.loop.states import (
    IN_HAND,
    MAX_RETURNS,
    OPERATOR_STEPS,
    UNIT_STEPS,
    WAITS_ON,
    WITH_UNIT,
    State,
    Step,
    step,
)

__all__ = [
    "IN_HAND",
    "MAX_RETURNS",
    "OPERATOR_STEPS",
    "UNIT_STEPS",
    "WAITS_ON",
    "WITH_UNIT",
    "AppealRecord",
    "HistoryEvent",
    "Intake",
    "IntakeEntry",
    "Loop",
    "LoopListener",
    "State",
    "Step",
    "Stepped",
    "TransitionResult",
    "UnitReport",
    "assignment_of",
    "step",
]

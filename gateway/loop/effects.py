"""Each step's effects on the record, pure: what a unit's report sets and says in the history,
and what a unit is told about an assignment."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from gateway.errors import BadRequest, Conflict
from gateway.loop.record import AppealRecord, dumps
from normalizer import Appeal, Attachment
from router import Decision
from router.network import Network


@dataclass(frozen=True)
class UnitReport:
    """What a unit reports on an appeal assigned to it (which fields apply depends on ``type``)."""

    type: str
    note: str | None = None
    reason: str | None = None
    unit: str | None = None
    days: int | None = None
    content: str | None = None
    attachments: Sequence[Attachment] = ()


@dataclass(frozen=True)
class Effect:
    fields: dict[str, str] = field(default_factory=dict)
    """Record fields the step sets."""
    detail: dict[str, Any] = field(default_factory=dict)
    """What the history event says beside type, actor, time and state."""
    requeue: bool = False
    """Back on the intake stream, to be routed again (a return)."""


def _require(value: object, event: str, name: str) -> None:
    if value in (None, ""):
        raise BadRequest(f"{event!r} needs {name!r}", field=name)


def unit_effect(report: UnitReport, record: AppealRecord, unit_id: str, now: datetime) -> Effect:
    """The effect of a unit's ``progress``, ``returned``, ``extension_requested``, ``replied`` or
    ``signed``; raises BadRequest for a missing field, Conflict for a second extension request."""
    if report.type == "progress":
        _require(report.note, "progress", "note")
        return Effect(detail={"note": report.note})
    if report.type == "returned":
        _require(report.reason, "returned", "reason")
        returned_by = dumps([*record.returned_by, unit_id])
        fields = {"returned_by": returned_by, "unit": "", "supervisor": ""}
        return Effect(fields, {"reason": report.reason}, requeue=True)
    if report.type == "extension_requested":
        _require(report.days, "extension_requested", "days")
        _require(report.reason, "extension_requested", "reason")
        if record.extension and record.extension.get("status") == "pending":
            raise Conflict("an extension request is already waiting for the centre")
        extension = {"status": "pending", "days": report.days, "reason": report.reason, "at": now.isoformat()}
        return Effect({"extension": dumps(extension)}, {"days": report.days, "reason": report.reason})
    if report.type == "replied":
        _require(report.content, "replied", "content")
        reply = {
            "content": report.content,
            "attachments": [a.model_dump(mode="json") for a in report.attachments],
            "unit": unit_id,
            "at": now.isoformat(),
        }
        return Effect({"reply": dumps(reply)}, {"attachments": len(report.attachments)})
    return Effect()


def assignment_of(
    network: Network,
    unit_id: str,
    appeal: Appeal,
    at: datetime,
    decision: Decision | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """What a unit is told about its assignment, beside the appeal itself."""
    unit = network.get(unit_id)
    return {
        "unit": unit_id,
        "unit_name": unit.name if unit else None,
        "level": unit.level if unit else None,
        "category": list(appeal.category),
        "urgency": appeal.urgency.value,
        "rule": decision.rule if decision else None,
        "explanation": decision.explanation if decision else None,
        "pass_to": decision.pass_to if decision else None,  # territorial: the town or street below
        "assigned_at": at.isoformat(),
        **extra,
    }

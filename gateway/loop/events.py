"""The typed history event: one step of an appeal's loop, as appended to its history list and to
the loop-events stream (``Keys.events``), and as the listeners hear it.

Stored as flat JSON: ``{"type", "actor", "at", "state"?, ...detail}``. The event id downstream is
``"<appeal_no>:<seq>"`` where ``seq`` is the event's 1-based position in the history list.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from gateway.loop.states import State


@dataclass(frozen=True)
class HistoryEvent:
    type: str
    actor: str
    at: datetime
    state: State | None = None
    """The state the step reached (None: the step changes no state, e.g. ``merged``, ``answered``)."""
    detail: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        head: dict[str, Any] = {"type": self.type, "actor": self.actor, "at": self.at.isoformat()}
        if self.state is not None:
            head["state"] = self.state.value
        return head | dict(self.detail)

    def to_json(self) -> str:
        return orjson.dumps(self.as_dict()).decode()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> HistoryEvent:
        rest = {k: v for k, v in data.items() if k not in ("type", "actor", "at", "state")}
        state = data.get("state")
        return cls(
            type=str(data["type"]),
            actor=str(data["actor"]),
            at=datetime.fromisoformat(str(data["at"])),
            state=State(state) if state else None,
            detail=rest,
        )


@dataclass(frozen=True)
class Stepped:
    """What a listener hears after a step was stored: which appeal, its channel, the event."""

    appeal_no: str
    channel_id: str
    event: HistoryEvent

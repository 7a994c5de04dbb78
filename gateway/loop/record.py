"""The appeal record's codec: the ``Keys.appeal`` hash <-> :class:`AppealRecord`.

Hash fields: ``appeal`` (the Appeal as JSON), ``state``, ``unit``, ``supervisor``, ``channel``,
``decision``, ``deadlines`` (JSON) with ``sign_by_ts`` / ``reply_by_ts`` (epoch seconds, read by the
scripts that keep the overdue index), ``returned_by``, ``reopened``, ``extension``, ``reply``,
``satisfaction``, ``assignments`` (counts deliveries), ``version`` (thread merges),
``thread_key``, ``updated_at``, ``supervised`` ("1": an operator put it under supervision),
``told_repeat`` (the earlier appeal the unit holding it was told it repeats; "" none),
``upstream_supervision`` ("1": its upstream platform's supervised flag is in the history).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
import redis.asyncio as aioredis

from gateway.loop.states import State
from gateway.store import Keys, decode_hash
from normalizer import Appeal


@dataclass(frozen=True)
class AppealRecord:
    appeal: Appeal
    state: State
    unit: str | None
    updated_at: datetime
    decision: dict[str, Any] | None
    supervisor: str | None = None
    returned_by: tuple[str, ...] = ()
    reopened: int = 0
    extension: dict[str, Any] | None = None
    deadlines: dict[str, Any] | None = None
    reply: dict[str, Any] | None = None
    supervised: bool = False
    """Put under supervision by an operator (an upstream platform's flag is the appeal's own)."""

    @property
    def appeal_no(self) -> str:
        return self.appeal.appeal_no

    @classmethod
    def from_fields(cls, fields: Mapping[str, str]) -> AppealRecord:
        return cls(
            appeal=Appeal.model_validate_json(fields["appeal"]),
            state=State(fields["state"]),
            unit=fields.get("unit") or None,
            updated_at=datetime.fromisoformat(fields["updated_at"]),
            decision=_json(fields, "decision"),
            supervisor=fields.get("supervisor") or None,
            returned_by=tuple(_json(fields, "returned_by") or ()),
            reopened=int(fields.get("reopened", 0)),
            extension=_json(fields, "extension"),
            deadlines=_json(fields, "deadlines"),
            reply=_json(fields, "reply"),
            supervised=fields.get("supervised") == "1",
        )

    def summary(self) -> dict[str, Any]:
        return {
            "appeal_no": self.appeal.appeal_no,
            "state": self.state.value,
            "unit": self.unit,
            "supervisor": self.supervisor,
            "channel": self.appeal.channel_id,
            "category": list(self.appeal.category),
            "urgency": self.appeal.urgency.value,
            "deadlines": self.deadlines,
            "returned_by": list(self.returned_by),
            "reopened": self.reopened,
            "extension": self.extension,
            "reply": self.reply,
            "updated_at": self.updated_at.isoformat(),
        }


def _json(fields: Mapping[str, str], name: str) -> Any:
    return json.loads(fields[name]) if fields.get(name) else None


def dumps(value: Any) -> str:
    """Compact UTF-8 JSON (orjson: a few µs where ``json.dumps`` takes tens)."""
    return orjson.dumps(value).decode()


def deadline_fields(deadlines: Mapping[str, Any] | None) -> dict[str, str]:
    """The hash fields that store an appeal's deadlines (JSON, plus the epoch seconds the overdue
    index is kept from)."""
    if not deadlines:
        return {}
    fields = {"deadlines": dumps(deadlines)}
    for name in ("sign_by", "reply_by"):
        if deadlines.get(name):
            fields[f"{name}_ts"] = repr(datetime.fromisoformat(str(deadlines[name])).timestamp())
    return fields


async def read_records(
    redis: aioredis.Redis, keys: Keys, appeal_nos: Sequence[str]
) -> list[AppealRecord | None]:
    """Several records in one round trip, in the order asked (None: no such appeal)."""
    async with redis.pipeline(transaction=False) as pipe:
        for appeal_no in appeal_nos:
            pipe.hgetall(keys.appeal(appeal_no))
        replies: list[Any] = await pipe.execute()
    return [AppealRecord.from_fields(decode_hash(r)) if r else None for r in replies]

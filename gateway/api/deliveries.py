"""Deliveries: the dead-letter list and replays (operators), re-enabling a unit's endpoint
(operators), and the inbox of units that pull their work instead of receiving webhooks."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Any

from aiohttp import web
from pydantic import AwareDatetime, Field

from adapters.base import wait_event
from gateway.api.declare import Declared, operation
from gateway.api.operators import require_operator
from gateway.api.units import authenticate_unit
from gateway.delivery.queue import DeliveryRecord
from gateway.delivery.sender import EVENT_ASSIGNED, build_event
from gateway.delivery.worker import unit_view
from gateway.errors import NotFound
from gateway.http import json_response
from gateway.runtime import RUNTIME, Runtime
from gateway.store import text

routes = web.RouteTableDef()
MAX_WAIT = 30.0
POLL = 0.25
STOPPING: web.AppKey[asyncio.Event] = web.AppKey("stopping", asyncio.Event)
"""Set when the server begins to shut down: long polls answer at once instead of holding the stop."""


def _record_json(record: DeliveryRecord) -> dict[str, Any]:
    return {
        "delivery_id": record.id,
        "appeal_no": record.appeal_no,
        "unit": record.unit,
        "attempts": record.attempts,
        "status": record.status,
        "created_at": record.created_at,
        "last_error": record.last_error,
    }


SINCE = Field(
    default=None,
    description="ISO 8601 time with its offset, e.g. 2026-11-29T08:00:00+08:00",
    examples=["2026-11-29T08:00:00+08:00"],
)


def _since(value: datetime | None) -> float:
    return value.timestamp() if value is not None else 0.0


class DeadLetterQuery(Declared):
    unit: str | None = Field(default=None, max_length=64, description="only this unit's")
    since: AwareDatetime | None = SINCE


@routes.get("/api/v1/dead-letters")
@operation("operators", auth="operator")
async def dead_letters(request: web.Request, query: DeadLetterQuery) -> web.Response:
    """Deliveries that exhausted their retries, oldest first."""
    runtime = require_operator(request)
    records = await runtime.deliveries.dead(query.unit, _since(query.since))
    return json_response({"count": len(records), "items": [_record_json(r) for r in records]})


@routes.post("/api/v1/dead-letters/{delivery_id}/replay")
@operation("operators", auth="operator", responses={404: "no such dead letter"})
async def replay(request: web.Request) -> web.Response:
    """Send a dead letter again, with the same webhook-id."""
    runtime = require_operator(request)
    delivery_id = request.match_info["delivery_id"]
    if not await runtime.deliveries.replay(delivery_id, runtime.clock().timestamp()):
        raise NotFound(f"no dead letter {delivery_id}")
    runtime.deliverer.wake.set()
    return json_response({"delivery_id": delivery_id, "status": "pending"})


class Recover(Declared):
    since: AwareDatetime | None = SINCE


@routes.post("/api/v1/units/{unit_id}/recover")
@operation("operators", auth="operator", body_required=False, responses={404: "no such unit"})
async def recover(request: web.Request, body: Recover) -> web.Response:
    """Replay every dead letter of a unit since a time (after the unit fixed its endpoint)."""
    runtime = require_operator(request)
    unit_id = request.match_info["unit_id"]
    if unit_id not in runtime.config.network:
        raise NotFound(f"no unit {unit_id}")
    replayed = await recover_unit(runtime, unit_id, _since(body.since))
    return json_response({"unit": unit_id, "replayed": replayed})


async def recover_unit(runtime: Runtime, unit_id: str, since: float) -> list[str]:
    now = runtime.clock().timestamp()
    replayed = [
        r.id
        for r in await runtime.deliveries.dead(unit_id, since, limit=100_000)
        if await runtime.deliveries.replay(r.id, now)
    ]
    runtime.deliverer.wake.set()
    return replayed


@routes.post("/api/v1/units/{unit_id}/enable")
@operation("operators", auth="operator", responses={404: "no such unit"})
async def enable(request: web.Request) -> web.Response:
    """Re-enable a unit's endpoint after it answered 410 Gone; held deliveries go out at once."""
    runtime = require_operator(request)
    unit_id = request.match_info["unit_id"]
    if unit_id not in runtime.config.network:
        raise NotFound(f"no unit {unit_id}")
    released = await runtime.unit_health.enable(unit_id, runtime.clock().timestamp())
    await runtime.alerts.resolve(f"unit:{unit_id}:disabled", f"{unit_id} re-enabled by an operator")
    runtime.deliverer.wake.set()
    return json_response({"unit": unit_id, "enabled": True, "released": released})


class InboxQuery(Declared):
    wait: float = Field(default=0.0, ge=0.0, le=MAX_WAIT, description="seconds to wait when it is empty")
    limit: int = Field(default=20, ge=1, le=100, description="most events in one answer")


@routes.get("/api/v1/units/{unit_id}/inbox")
@operation("units", auth="unit")
async def inbox(request: web.Request, query: InboxQuery) -> web.Response:
    """Pull mode: the unit's pending assignments as CloudEvents.

    Waits up to ``wait`` seconds (long poll) when there are none; the wait ends early when the client
    goes away or the gateway stops. Acknowledge each with POST .../inbox/{delivery_id}/ack."""
    runtime = request.app[RUNTIME]
    unit_id = await authenticate_unit(request, runtime)
    stopping = request.app[STOPPING]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + query.wait
    while True:
        ids: list[bytes] = await runtime.redis.zrange(runtime.keys.inbox(unit_id), 0, query.limit - 1)  # type: ignore[assignment]
        left = deadline - loop.time()
        if ids or left <= 0 or stopping.is_set() or _gone(request):
            break
        # A long poll over Redis, shared by every gateway process; a stop wakes it at once.
        await wait_event(stopping, min(POLL, left))
    events = [e for e in [await _event(runtime, text(i)) for i in ids] if e is not None]
    return json_response({"count": len(events), "events": events})


async def _event(runtime: Runtime, delivery_id: str) -> dict[str, Any] | None:
    record = await runtime.deliveries.get(delivery_id)
    appeal = await runtime.loop.get(record.appeal_no) if record else None
    if record is None or appeal is None:
        return None
    assignment = json.loads(record.assignment) if record.assignment else {"unit": record.unit}
    assignment["delivery_id"] = record.id
    _headers, body = build_event(
        delivery_id=record.id,
        source=runtime.config.gateway.centre.event_source,
        event_type=record.event_type or EVENT_ASSIGNED,
        subject=record.appeal_no,
        time=datetime.fromisoformat(record.created_at),
        data={"appeal": unit_view(appeal.appeal), "assignment": assignment},
    )
    event: dict[str, Any] = json.loads(body)
    return event


def _gone(request: web.Request) -> bool:
    """The client closed its connection (aiohttp does not cancel the handler for it)."""
    transport = request.transport
    return transport is None or transport.is_closing()


@routes.post("/api/v1/units/{unit_id}/inbox/{delivery_id}/ack")
@operation("units", auth="unit", responses={404: "not pending in this inbox"})
async def acknowledge(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    unit_id = await authenticate_unit(request, runtime)
    delivery_id = request.match_info["delivery_id"]
    if not await runtime.deliveries.acknowledge(unit_id, delivery_id, runtime.clock().isoformat()):
        raise NotFound(f"no pending delivery {delivery_id} in the inbox of {unit_id}")
    return json_response({"delivery_id": delivery_id, "status": "delivered"})

"""Deliveries: the dead-letter list and replays (operators), re-enabling a unit's endpoint
(operators), and the inbox of units that pull their work instead of receiving webhooks."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict

from gateway.api.operators import require_operator
from gateway.api.units import authenticate_unit, parse, read_json
from gateway.delivery.queue import DeliveryRecord
from gateway.delivery.sender import EVENT_ASSIGNED, build_event
from gateway.delivery.worker import unit_view
from gateway.errors import BadRequest, NotFound
from gateway.http import json_response
from gateway.runtime import RUNTIME, Runtime
from gateway.store import text

routes = web.RouteTableDef()
MAX_WAIT = 30.0
POLL = 0.25


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


def _since(value: str | None) -> float:
    if not value:
        return 0.0
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise BadRequest("since must be an ISO 8601 time with its offset", field="since") from None
    if at.tzinfo is None:
        raise BadRequest("since needs a time zone offset, e.g. 2026-11-29T08:00:00+08:00", field="since")
    return at.timestamp()


@routes.get("/api/v1/dead-letters")
async def dead_letters(request: web.Request) -> web.Response:
    runtime = require_operator(request)
    records = await runtime.deliveries.dead(request.query.get("unit"), _since(request.query.get("since")))
    return json_response({"count": len(records), "items": [_record_json(r) for r in records]})


@routes.post("/api/v1/dead-letters/{delivery_id}/replay")
async def replay(request: web.Request) -> web.Response:
    runtime = require_operator(request)
    delivery_id = request.match_info["delivery_id"]
    if not await runtime.deliveries.replay(delivery_id, runtime.clock().timestamp()):
        raise NotFound(f"no dead letter {delivery_id}")
    runtime.deliverer.wake.set()
    return json_response({"delivery_id": delivery_id, "status": "pending"})


class Recover(BaseModel):
    model_config = ConfigDict(extra="forbid")
    since: str | None = None


@routes.post("/api/v1/units/{unit_id}/recover")
async def recover(request: web.Request) -> web.Response:
    """Replay every dead letter of a unit since a time (after the unit fixed its endpoint)."""
    runtime = require_operator(request)
    unit_id = request.match_info["unit_id"]
    if unit_id not in runtime.config.network:
        raise NotFound(f"no unit {unit_id}")
    body: Recover = parse(Recover, await read_json(request)) if request.can_read_body else Recover()
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


@routes.get("/api/v1/units/{unit_id}/inbox")
async def inbox(request: web.Request) -> web.Response:
    """Pull mode: the unit's pending assignments as CloudEvents; waits up to ``wait`` seconds (long
    poll) when there are none. Acknowledge each with POST .../inbox/{delivery_id}/ack."""
    runtime = request.app[RUNTIME]
    unit_id = await authenticate_unit(request, runtime)
    try:
        wait = min(float(request.query.get("wait", "0")), MAX_WAIT)
        limit = min(int(request.query.get("limit", "20")), 100)
    except ValueError:
        raise BadRequest("wait and limit are numbers") from None
    loop = asyncio.get_running_loop()
    deadline = loop.time() + max(wait, 0.0)
    while True:
        ids: list[bytes] = await runtime.redis.zrange(runtime.keys.inbox(unit_id), 0, limit - 1)  # type: ignore[assignment]
        if ids or loop.time() >= deadline:
            break
        await asyncio.sleep(POLL)  # long poll over Redis, shared by every gateway process
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


@routes.post("/api/v1/units/{unit_id}/inbox/{delivery_id}/ack")
async def acknowledge(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    unit_id = await authenticate_unit(request, runtime)
    delivery_id = request.match_info["delivery_id"]
    if not await runtime.deliveries.acknowledge(unit_id, delivery_id, runtime.clock().isoformat()):
        raise NotFound(f"no pending delivery {delivery_id} in the inbox of {unit_id}")
    return json_response({"delivery_id": delivery_id, "status": "delivered"})

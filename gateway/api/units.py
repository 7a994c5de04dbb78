"""The member units' API: report events on the appeals assigned to them."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gateway.api.auth import bearer
from gateway.appeals import history_event
from gateway.errors import BadRequest, Conflict, NotFound, Unauthorized
from gateway.lifecycle import UNIT_STEPS, unit_step
from gateway.runtime import RUNTIME, Runtime

routes = web.RouteTableDef()


class UnitEvent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str = Field(description=f"One of {sorted(UNIT_STEPS)}.")
    note: str | None = Field(default=None, max_length=2000)


async def read_json(request: web.Request) -> Any:
    if request.content_type != "application/json":
        raise BadRequest("send a JSON body (Content-Type: application/json)")
    try:
        return json.loads(await request.read())
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise BadRequest("the body is not valid JSON") from None


async def authenticate_unit(request: web.Request, runtime: Runtime) -> str:
    unit_id = request.match_info["unit_id"]
    token = bearer(request)
    if unit_id not in runtime.config.network:
        raise Unauthorized("the token is not valid")  # same answer as a wrong token: no unit probing
    creds = await runtime.credentials.get(unit_id)
    if not creds.token_matches(token, runtime.clock().timestamp()):
        raise Unauthorized("the token is not valid")
    return unit_id


@routes.post("/api/v1/units/{unit_id}/appeals/{appeal_no}/events")
async def post_event(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    unit_id = await authenticate_unit(request, runtime)
    appeal_no = request.match_info["appeal_no"]
    try:
        event = UnitEvent.model_validate(await read_json(request))
    except ValidationError as e:
        raise BadRequest("invalid event", errors=e.errors(include_url=False, include_context=False)) from None
    record = await runtime.appeals.get(appeal_no)
    if record is None or record.unit != unit_id:
        raise NotFound(f"no appeal {appeal_no} is assigned to {unit_id}")
    try:
        target = unit_step(event.type, record.state)
    except LookupError as e:
        raise BadRequest(str(e)) from None
    except ValueError as e:
        raise Conflict(str(e), state=record.state.value) from None
    now = runtime.clock()
    detail = {"note": event.note} if event.note else {}
    step = UNIT_STEPS[event.type]
    result = await runtime.appeals.transition(
        appeal_no,
        allowed=step.after,
        to=target,
        unit=unit_id,
        event=history_event(event.type, f"unit:{unit_id}", now, state=target.value, **detail),
    )
    if not result.ok:
        raise Conflict(f"{event.type!r} is not allowed now: {result.reason}")
    return web.json_response({"appeal_no": appeal_no, "state": target.value}, status=200)

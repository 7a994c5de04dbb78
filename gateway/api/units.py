"""The member units' API: report events on the appeals assigned to them, look at them, and (pull
mode) fetch their work. Every call carries ``Authorization: Bearer <the unit's API token>``."""

from __future__ import annotations

import json
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gateway.api.auth import bearer
from gateway.errors import BadRequest, Unauthorized
from gateway.http import json_response
from gateway.loop import UnitReport
from gateway.runtime import RUNTIME, Runtime
from normalizer import Attachment

routes = web.RouteTableDef()


class UnitEvent(BaseModel):
    """One event a unit reports. Which fields apply depends on ``type``."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["signed", "returned", "sub_assigned", "progress", "extension_requested", "replied"]
    note: str | None = Field(default=None, max_length=2000, description="progress: what was done")
    reason: str | None = Field(default=None, max_length=2000, description="returned, extension")
    unit: str | None = Field(default=None, description="sub_assigned: the level-3 unit")
    days: int | None = Field(default=None, ge=1, le=60, description="extension_requested: working days")
    content: str | None = Field(default=None, max_length=10000, description="replied: the answer")
    attachments: tuple[Attachment, ...] = ()


async def read_json(request: web.Request) -> Any:
    if request.content_type != "application/json":
        raise BadRequest("send a JSON body (Content-Type: application/json)")
    try:
        return json.loads(await request.read())
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise BadRequest("the body is not valid JSON") from None


def parse(model: type[BaseModel], data: Any) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as e:
        errors = e.errors(include_url=False, include_context=False, include_input=False)
        raise BadRequest("invalid body", errors=errors) from None


async def authenticate_unit(request: web.Request, runtime: Runtime) -> str:
    unit_id = request.match_info["unit_id"]
    token = bearer(request)
    if unit_id not in runtime.config.network:
        raise Unauthorized("the token is not valid")  # same answer as a wrong token: no probing
    creds = await runtime.credentials.get(unit_id)
    if not creds.token_matches(token, runtime.clock().timestamp()):
        raise Unauthorized("the token is not valid")
    return unit_id


@routes.post("/api/v1/units/{unit_id}/appeals/{appeal_no}/events")
async def post_event(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    unit_id = await authenticate_unit(request, runtime)
    event: UnitEvent = parse(UnitEvent, await read_json(request))
    report = UnitReport(**event.model_dump(exclude={"attachments"}), attachments=event.attachments)
    return json_response(await runtime.loop.unit_report(unit_id, request.match_info["appeal_no"], report))


@routes.get("/api/v1/units/{unit_id}/appeals/{appeal_no}")
async def get_appeal(request: web.Request) -> web.Response:
    """An appeal assigned to the unit, or passed down by it (the parent keeps sight of it)."""
    runtime = request.app[RUNTIME]
    unit_id = await authenticate_unit(request, runtime)
    record = await runtime.loop.assigned(unit_id, request.match_info["appeal_no"], or_supervised=True)
    body = record.summary()
    body["history"] = await runtime.loop.history(record.appeal.appeal_no)
    return json_response(body)

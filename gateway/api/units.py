"""The member units' API: report events on the appeals assigned to them, look at them, and (pull
mode) fetch their work. Every call carries ``Authorization: Bearer <the unit's API token>``."""

from __future__ import annotations

from typing import Literal

from aiohttp import web
from pydantic import Field

from gateway.api.auth import bearer
from gateway.api.declare import Declared, operation
from gateway.errors import Unauthorized
from gateway.http import json_response
from gateway.loop import UnitReport
from gateway.runtime import RUNTIME, Runtime
from normalizer import Attachment, AttachmentKind

routes = web.RouteTableDef()


class ReplyAttachment(Declared):
    """A file a unit's reply points to."""

    kind: AttachmentKind
    url: str | None = Field(default=None, max_length=2000)
    mime_type: str | None = Field(default=None, max_length=200)
    size: int | None = Field(default=None, ge=0, le=2**40, description="bytes")
    transcript: str | None = Field(default=None, max_length=10000, description="speech-to-text of audio")


class UnitEvent(Declared):
    """One event a unit reports. Which fields apply depends on ``type``."""

    type: Literal["signed", "returned", "sub_assigned", "progress", "extension_requested", "replied"]
    note: str | None = Field(default=None, max_length=2000, description="progress: what was done")
    reason: str | None = Field(default=None, max_length=2000, description="returned, extension")
    unit: str | None = Field(default=None, max_length=64, description="sub_assigned: the level-3 unit")
    days: int | None = Field(default=None, ge=1, le=60, description="extension_requested: working days")
    content: str | None = Field(default=None, max_length=10000, description="replied: the answer")
    attachments: tuple[ReplyAttachment, ...] = Field(default=(), max_length=20)


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
@operation("units", auth="unit", responses={404: "not assigned to this unit", 409: "out of order"})
async def post_event(request: web.Request, body: UnitEvent) -> web.Response:
    """Report an event on an appeal assigned to the unit: signed 签收, returned 退回, sub_assigned,
    progress, extension_requested, replied."""
    runtime = request.app[RUNTIME]
    unit_id = await authenticate_unit(request, runtime)
    attachments = tuple(Attachment.model_validate(a.model_dump()) for a in body.attachments)
    report = UnitReport(**body.model_dump(exclude={"attachments"}), attachments=attachments)
    return json_response(await runtime.loop.unit_report(unit_id, request.match_info["appeal_no"], report))


@routes.get("/api/v1/units/{unit_id}/appeals/{appeal_no}")
@operation("units", auth="unit", responses={404: "not assigned to this unit"})
async def get_appeal(request: web.Request) -> web.Response:
    """An appeal assigned to the unit, or passed down by it (the parent keeps sight of it)."""
    runtime = request.app[RUNTIME]
    unit_id = await authenticate_unit(request, runtime)
    record = await runtime.loop.assigned(unit_id, request.match_info["appeal_no"], or_supervised=True)
    body = record.summary()
    body["history"] = await runtime.loop.history(record.appeal.appeal_no)
    return json_response(body)

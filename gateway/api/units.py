"""The member units' API: report events on the appeals assigned to them, look at them, and (pull
mode) fetch their work. Every call carries ``Authorization: Bearer <the unit's API token>``."""

from __future__ import annotations

import json
from typing import Any, Literal

from aiohttp import web
from pydantic import Field

from gateway.api.auth import bearer
from gateway.api.declare import Declared, operation
from gateway.appeals import AppealRecord, history_event
from gateway.dispatch import assignment_of
from gateway.errors import BadRequest, Conflict, Forbidden, NotFound, Unauthorized
from gateway.http import json_response
from gateway.lifecycle import UNIT_STEPS, State, step
from gateway.runtime import RUNTIME, Runtime
from normalizer import AttachmentKind
from router import UnitKind

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


async def own_appeal(runtime: Runtime, unit_id: str, appeal_no: str, *, or_supervised: bool) -> AppealRecord:
    record = await runtime.appeals.get(appeal_no)
    mine = record is not None and (record.unit == unit_id or (or_supervised and record.supervisor == unit_id))
    if record is None or not mine:
        raise NotFound(f"no appeal {appeal_no} is assigned to {unit_id}")
    return record


def _require(value: object, event: str, field: str) -> None:
    if value in (None, ""):
        raise BadRequest(f"{event!r} needs {field!r}", field=field)


@routes.post("/api/v1/units/{unit_id}/appeals/{appeal_no}/events")
@operation("units", auth="unit", responses={404: "not assigned to this unit", 409: "out of order"})
async def post_event(request: web.Request, body: UnitEvent) -> web.Response:
    """Report an event on an appeal assigned to the unit: signed 签收, returned 退回, sub_assigned,
    progress, extension_requested, replied."""
    runtime = request.app[RUNTIME]
    unit_id = await authenticate_unit(request, runtime)
    appeal_no = request.match_info["appeal_no"]
    event = body
    record = await own_appeal(runtime, unit_id, appeal_no, or_supervised=False)
    try:
        found = step(UNIT_STEPS, event.type, record.state)
    except ValueError as e:
        raise Conflict(str(e), state=record.state.value) from None
    now = runtime.clock()
    actor = f"unit:{unit_id}"

    if event.type == "sub_assigned":
        return await _sub_assign(runtime, record, unit_id, event)

    fields: dict[str, str] = {}
    detail: dict[str, Any] = {}
    requeue = False
    if event.type == "progress":
        _require(event.note, "progress", "note")
        detail["note"] = event.note
    elif event.type == "returned":
        _require(event.reason, "returned", "reason")
        detail["reason"] = event.reason
        fields["returned_by"] = json.dumps([*record.returned_by, unit_id])
        fields["unit"] = ""
        fields["supervisor"] = ""
        requeue = True
    elif event.type == "extension_requested":
        _require(event.days, "extension_requested", "days")
        _require(event.reason, "extension_requested", "reason")
        if record.extension and record.extension.get("status") == "pending":
            raise Conflict("an extension request is already waiting for the centre")
        extension = {"status": "pending", "days": event.days, "reason": event.reason, "at": now.isoformat()}
        fields["extension"] = json.dumps(extension, ensure_ascii=False)
        detail.update(days=event.days, reason=event.reason)
    elif event.type == "replied":
        _require(event.content, "replied", "content")
        reply = {
            "content": event.content,
            "attachments": [a.model_dump(mode="json") for a in event.attachments],
            "unit": unit_id,
            "at": now.isoformat(),
        }
        fields["reply"] = json.dumps(reply, ensure_ascii=False)
        detail["attachments"] = len(event.attachments)
    to = found.to
    entry = history_event(event.type, actor, now, state=(to or record.state).value, **detail)
    result = await runtime.appeals.transition(
        appeal_no, allowed=found.after, to=to, unit=unit_id, event=entry, fields=fields, requeue=requeue
    )
    if not result.ok:
        raise Conflict(f"{event.type!r} is not allowed now: {result.reason}")
    if event.type == "replied":
        runtime.answer_citizen(appeal_no)
    return json_response({"appeal_no": appeal_no, "state": (to or record.state).value})


async def _sub_assign(runtime: Runtime, record: AppealRecord, unit_id: str, event: UnitEvent) -> web.Response:
    _require(event.unit, "sub_assigned", "unit")
    assert event.unit is not None
    network = runtime.config.network
    child = network.get(event.unit)
    acting = network.get(unit_id)
    if acting is None or acting.level != 2:
        raise Forbidden("only a level-2 unit passes an appeal down")
    if child is None or child.level != 3 or child.parent != unit_id:
        raise BadRequest(f"{event.unit!r} is not a level-3 unit under {unit_id}", field="unit")
    if child.kind is UnitKind.centre:
        raise BadRequest("cannot pass down to the centre", field="unit")
    now = runtime.clock()
    appeal_no = record.appeal.appeal_no
    await runtime.assignments.assign(
        appeal_no,
        child.id,
        allowed=UNIT_STEPS["sub_assigned"].after,
        expect_unit=unit_id,
        supervisor=unit_id,
        event=history_event(
            "sub_assigned",
            f"unit:{unit_id}",
            now,
            state=State.dispatched.value,
            unit=child.id,
            note=event.note,
        ),
        assignment=assignment_of(
            network, child.id, record.appeal, now, None, assigned_by=unit_id, deadlines=record.deadlines
        ),
    )
    runtime.deliverer.wake.set()
    return json_response({"appeal_no": appeal_no, "state": State.dispatched.value, "unit": child.id})


@routes.get("/api/v1/units/{unit_id}/appeals/{appeal_no}")
@operation("units", auth="unit", responses={404: "not assigned to this unit"})
async def get_appeal(request: web.Request) -> web.Response:
    """An appeal assigned to the unit, or passed down by it (the parent keeps sight of it)."""
    runtime = request.app[RUNTIME]
    unit_id = await authenticate_unit(request, runtime)
    record = await own_appeal(runtime, unit_id, request.match_info["appeal_no"], or_supervised=True)
    body = record.summary()
    body["history"] = await runtime.appeals.history(record.appeal.appeal_no)
    return json_response(body)

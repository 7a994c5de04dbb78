"""``GET /api/v1/audit`` (admins), ``GET /api/v1/appeals/{no}/contact`` (operators and admins,
audited; supervisors 403, audited) and ``POST /api/v1/appeals/{no}/supervise`` (operators)."""

from __future__ import annotations

from datetime import datetime

from aiohttp import web
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from gateway.accounts import audit
from gateway.accounts.auth import READERS, require, who
from gateway.accounts.store import Role
from gateway.accounts.views import contact_view
from gateway.api.units import parse, read_json
from gateway.appeals import history_event
from gateway.errors import Conflict, NotFound, TransientError
from gateway.http import json_response
from gateway.lifecycle import State
from gateway.records import find_appeal
from gateway.records.api import parse_query
from gateway.supervision import EVENT_SUPERVISED

routes = web.RouteTableDef()
OPEN = frozenset(s for s in State if s is not State.filed)


@routes.get("/api/v1/audit")
async def get_audit(request: web.Request) -> web.Response:
    """Reads of personal data and refused attempts, newest first; filters actor, appeal_no, from, to."""
    runtime = require(request, (Role.admin,))
    params: dict[str, list[str]] = {}
    for name, value in request.query.items():
        params.setdefault(name, []).append(value)
    query = parse_query(params, audit.AuditQuery)
    if runtime.records is None:
        raise TransientError("no database is configured for the record; the audit needs one")
    return json_response(await audit.query(runtime.records.engine, query))


@routes.get("/api/v1/appeals/{appeal_no}/contact")
async def get_contact(request: web.Request) -> web.Response:
    """The citizen's contact: name, phone, identity, address, reply route."""
    runtime = require(request, READERS)
    found = await find_appeal(runtime, request.match_info["appeal_no"])
    if found is None:
        raise NotFound(f"no appeal {request.match_info['appeal_no']}")
    return json_response(await contact_view(request, found[0]))


class Supervise(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str = Field(min_length=1, max_length=2000, description="what the supervision asks for")
    deadline: AwareDatetime = Field(description="when the appeal must be answered (ISO 8601 with offset)")


@routes.post("/api/v1/appeals/{appeal_no}/supervise")
async def supervise(request: web.Request) -> web.Response:
    """Put an appeal under supervision 督办 (again: a new note and deadline); recorded as an event."""
    runtime = require(request)
    body: Supervise = parse(Supervise, await read_json(request))
    record = await runtime.appeals.require(request.match_info["appeal_no"])
    now: datetime = runtime.clock()
    if body.deadline <= now:
        raise Conflict("the supervision's deadline has passed already", deadline=body.deadline.isoformat())
    event = history_event(
        EVENT_SUPERVISED, who(request), now, note=body.note, deadline=body.deadline.isoformat()
    )
    result = await runtime.appeals.transition(
        record.appeal.appeal_no, allowed=OPEN, to=None, event=event, fields={"supervised": "1"}
    )
    if not result.ok:
        raise Conflict(f"a {result.previous} appeal cannot be put under supervision")
    answer = {"appeal_no": record.appeal.appeal_no, "supervised": True, "note": body.note}
    return json_response(answer | {"deadline": body.deadline.isoformat()})

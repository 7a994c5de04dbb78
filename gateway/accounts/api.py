"""``GET /api/v1/audit`` (admins), ``GET /api/v1/appeals/{no}/contact`` (operators and admins,
audited; supervisors 403, audited) and ``POST /api/v1/appeals/{no}/supervise`` (operators)."""

from __future__ import annotations

from datetime import datetime

from aiohttp import web
from pydantic import AwareDatetime, Field

from gateway.accounts import audit
from gateway.accounts.auth import READERS, require, who
from gateway.accounts.store import Role
from gateway.accounts.views import contact_view
from gateway.api.declare import Declared, operation
from gateway.errors import Conflict, NotFound, TransientError
from gateway.http import json_response
from gateway.loop import HistoryEvent, State, Step
from gateway.records import find_appeal
from gateway.supervision import EVENT_SUPERVISED

routes = web.RouteTableDef()
OPEN = frozenset(s for s in State if s is not State.filed)


@routes.get("/api/v1/audit")
@operation("operators", auth="operator", responses={403: "admins only", 503: "no database for the audit"})
async def get_audit(request: web.Request, query: audit.AuditQuery) -> web.Response:
    """Reads of personal data and refused attempts, newest first; filters actor, appeal_no, from, to."""
    runtime = require(request, (Role.admin,))
    if runtime.records is None:
        raise TransientError("no database is configured for the record; the audit needs one")
    return json_response(await audit.query(runtime.records.engine, query))


@routes.get("/api/v1/appeals/{appeal_no}/contact")
@operation(
    "operators",
    auth="operator",
    responses={403: "supervisors may not see it", 404: "no such appeal", 503: "the audit cannot be written"},
)
async def get_contact(request: web.Request) -> web.Response:
    """The citizen's contact: name, phone, identity, address, reply route."""
    runtime = require(request, READERS)
    found = await find_appeal(runtime, request.match_info["appeal_no"])
    if found is None:
        raise NotFound(f"no appeal {request.match_info['appeal_no']}")
    return json_response(await contact_view(request, found[0]))


class Supervise(Declared):
    note: str = Field(min_length=1, max_length=2000, description="what the supervision asks for")
    deadline: AwareDatetime = Field(description="when the appeal must be answered (ISO 8601 with offset)")


@routes.post("/api/v1/appeals/{appeal_no}/supervise")
@operation("operators", auth="operator", responses={404: "no such appeal", 409: "filed, or a past deadline"})
async def supervise(request: web.Request, body: Supervise) -> web.Response:
    """Put an appeal under supervision 督办 (again: a new note and deadline); recorded as an event."""
    runtime = require(request)
    record = await runtime.loop.require(request.match_info["appeal_no"])
    now: datetime = runtime.clock()
    if body.deadline <= now:
        raise Conflict("the supervision's deadline has passed already", deadline=body.deadline.isoformat())
    detail = {"note": body.note, "deadline": body.deadline.isoformat()}
    event = HistoryEvent(EVENT_SUPERVISED, who(request), now, detail=detail)
    result = await runtime.loop.transition(record, Step(OPEN, None), event, fields={"supervised": "1"})
    if not result.ok:
        raise Conflict(f"a {result.previous} appeal cannot be put under supervision")
    answer = {"appeal_no": record.appeal.appeal_no, "supervised": True, "note": body.note}
    return json_response(answer | {"deadline": body.deadline.isoformat()})

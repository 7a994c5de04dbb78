"""The operators' API (Bearer ``$OPERATOR_TOKEN``): look at appeals, work the manual dispatch queue,
decide extensions, record return visits, review and file, reload routing."""

from __future__ import annotations

import json
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from gateway.accounts.auth import READERS, require, who
from gateway.accounts.views import appeal_view
from gateway.api.units import parse, read_json
from gateway.appeals import AppealRecord, history_event
from gateway.delivery import EVENT_REOPENED
from gateway.dispatch import assignment_of
from gateway.errors import BadRequest, Conflict, NotFound
from gateway.http import json_response
from gateway.lifecycle import OPERATOR_STEPS, State, Step, step
from gateway.records import find_appeal
from gateway.runtime import Runtime
from gateway.store import text

routes = web.RouteTableDef()


def require_operator(request: web.Request) -> Runtime:
    """An operator or an admin (a personal token, or ``OPERATOR_TOKEN``): 401/403 otherwise."""
    return require(request)


async def _record(runtime: Runtime, request: web.Request) -> AppealRecord:
    return await runtime.appeals.require(request.match_info["appeal_no"])


def _step(event_type: str, record: AppealRecord) -> Step:
    try:
        return step(OPERATOR_STEPS, event_type, record.state)
    except ValueError as e:
        raise Conflict(str(e), state=record.state.value) from None


async def _apply(
    runtime: Runtime,
    actor: str,
    record: AppealRecord,
    event_type: str,
    fields: dict[str, str] | None = None,
    **detail: Any,
) -> State:
    """One operator step: checked against the loop, recorded in the history, applied atomically."""
    found = _step(event_type, record)
    state = found.to or record.state
    event = history_event(event_type, actor, runtime.clock(), state=state.value, **detail)
    result = await runtime.appeals.transition(
        record.appeal.appeal_no, allowed=found.after, to=found.to, event=event, fields=fields
    )
    if not result.ok:
        raise Conflict(f"{event_type!r} is not allowed now: {result.reason}")
    return state


@routes.get("/api/v1/appeals/{appeal_no}")
async def get_appeal(request: web.Request) -> web.Response:
    """The appeal, from Redis or (past retention) from the record; as the caller's role may see it."""
    runtime = require(request, READERS)
    found = await find_appeal(runtime, request.match_info["appeal_no"])
    if found is None:
        raise NotFound(f"no appeal {request.match_info['appeal_no']}")
    return json_response(await appeal_view(request, *found))


@routes.get("/api/v1/dispatch-queue")
async def dispatch_queue(request: web.Request) -> web.Response:
    """The manual dispatch queue, oldest first, with the router's top candidates."""
    runtime = require_operator(request)
    try:
        limit = min(max(int(request.query.get("limit", "100")), 1), 500)
    except ValueError:
        raise BadRequest("limit is a whole number", field="limit") from None
    entries: Any = await runtime.redis.zrange(runtime.keys.manual_queue, 0, limit - 1, withscores=True)
    items = []
    for member, since in entries:
        record = await runtime.appeals.get(text(member))
        if record is None or record.state is not State.manual:
            continue
        items.append(
            {
                "appeal_no": record.appeal.appeal_no,
                "subject": record.appeal.subject,
                "channel": record.appeal.channel_id,
                "since": since,
                "returned_by": list(record.returned_by),
                "candidates": (record.decision or {}).get("candidates", []),
                "explanation": (record.decision or {}).get("explanation"),
            }
        )
    return json_response({"count": len(items), "items": items})


class Assign(BaseModel):
    model_config = ConfigDict(extra="forbid")
    unit: str = Field(min_length=1)
    note: str | None = Field(default=None, max_length=2000)


@routes.post("/api/v1/appeals/{appeal_no}/assign")
async def assign(request: web.Request) -> web.Response:
    """Assign by hand (from the manual queue, or to override the router)."""
    runtime = require_operator(request)
    body: Assign = parse(Assign, await read_json(request))
    record = await _record(runtime, request)
    _step("assigned", record)
    unit = runtime.config.network.get(body.unit)
    if unit is None or unit.level == 1:
        raise BadRequest(f"{body.unit!r} is not a member unit to assign to", field="unit")
    now = runtime.clock()
    await runtime.assignments.assign(
        record.appeal.appeal_no,
        unit.id,
        allowed=OPERATOR_STEPS["assigned"].after,
        event=history_event(
            "dispatched",
            who(request),
            now,
            state=State.dispatched.value,
            unit=unit.id,
            note=body.note,
            by_hand=True,
        ),
        assignment=assignment_of(
            runtime.config.network,
            unit.id,
            record.appeal,
            now,
            None,
            assigned_by=who(request),
            deadlines=record.deadlines,
        ),
    )
    runtime.deliverer.wake.set()
    return json_response({"appeal_no": record.appeal.appeal_no, "state": "dispatched", "unit": unit.id})


DECIDED = {"approve": "approved", "deny": "denied"}


class ExtensionDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decision: Literal["approve", "deny"]
    note: str | None = Field(default=None, max_length=2000)


@routes.post("/api/v1/appeals/{appeal_no}/extension")
async def decide_extension(request: web.Request) -> web.Response:
    """Approve or deny a unit's pending extension request; the deadline moves only on approval."""
    runtime = require_operator(request)
    body: ExtensionDecision = parse(ExtensionDecision, await read_json(request))
    record = await _record(runtime, request)
    _step("extension_decided", record)
    pending = record.extension or {}
    if pending.get("status") != "pending":
        raise Conflict("no extension request is waiting")
    now = runtime.clock()
    fields = {
        "extension": json.dumps(
            pending | {"status": DECIDED[body.decision], "decided_at": now.isoformat()}, ensure_ascii=False
        )
    }
    detail: dict[str, object] = {"decision": body.decision, "days": pending.get("days")}
    if body.decision == "approve":
        deadlines = runtime.extend_deadlines(record, int(pending.get("days", 0)))
        if deadlines is not None:
            fields["deadlines"] = json.dumps(deadlines)
            detail["reply_by"] = deadlines.get("reply_by")
    await _apply(runtime, who(request), record, "extension_decided", fields, **detail)
    return json_response({"appeal_no": record.appeal.appeal_no, "extension": DECIDED[body.decision]})


class ReturnVisit(BaseModel):
    model_config = ConfigDict(extra="forbid")
    satisfaction: Literal["satisfied", "basically_satisfied", "unsatisfied"]
    note: str | None = Field(default=None, max_length=2000)


@routes.post("/api/v1/appeals/{appeal_no}/return-visit")
async def return_visit(request: web.Request) -> web.Response:
    """The centre's return visit 回访 to the citizen after the reply."""
    runtime = require_operator(request)
    body: ReturnVisit = parse(ReturnVisit, await read_json(request))
    record = await _record(runtime, request)
    await _apply(
        runtime,
        who(request),
        record,
        "visited",
        {"satisfaction": body.satisfaction},
        satisfaction=body.satisfaction,
        note=body.note,
    )
    return json_response({"appeal_no": record.appeal.appeal_no, "state": State.visited.value})


class Review(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decision: Literal["approve", "reopen"]
    note: str | None = Field(default=None, max_length=2000)


@routes.post("/api/v1/appeals/{appeal_no}/review")
async def review(request: web.Request) -> web.Response:
    """Review 审核: approve files 归档 the appeal; reopen sends it back to its unit (counted)."""
    runtime = require_operator(request)
    body: Review = parse(Review, await read_json(request))
    record = await _record(runtime, request)
    appeal_no = record.appeal.appeal_no
    now = runtime.clock()
    if body.decision == "approve":
        await _apply(runtime, who(request), record, "filed", reviewed=True, note=body.note)
        return json_response({"appeal_no": appeal_no, "state": State.filed.value})
    _step("reopened", record)
    if record.unit is None:
        raise Conflict("the appeal has no unit to reopen it with")
    await runtime.assignments.assign(
        appeal_no,
        record.unit,
        allowed=OPERATOR_STEPS["reopened"].after,
        to=State.handling,
        supervisor=record.supervisor,
        event_type=EVENT_REOPENED,
        event=history_event(
            "reopened",
            who(request),
            now,
            state=State.handling.value,
            unit=record.unit,
            note=body.note,
            reopened=record.reopened + 1,
        ),
        assignment=assignment_of(
            runtime.config.network,
            record.unit,
            record.appeal,
            now,
            None,
            reopened=record.reopened + 1,
            note=body.note,
            deadlines=record.deadlines,
        ),
    )
    await runtime.redis.hincrby(runtime.keys.appeal(appeal_no), "reopened", 1)
    runtime.deliverer.wake.set()
    return json_response({"appeal_no": appeal_no, "state": State.handling.value})


@routes.post("/api/v1/routing/reload")
async def reload_routing(request: web.Request) -> web.Response:
    """Re-read the routing configuration now; an invalid one is refused and the old one serves on."""
    runtime = require_operator(request)
    result = runtime.reloader.reload()
    if not result.applied:
        return json_response(
            {"error": {"code": "config", "message": "configuration refused", "problems": result.problems}},
            status=422,
        )
    return json_response({"applied": True})

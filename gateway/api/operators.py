"""The operators' API (Bearer ``$OPERATOR_TOKEN``): look at appeals, work the manual dispatch queue,
decide extensions, record return visits, review and file, reload routing."""

from __future__ import annotations

from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from gateway.api.auth import require_token
from gateway.api.units import parse, read_json
from gateway.errors import BadRequest
from gateway.http import json_response
from gateway.loop import State
from gateway.loop.record import read_records
from gateway.runtime import RUNTIME, Runtime
from gateway.store import text

routes = web.RouteTableDef()


def require_operator(request: web.Request) -> Runtime:
    runtime = request.app[RUNTIME]
    require_token(request, runtime.config.gateway.operator_token.get_secret_value())
    return runtime


@routes.get("/api/v1/appeals/{appeal_no}")
async def get_appeal(request: web.Request) -> web.Response:
    runtime = require_operator(request)
    record = await runtime.loop.require(request.match_info["appeal_no"])
    body = record.summary()
    body["decision"] = record.decision
    body["appeal"] = record.appeal.model_dump(mode="json")
    body["history"] = await runtime.loop.history(record.appeal.appeal_no)
    return json_response(body)


@routes.get("/api/v1/dispatch-queue")
async def dispatch_queue(request: web.Request) -> web.Response:
    """The manual dispatch queue, oldest first, with the router's top candidates."""
    runtime = require_operator(request)
    try:
        limit = min(max(int(request.query.get("limit", "100")), 1), 500)
    except ValueError:
        raise BadRequest("limit is a whole number", field="limit") from None
    entries: Any = await runtime.redis.zrange(runtime.keys.manual_queue, 0, limit - 1, withscores=True)
    records = await read_records(runtime.redis, runtime.keys, [text(member) for member, _ in entries])
    items = []
    for (_member, since), record in zip(entries, records, strict=True):
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
    return json_response(
        await runtime.loop.assign_by_hand(request.match_info["appeal_no"], body.unit, body.note)
    )


class ExtensionDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decision: Literal["approve", "deny"]
    note: str | None = Field(default=None, max_length=2000)


@routes.post("/api/v1/appeals/{appeal_no}/extension")
async def decide_extension(request: web.Request) -> web.Response:
    """Approve or deny a unit's pending extension request; the deadline moves only on approval."""
    runtime = require_operator(request)
    body: ExtensionDecision = parse(ExtensionDecision, await read_json(request))
    appeal_no = request.match_info["appeal_no"]
    return json_response(await runtime.loop.decide_extension(appeal_no, body.decision, body.note))


class ReturnVisit(BaseModel):
    model_config = ConfigDict(extra="forbid")
    satisfaction: Literal["satisfied", "basically_satisfied", "unsatisfied"]
    note: str | None = Field(default=None, max_length=2000)


@routes.post("/api/v1/appeals/{appeal_no}/return-visit")
async def return_visit(request: web.Request) -> web.Response:
    """The centre's return visit 回访 to the citizen after the reply."""
    runtime = require_operator(request)
    body: ReturnVisit = parse(ReturnVisit, await read_json(request))
    appeal_no = request.match_info["appeal_no"]
    return json_response(await runtime.loop.return_visit(appeal_no, body.satisfaction, body.note))


class Review(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decision: Literal["approve", "reopen"]
    note: str | None = Field(default=None, max_length=2000)


@routes.post("/api/v1/appeals/{appeal_no}/review")
async def review(request: web.Request) -> web.Response:
    """Review 审核: approve files 归档 the appeal; reopen sends it back to its unit (counted)."""
    runtime = require_operator(request)
    body: Review = parse(Review, await read_json(request))
    return json_response(await runtime.loop.review(request.match_info["appeal_no"], body.decision, body.note))


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

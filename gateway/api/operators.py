"""The operators' API (Bearer ``$OPERATOR_TOKEN``): look at appeals, work the manual dispatch queue,
decide extensions, record return visits, review and file, reload routing."""

from __future__ import annotations

from typing import Any, Literal

from aiohttp import web
from pydantic import Field

from gateway.accounts.auth import READERS, require, who
from gateway.accounts.views import appeal_view
from gateway.api.declare import Declared, operation
from gateway.errors import NotFound
from gateway.http import json_response
from gateway.loop import State
from gateway.loop.record import read_records
from gateway.records import find_appeal
from gateway.runtime import Runtime
from gateway.store import text

routes = web.RouteTableDef()


def require_operator(request: web.Request) -> Runtime:
    """An operator or an admin (a personal token, or ``OPERATOR_TOKEN``): 401/403 otherwise."""
    return require(request)


class AppealQuery(Declared):
    reveal: Literal["contact"] | None = Field(default=None, description="ask for the contact (audited)")
    masked: bool = Field(default=False, description="personal data masked, as the workbench first shows it")


@routes.get("/api/v1/appeals/{appeal_no}")
@operation(
    "operators", auth="operator", responses={404: "no such appeal", 503: "the audit cannot be written"}
)
async def get_appeal(request: web.Request, query: AppealQuery) -> web.Response:
    """The appeal, from Redis or (past retention) from the record; as the caller's role may see it."""
    runtime = require(request, READERS)
    found = await find_appeal(runtime, request.match_info["appeal_no"])
    if found is None:
        raise NotFound(f"no appeal {request.match_info['appeal_no']}")
    return json_response(await appeal_view(request, *found, reveal=query.reveal, masked=query.masked))


@routes.get("/api/v1/units")
@operation("operators", auth="operator")
async def list_units(request: web.Request) -> web.Response:
    """Every member unit of the network: id, name, level, parent (for choosing one by hand)."""
    runtime = require(request, READERS)
    network = runtime.config.network
    items = [
        {"id": u.id, "name": u.name, "level": u.level, "parent": u.parent}
        for u in sorted(network.units.values(), key=lambda u: (u.level, u.id))
    ]
    return json_response({"count": len(items), "items": items})


def _named(runtime: Any, candidates: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The router's candidates (unit, category, score, reason) with each unit's name."""
    network = runtime.config.network
    out = []
    for c in candidates:
        unit = network.get(c.get("unit") or "")
        out.append({**c, "name": unit.name if unit is not None else None})
    return out


class QueueQuery(Declared):
    limit: int = Field(default=100, ge=1, le=500, description="how many entries, oldest first")


@routes.get("/api/v1/dispatch-queue")
@operation("operators", auth="operator")
async def dispatch_queue(request: web.Request, query: QueueQuery) -> web.Response:
    """The manual dispatch queue, oldest first, with the router's top candidates."""
    runtime = require_operator(request)
    limit = query.limit
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
                "candidates": _named(runtime, (record.decision or {}).get("candidates", [])),
                "explanation": (record.decision or {}).get("explanation"),
            }
        )
    return json_response({"count": len(items), "items": items})


class Assign(Declared):
    unit: str = Field(min_length=1, max_length=64, description="a member unit's id")
    note: str | None = Field(default=None, max_length=2000)


@routes.post("/api/v1/appeals/{appeal_no}/assign")
@operation("operators", auth="operator", responses={404: "no such appeal", 409: "out of order"})
async def assign(request: web.Request, body: Assign) -> web.Response:
    """Assign by hand (from the manual queue, or to override the router)."""
    runtime = require_operator(request)
    return json_response(
        await runtime.loop.assign_by_hand(
            request.match_info["appeal_no"], body.unit, body.note, actor=who(request)
        )
    )


class ExtensionDecision(Declared):
    decision: Literal["approve", "deny"]
    note: str | None = Field(default=None, max_length=2000)


@routes.post("/api/v1/appeals/{appeal_no}/extension")
@operation("operators", auth="operator", responses={404: "no such appeal", 409: "no request waiting"})
async def decide_extension(request: web.Request, body: ExtensionDecision) -> web.Response:
    """Approve or deny a unit's pending extension request; the deadline moves only on approval."""
    runtime = require_operator(request)
    appeal_no = request.match_info["appeal_no"]
    return json_response(
        await runtime.loop.decide_extension(appeal_no, body.decision, body.note, actor=who(request))
    )


class ReturnVisit(Declared):
    satisfaction: Literal["satisfied", "basically_satisfied", "unsatisfied"]
    note: str | None = Field(default=None, max_length=2000)


@routes.post("/api/v1/appeals/{appeal_no}/return-visit")
@operation("operators", auth="operator", responses={404: "no such appeal", 409: "out of order"})
async def return_visit(request: web.Request, body: ReturnVisit) -> web.Response:
    """The centre's return visit 回访 to the citizen after the reply."""
    runtime = require_operator(request)
    appeal_no = request.match_info["appeal_no"]
    return json_response(
        await runtime.loop.return_visit(appeal_no, body.satisfaction, body.note, actor=who(request))
    )


class Review(Declared):
    decision: Literal["approve", "reopen"]
    note: str | None = Field(default=None, max_length=2000)


@routes.post("/api/v1/appeals/{appeal_no}/review")
@operation("operators", auth="operator", responses={404: "no such appeal", 409: "out of order"})
async def review(request: web.Request, body: Review) -> web.Response:
    """Review 审核: approve files 归档 the appeal; reopen sends it back to its unit (counted)."""
    runtime = require_operator(request)
    return json_response(
        await runtime.loop.review(
            request.match_info["appeal_no"], body.decision, body.note, actor=who(request)
        )
    )


@routes.post("/api/v1/routing/reload")
@operation("operators", auth="operator", responses={422: "the configuration was refused"})
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

"""``GET /api/v1/appeals``: search over the record (operators, admins; supervisors: supervised only);
``GET /api/v1/overview``: the workbench's volume charts and unit league table;
``GET /api/v1/appeals/{no}/deliveries``: each delivery of an appeal with its attempts and outcome."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from gateway.accounts.auth import READERS, require
from gateway.accounts.views import search_scope, search_view
from gateway.api.declare import operation
from gateway.errors import TransientError
from gateway.http import json_response
from gateway.records.overview import overview
from gateway.records.schema import deliveries
from gateway.records.search import SearchQuery
from gateway.runtime import RUNTIME

routes = web.RouteTableDef()


@routes.get("/api/v1/appeals")
@operation("operators", auth="operator", responses={503: "no database is configured for the record"})
async def search_appeals(request: web.Request, query: SearchQuery) -> web.Response:
    """Search the record: appeals by words of their text, phone (or its last four digits), unit,
    state, channel, category, area, supervision and time; newest first, ``page`` by ``page``.
    Supervisors search supervised appeals only, never by phone."""
    scoped = await search_scope(request, query)
    runtime = request.app[RUNTIME]
    if runtime.records is None:
        raise TransientError("no database is configured for the record; search needs one")
    return json_response(await search_view(request, await runtime.records.search(scoped)))


@routes.get("/api/v1/overview")
@operation("operators", auth="operator", responses={503: "no database is configured for the record"})
async def get_overview(request: web.Request) -> web.Response:
    """Appeals per channel per hour (24 hours) and per day (30 days), and the units' league table
    over 30 days: signed on time, replied on time, returns, satisfaction."""
    runtime = require(request, READERS)
    if runtime.records is None:
        raise TransientError("no database is configured for the record; the overview needs one")
    now = runtime.clock()
    return json_response({"at": now.isoformat()} | await overview(runtime.records.engine, now))


@routes.get("/api/v1/appeals/{appeal_no}/deliveries")
@operation("operators", auth="operator", responses={503: "no database is configured for the record"})
async def appeal_deliveries(request: web.Request) -> web.Response:
    """Every delivery of the appeal to a unit (webhook id, event, attempts, outcome, last error), oldest
    first, as the record has it (within a second or so of each attempt)."""
    runtime = require(request, READERS)
    if runtime.records is None:
        raise TransientError("no database is configured for the record; this needs one")
    query = (
        select(deliveries)
        .where(deliveries.c.appeal_no == request.match_info["appeal_no"])
        .order_by(deliveries.c.created_at, deliveries.c.id)
    )
    async with runtime.records.engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    items = [
        {
            "webhook_id": r.webhook_id,
            "unit": r.unit,
            "event_type": r.event_type,
            "attempts": r.attempts,
            "outcome": r.outcome,
            "last_error": r.last_error,
            "created_at": r.created_at.isoformat(),
        }
        for r in rows
    ]
    return json_response({"count": len(items), "items": items})

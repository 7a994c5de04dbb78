"""The operators' health API (Bearer ``$OPERATOR_TOKEN``): channels, units, overdue appeals, alerts."""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta
from typing import Any

from aiohttp import web
from pydantic import Field

from gateway.accounts.auth import READERS, require
from gateway.api.declare import Declared, operation
from gateway.api.operators import require_operator
from gateway.http import json_response
from gateway.runtime import Runtime

routes = web.RouteTableDef()


class OverdueQuery(Declared):
    limit: int = Field(default=200, ge=1, le=1000, description="most appeals listed")


class DueSoonQuery(Declared):
    within_minutes: int = Field(default=120, ge=1, le=10080, description="how far ahead to look")
    limit: int = Field(default=200, ge=1, le=1000, description="most appeals listed")


class AlertsQuery(Declared):
    limit: int = Field(default=50, ge=1, le=1000, description="most notices of the log listed")


def _report(runtime: Runtime, items: list[dict[str, Any]]) -> web.Response:
    """A health listing: when it was judged, how many in each status, and every item."""
    summary = dict(Counter(str(i["status"]) for i in items))
    return json_response(
        {"at": runtime.clock().isoformat(), "count": len(items), "summary": summary, "items": items}
    )


@routes.get("/api/v1/channels")
@operation("operators", auth="operator")
async def channels(request: web.Request) -> web.Response:
    """Every configured channel (disabled ones too) with its status, counts, rates and last times."""
    runtime = require(request, READERS)
    return _report(runtime, await runtime.health.channels())


@routes.get("/api/v1/units/health")
@operation("operators", auth="operator")
async def units(request: web.Request) -> web.Response:
    """Every member unit's delivery health: success rate, last success, failures, breaker, pending."""
    runtime = require(request, READERS)
    return _report(runtime, await runtime.health.units())


@routes.get("/api/v1/overdue")
@operation("operators", auth="operator")
async def overdue(request: web.Request, query: OverdueQuery) -> web.Response:
    """Open appeals past the deadline they wait on (signing while dispatched, else the reply)."""
    runtime = require_operator(request)
    items = await runtime.health.deadlines.overdue(runtime.clock(), query.limit)
    return json_response({"count": len(items), "items": items})


@routes.get("/api/v1/due-soon")
@operation("operators", auth="operator")
async def due_soon(request: web.Request, query: DueSoonQuery) -> web.Response:
    """Open appeals about to miss the deadline they wait on (not yet past it), soonest first."""
    runtime = require_operator(request)
    within = timedelta(minutes=query.within_minutes)
    items = await runtime.health.deadlines.due_soon(runtime.clock(), within, query.limit)
    return json_response({"count": len(items), "items": items})


@routes.get("/api/v1/alerts")
@operation("operators", auth="operator")
async def alerts(request: web.Request, query: AlertsQuery) -> web.Response:
    """Alerts now raised, and the latest raised and resolved notices (newest first)."""
    runtime = require_operator(request)
    limit = query.limit
    log = [json.loads(x) for x in await runtime.redis.lrange(runtime.keys.alerts_log, 0, limit - 1)]
    return json_response({"active": await runtime.alerts.active(), "log": log})

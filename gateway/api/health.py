"""The operators' health API (Bearer ``$OPERATOR_TOKEN``): channels, units, overdue appeals, alerts."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from aiohttp import web

from gateway.accounts.auth import READERS, require
from gateway.api.operators import require_operator
from gateway.errors import BadRequest
from gateway.http import json_response
from gateway.runtime import Runtime

routes = web.RouteTableDef()


def _limit(request: web.Request, default: int, most: int) -> int:
    try:
        value = int(request.query.get("limit", str(default)))
    except ValueError:
        raise BadRequest("limit is a whole number", field="limit") from None
    if value < 1:
        raise BadRequest("limit is at least 1", field="limit")
    return min(value, most)


def _report(runtime: Runtime, items: list[dict[str, Any]]) -> web.Response:
    """A health listing: when it was judged, how many in each status, and every item."""
    summary = dict(Counter(str(i["status"]) for i in items))
    return json_response(
        {"at": runtime.clock().isoformat(), "count": len(items), "summary": summary, "items": items}
    )


@routes.get("/api/v1/channels")
async def channels(request: web.Request) -> web.Response:
    """Every configured channel (disabled ones too) with its status, counts, rates and last times."""
    runtime = require(request, READERS)
    return _report(runtime, await runtime.health.channels())


@routes.get("/api/v1/units/health")
async def units(request: web.Request) -> web.Response:
    """Every member unit's delivery health: success rate, last success, failures, breaker, pending."""
    runtime = require(request, READERS)
    return _report(runtime, await runtime.health.units())


@routes.get("/api/v1/overdue")
async def overdue(request: web.Request) -> web.Response:
    """Open appeals past the deadline they wait on (signing while dispatched, else the reply)."""
    runtime = require_operator(request)
    items = await runtime.health.deadlines.overdue(runtime.clock(), _limit(request, 200, 1000))
    return json_response({"count": len(items), "items": items})


@routes.get("/api/v1/alerts")
async def alerts(request: web.Request) -> web.Response:
    """Alerts now raised, and the latest raised and resolved notices (newest first)."""
    runtime = require_operator(request)
    limit = _limit(request, 50, 1000)
    log = [json.loads(x) for x in await runtime.redis.lrange(runtime.keys.alerts_log, 0, limit - 1)]
    return json_response({"active": await runtime.alerts.active(), "log": log})

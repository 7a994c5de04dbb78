"""The operators' review over the record (Bearer ``$OPERATOR_TOKEN``): repeats and duplicates to
confirm or unlink (``/api/v1/repeats``), and the weekly and monthly reports (``/api/v1/reports``)."""

from __future__ import annotations

import asyncio

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.api.operators import ACTOR, require_operator
from gateway.errors import BadRequest, NotFound, TransientError
from gateway.http import json_response
from gateway.records import periods, render, repeats
from gateway.records.report import build
from gateway.runtime import Runtime

routes = web.RouteTableDef()
FORMATS = ("json", "html", "pdf")


def _records(runtime: Runtime) -> AsyncEngine:
    if runtime.records is None:
        raise TransientError("no database is configured for the record; this needs one")
    return runtime.records.engine


def _choice(request: web.Request, name: str, allowed: tuple[str, ...]) -> str | None:
    value = request.query.get(name)
    if value is not None and value not in allowed:
        raise BadRequest(f"unknown {name} {value!r}; known: {', '.join(allowed)}", field=name)
    return value


@routes.get("/api/v1/repeats")
async def list_repeats(request: web.Request) -> web.Response:
    """Repeats and cross-channel duplicates for review, newest first; ``status`` (default linked:
    the undecided ones), ``kind``, ``limit`` (1-500)."""
    runtime = require_operator(request)
    unknown = sorted(set(request.query) - {"status", "kind", "limit"})
    if unknown:
        raise BadRequest(f"unknown filter {unknown[0]!r}; known: status, kind, limit", field=unknown[0])
    status = _choice(request, "status", (*repeats.STATUSES, "all")) or "linked"
    kind = _choice(request, "kind", repeats.KINDS)
    raw = request.query.get("limit", "100")
    if not raw.isdigit() or not 1 <= int(raw) <= 500:
        raise BadRequest(f"limit {raw!r} is not a number from 1 to 500", field="limit")
    items = await repeats.list_links(
        _records(runtime), status=None if status == "all" else status, kind=kind, limit=int(raw)
    )
    return json_response({"items": items})


async def _decide(request: web.Request, status: repeats.Decision) -> web.Response:
    runtime = require_operator(request)
    no, earlier = request.match_info["appeal_no"], request.match_info["earlier"]
    if not await repeats.set_status(_records(runtime), no, earlier, status, ACTOR, runtime.clock()):
        raise NotFound(f"no link of {no} to {earlier}")
    return json_response({"appeal_no": no, "earlier": earlier, "status": status})


@routes.post("/api/v1/repeats/{appeal_no}/{earlier}/confirm")
async def confirm_repeat(request: web.Request) -> web.Response:
    """The operator agrees: the appeal repeats (or duplicates) the earlier one."""
    return await _decide(request, "confirmed")


@routes.post("/api/v1/repeats/{appeal_no}/{earlier}/unlink")
async def unlink_repeat(request: web.Request) -> web.Response:
    """The operator disagrees: the two are separate matters (kept, never detected again)."""
    return await _decide(request, "unlinked")


@routes.get("/api/v1/reports/{kind}/{period}")
async def get_report(request: web.Request) -> web.Response:
    """The weekly (``2026-W48``) or monthly (``2026-11``) report; ``format`` json (default), html, pdf."""
    runtime = require_operator(request)
    unknown = sorted(set(request.query) - {"format"})
    if unknown:
        raise BadRequest(f"unknown parameter {unknown[0]!r}; known: format", field=unknown[0])
    fmt = _choice(request, "format", FORMATS) or "json"
    period = periods.parse(request.match_info["kind"], request.match_info["period"], runtime.clock())
    report = await build(_records(runtime), period, runtime.clock())
    if fmt == "json":
        return json_response(report)
    if fmt == "html":  # charts take a while to draw: off the event loop
        return web.Response(text=await asyncio.to_thread(render.html, report), content_type="text/html")
    body = await asyncio.to_thread(render.pdf, report)
    return web.Response(body=body, content_type="application/pdf")

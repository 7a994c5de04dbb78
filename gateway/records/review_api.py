"""The review over the record: repeats and duplicates to confirm or unlink (``/api/v1/repeats``,
operators and admins), and the weekly and monthly reports (``/api/v1/reports``: operators, admins and
the joint supervisors; no personal data is in a report)."""

from __future__ import annotations

import asyncio
from typing import Literal

from aiohttp import web
from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.accounts.auth import READERS, require, who
from gateway.api.declare import Declared, operation
from gateway.api.operators import require_operator
from gateway.errors import NotFound, TransientError
from gateway.http import json_response
from gateway.records import periods, render, repeats
from gateway.records.report import build
from gateway.runtime import Runtime

routes = web.RouteTableDef()
NO_RECORD = "no database is configured for the record"


def _records(runtime: Runtime) -> AsyncEngine:
    if runtime.records is None:
        raise TransientError("no database is configured for the record; this needs one")
    return runtime.records.engine


class RepeatsQuery(Declared):
    status: Literal["linked", "confirmed", "unlinked", "all"] = Field(
        default="linked", description="linked: the undecided ones; all: every link"
    )
    kind: Literal["repeat", "duplicate"] | None = None
    limit: int = Field(default=100, ge=1, le=500)
    appeal_no: str | None = Field(default=None, max_length=40, description="only this appeal's links")


@routes.get("/api/v1/repeats")
@operation("operators", auth="operator", responses={503: NO_RECORD})
async def list_repeats(request: web.Request, query: RepeatsQuery) -> web.Response:
    """Repeats and cross-channel duplicates for review, newest first."""
    runtime = require_operator(request)
    status = None if query.status == "all" else query.status
    items = await repeats.list_links(
        _records(runtime), status=status, kind=query.kind, limit=query.limit, appeal_no=query.appeal_no
    )
    return json_response({"items": items})


async def _decide(request: web.Request, status: repeats.Decision) -> web.Response:
    runtime = require_operator(request)
    no, earlier = request.match_info["appeal_no"], request.match_info["earlier"]
    if not await repeats.set_status(_records(runtime), no, earlier, status, who(request), runtime.clock()):
        raise NotFound(f"no link of {no} to {earlier}")
    return json_response({"appeal_no": no, "earlier": earlier, "status": status})


@routes.post("/api/v1/repeats/{appeal_no}/{earlier}/confirm")
@operation("operators", auth="operator", responses={404: "no such link", 503: NO_RECORD})
async def confirm_repeat(request: web.Request) -> web.Response:
    """The operator agrees: the appeal repeats (or duplicates) the earlier one."""
    return await _decide(request, "confirmed")


@routes.post("/api/v1/repeats/{appeal_no}/{earlier}/unlink")
@operation("operators", auth="operator", responses={404: "no such link", 503: NO_RECORD})
async def unlink_repeat(request: web.Request) -> web.Response:
    """The operator disagrees: the two are separate matters (kept, never detected again)."""
    return await _decide(request, "unlinked")


class ReportQuery(Declared):
    format: Literal["json", "html", "pdf"] = "json"


@routes.get("/api/v1/reports/{kind}/{period}")
@operation("operators", auth="operator", responses={400: "unknown kind or period", 503: NO_RECORD})
async def get_report(request: web.Request, query: ReportQuery) -> web.Response:
    """The weekly (``2026-W48``) or monthly (``2026-11``) report, as JSON (default), HTML or PDF;
    for supervisors too (it holds no personal data)."""
    runtime = require(request, READERS)
    fmt = query.format
    period = periods.parse(request.match_info["kind"], request.match_info["period"], runtime.clock())
    report = await build(_records(runtime), period, runtime.clock())
    if fmt == "json":
        return json_response(report)
    names = render.display_names(runtime.config)
    if fmt == "html":  # charts take a while to draw: off the event loop
        page = await asyncio.to_thread(render.html, report, names)
        return web.Response(text=page, content_type="text/html")
    body = await asyncio.to_thread(render.pdf, report, names)
    return web.Response(body=body, content_type="application/pdf")

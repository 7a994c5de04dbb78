"""``GET /api/v1/appeals``: search over the record (operators, admins; supervisors: supervised only)."""

from __future__ import annotations

from aiohttp import web

from gateway.accounts.views import search_scope, search_view
from gateway.api.declare import operation
from gateway.errors import TransientError
from gateway.http import json_response
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

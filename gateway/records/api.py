"""``GET /api/v1/appeals``: the operators' search over the record (Bearer ``$OPERATOR_TOKEN``)."""

from __future__ import annotations

from aiohttp import web

from gateway.api.declare import operation
from gateway.api.operators import require_operator
from gateway.errors import TransientError
from gateway.http import json_response
from gateway.records.search import SearchQuery

routes = web.RouteTableDef()


@routes.get("/api/v1/appeals")
@operation("operators", auth="operator", responses={503: "no database is configured for the record"})
async def search_appeals(request: web.Request, query: SearchQuery) -> web.Response:
    """Search the record: appeals by words of their text, phone (or its last four digits), unit,
    state, channel, category, area and time; newest first, ``page`` by ``page``."""
    runtime = require_operator(request)
    if runtime.records is None:
        raise TransientError("no database is configured for the record; search needs one")
    return json_response(await runtime.records.search(query))

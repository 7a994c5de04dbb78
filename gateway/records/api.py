"""``GET /api/v1/appeals``: the operators' search over the record (Bearer ``$OPERATOR_TOKEN``)."""

from __future__ import annotations

from aiohttp import web
from pydantic import ValidationError

from gateway.api.operators import require_operator
from gateway.errors import BadRequest, TransientError
from gateway.http import json_response
from gateway.records.search import SearchQuery

routes = web.RouteTableDef()


def parse_query(params: dict[str, list[str]]) -> SearchQuery:
    """The query string as a :class:`SearchQuery`; a 400 names the first bad parameter."""
    for name, values in params.items():
        if len(values) > 1:
            raise BadRequest(f"{name} is given more than once", field=name)
    try:
        return SearchQuery.model_validate({name: values[0] for name, values in params.items()})
    except ValidationError as e:
        first = e.errors(include_url=False, include_input=False, include_context=False)[0]
        name = ".".join(str(part) for part in first["loc"]) or "query"
        raise BadRequest(f"{name}: {first['msg']}", field=name) from None


@routes.get("/api/v1/appeals")
async def search_appeals(request: web.Request) -> web.Response:
    """Appeals by words of their text, phone (or its last four digits), unit, state, channel,
    category, area and time; newest first, ``page`` by ``page``."""
    runtime = require_operator(request)
    params: dict[str, list[str]] = {}
    for name, value in request.query.items():
        params.setdefault(name, []).append(value)
    query = parse_query(params)
    if runtime.records is None:
        raise TransientError("no database is configured for the record; search needs one")
    return json_response(await runtime.records.search(query))

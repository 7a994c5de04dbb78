"""``GET /api/v1/appeals``: search over the record (operators, admins; supervisors: supervised only)."""

from __future__ import annotations

from typing import TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from gateway.accounts.views import search_scope, search_view
from gateway.errors import BadRequest, TransientError
from gateway.http import json_response
from gateway.records.search import SearchQuery
from gateway.runtime import RUNTIME

routes = web.RouteTableDef()
Q = TypeVar("Q", bound=BaseModel)


def parse_query(params: dict[str, list[str]], model: type[Q] = SearchQuery) -> Q:  # type: ignore[assignment]
    """The query string as a :class:`SearchQuery` (or ``model``); a 400 names the first bad parameter."""
    for name, values in params.items():
        if len(values) > 1:
            raise BadRequest(f"{name} is given more than once", field=name)
    try:
        return model.model_validate({name: values[0] for name, values in params.items()})
    except ValidationError as e:
        first = e.errors(include_url=False, include_input=False, include_context=False)[0]
        name = ".".join(str(part) for part in first["loc"]) or "query"
        raise BadRequest(f"{name}: {first['msg']}", field=name) from None


@routes.get("/api/v1/appeals")
async def search_appeals(request: web.Request) -> web.Response:
    """Appeals by words of their text, phone (or its last four digits), unit, state, channel,
    category, area and time; newest first, ``page`` by ``page``."""
    params: dict[str, list[str]] = {}
    for name, value in request.query.items():
        params.setdefault(name, []).append(value)
    query = await search_scope(request, parse_query(params))
    runtime = request.app[RUNTIME]
    if runtime.records is None:
        raise TransientError("no database is configured for the record; search needs one")
    return json_response(await search_view(request, await runtime.records.search(query)))

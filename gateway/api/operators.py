"""The operators' API (Bearer ``$OPERATOR_TOKEN``)."""

from __future__ import annotations

from aiohttp import web

from gateway.api.auth import require_token
from gateway.errors import NotFound
from gateway.runtime import RUNTIME

routes = web.RouteTableDef()


def require_operator(request: web.Request) -> None:
    token = request.app[RUNTIME].config.gateway.operator_token.get_secret_value()
    require_token(request, token)


@routes.get("/api/v1/appeals/{appeal_no}")
async def get_appeal(request: web.Request) -> web.Response:
    require_operator(request)
    runtime = request.app[RUNTIME]
    appeal_no = request.match_info["appeal_no"]
    record = await runtime.appeals.get(appeal_no)
    if record is None:
        raise NotFound(f"no appeal {appeal_no}")
    body = record.summary()
    body["decision"] = record.decision
    body["appeal"] = record.appeal.model_dump(mode="json")
    body["history"] = await runtime.appeals.history(appeal_no)
    return web.json_response(body)


@routes.post("/api/v1/routing/reload")
async def reload_routing(request: web.Request) -> web.Response:
    """Re-read the routing configuration now; an invalid one is refused and the old one serves on."""
    require_operator(request)
    result = request.app[RUNTIME].reloader.reload()
    if not result.applied:
        return web.json_response(
            {"error": {"code": "config", "message": "configuration refused", "problems": result.problems}},
            status=422,
        )
    return web.json_response({"applied": True})

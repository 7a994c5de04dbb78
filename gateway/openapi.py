"""``GET /openapi.json``: the OpenAPI 3.1 description of every route the app has mounted, generated
from the routes themselves and the pydantic models they declare (``gateway/api/declare.py``).

Nothing here is written by hand about a particular route: a gateway route's summary is its
docstring, its parameters and body are its declared models, its error answers follow from what it
declares (a model: 400; a JSON body: 413, 415; a token: 401). A channel's route is listed at the path
it is mounted on (``/channels/<channel id>/...``), described by its kind's ``@describe`` when it has
one, else by its handler's docstring and the kind's docs page.
"""

from __future__ import annotations

import json
import re
from importlib.metadata import version
from typing import Any

from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from gateway.api.declare import Operation, operation, operation_of

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
REF = "#/components/schemas/{model}"
ROUTE_KINDS: web.AppKey[dict[tuple[str, str], str]] = web.AppKey("route_kinds", dict)
"""(method, path) -> adapter kind, for every route an adapter mounted (filled by ``create_app``)."""
_CACHE: web.AppKey[dict[str, bytes]] = web.AppKey("openapi_cache", dict)

TAGS = [
    {"name": "health", "description": "Liveness, readiness, metrics, this description."},
    {"name": "operators", "description": "Bearer $OPERATOR_TOKEN (docs/operations.md)."},
    {"name": "units", "description": "Bearer <the unit's api_token> (docs/units.md)."},
    {"name": "citizens", "description": "Public inquiry by appeal number and phone tail."},
    {"name": "channels", "description": "Adapter kinds' routes (docs/channels/)."},
    {"name": "dashboard", "description": "The centre's staff view (Chinese)."},
]
SECURITY = {
    "operator": {
        "type": "http",
        "scheme": "bearer",
        "description": "The operators' token ($OPERATOR_TOKEN).",
    },
    "unit": {
        "type": "http",
        "scheme": "bearer",
        "description": "A unit's API token (hotline-gateway units credentials UNIT).",
    },
}
PATH_PARAMETERS: dict[str, dict[str, Any]] = {
    "appeal_no": {"type": "string", "maxLength": 40, "examples": ["BB-20261129-000042"]},
    "unit_id": {"type": "string", "maxLength": 64, "examples": ["gas-supply"]},
    "delivery_id": {"type": "string", "maxLength": 100},
    "fmt": {"enum": ["json", "xml"], "description": "Open311's format of the answer."},
    "code": {"type": "string", "maxLength": 64, "examples": ["complaint"]},
    "id": {"type": "string", "maxLength": 40, "examples": ["BB-20261129-000042"]},
}
ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
        }
    },
}
ERRORS = {
    400: "invalid query or body (the message names the field)",
    401: "missing or wrong token",
    413: "body over the size limit",
    415: "the body is not of a content type described here",
}


def document(app: web.Application) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``app``'s routes."""
    kinds = app.get(ROUTE_KINDS, {})
    found: list[tuple[str, str, Operation]] = []
    for route in app.router.routes():
        resource = route.resource
        if route.method not in METHODS or resource is None:
            continue
        path = resource.canonical
        op = operation_of(route.handler) or _undeclared(route.handler, kinds.get((route.method, path)))
        found.append((route.method.lower(), path, op))
    models = sorted({m for _, _, op in found for m in op.models()}, key=lambda m: m.__name__)
    refs, defs = models_json_schema([(m, "validation") for m in models], ref_template=REF)
    schemas: dict[str, Any] = dict(defs.get("$defs", {}))
    schemas["Error"] = ERROR

    def named(model: type[BaseModel]) -> dict[str, Any]:
        return schemas[refs[(model, "validation")]["$ref"].rsplit("/", 1)[1]]  # type: ignore[no-any-return]

    paths: dict[str, dict[str, Any]] = {}
    for method, path, op in found:
        parameters = _path_parameters(path)
        for where, model in (("query", op.query), ("header", op.headers)):
            if model is not None:
                parameters += _parameters(where, named(model))
        body = {
            content_type: {"schema": refs[(model, "validation")] if model is not None else {}}
            for content_type, model in op.body.items()
        }
        paths.setdefault(path, {})[method] = _operation(op, parameters, body)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "hotline-gateway",
            "version": version("hotline-gateway"),
            "description": "12345 channel gateway and appeal router. Errors are JSON "
            '{"error": {"code", "message"}} with their HTTP status; Open311 routes answer Open311\'s '
            '[{"code", "description"}]. Generated from the code: see docs/api.md.',
        },
        "tags": TAGS,
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": SECURITY},
    }


def _undeclared(handler: object, kind: str | None) -> Operation:
    doc = " ".join((getattr(handler, "__doc__", None) or "").split("\n\n")[0].split())
    where = f"docs/channels/{kind}.md" if kind else "docs/api.md"
    return Operation(
        "channels" if kind else "health",
        doc or getattr(handler, "__name__", "route").replace("_", " "),
        f"{kind} kind: the platform's own protocol, see {where}." if kind else "",
        body={"application/octet-stream": None} if kind else {},
    )


def _path_parameters(path: str) -> list[dict[str, Any]]:
    return [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": PATH_PARAMETERS.get(name, {"type": "string"}),
        }
        for name in re.findall(r"\{(\w+)\}", path)
    ]


def _parameters(where: str, schema: dict[str, Any]) -> list[dict[str, Any]]:
    """A query or header model's fields as OpenAPI parameters (a header by its alias)."""
    required = set(schema.get("required", ()))
    parameters = []
    for name, field_schema in schema.get("properties", {}).items():
        parameter = {"name": name, "in": where, "required": name in required, "schema": field_schema}
        if "description" in field_schema:
            parameter["description"] = field_schema["description"]
        parameters.append(parameter)
    return parameters


def _operation(op: Operation, parameters: list[dict[str, Any]], body: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"tags": [op.tag], "summary": op.summary}
    if op.description:
        out["description"] = op.description
    if op.auth is not None:
        out["security"] = [{op.auth: []}]
    if parameters:
        out["parameters"] = parameters
    codes: dict[int, str] = {}
    if body:
        out["requestBody"] = {"required": op.body_required, "content": body}
        if any(model is not None for model in op.body.values()):
            codes.update({c: ERRORS[c] for c in (400, 413, 415)})
    if op.query is not None or op.headers is not None:
        codes[400] = ERRORS[400]
    if op.auth is not None:
        codes[401] = ERRORS[401]
    codes.update(op.responses)
    responses: dict[str, Any] = {"200": {"description": "OK"}} if 200 not in codes else {}
    for code, description in sorted(codes.items()):
        answer: dict[str, Any] = {"description": description}
        if code >= 400 and op.tag != "channels":
            answer["content"] = {"application/json": {"schema": {"$ref": REF.format(model="Error")}}}
        responses[str(code)] = answer
    if op.tag == "channels":
        responses["default"] = {"description": "the platform's own answer (see the kind's docs page)"}
    out["responses"] = responses
    return out


def mount(app: web.Application) -> None:
    """Serve the document of ``app`` at ``/openapi.json`` (generated on the first request)."""
    app[_CACHE] = {}
    app.router.add_get("/openapi.json", _serve)


@operation("health")
async def _serve(request: web.Request) -> web.StreamResponse:
    """This description (OpenAPI 3.1)."""
    cache = request.app[_CACHE]
    if "body" not in cache:
        cache["body"] = json.dumps(document(request.app), ensure_ascii=False).encode()
    return web.Response(body=cache["body"], content_type="application/json", charset="utf-8")

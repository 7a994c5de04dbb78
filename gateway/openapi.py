"""``GET /openapi.json``: the OpenAPI 3 description of every HTTP surface, written by hand in
``openapi.yaml`` beside this module (a test checks every route the app registers is in it)."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import yaml
from aiohttp import web

routes = web.RouteTableDef()
# Read once at import, before the event loop serves.
SPEC: dict[str, Any] = yaml.safe_load(resources.files("gateway").joinpath("openapi.yaml").read_text("utf-8"))
BODY = json.dumps(SPEC, ensure_ascii=False).encode()


@routes.get("/openapi.json")
async def openapi(request: web.Request) -> web.Response:
    return web.Response(body=BODY, content_type="application/json", charset="utf-8")

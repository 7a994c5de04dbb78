"""``/dashboard``: the centre's staff view (Chinese), one static page and a small script, served from
here (no build step, nothing from elsewhere). It signs in with the operator token (kept in the
tab's sessionStorage) and reads the operator API with it."""

from __future__ import annotations

from importlib import resources

from aiohttp import web

from gateway.api.declare import operation

routes = web.RouteTableDef()
TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css"}
# Read once at import, before the event loop serves: no file reads while serving.
FILES = {
    p.name: p.read_bytes()
    for p in resources.files("gateway.dashboard").joinpath("static").iterdir()
    if p.name.endswith(tuple(TYPES))
}
HEADERS = {
    "Cache-Control": "no-cache",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
}


def _file(name: str) -> web.Response:
    body = FILES.get(name)
    if body is None:
        raise web.HTTPNotFound()
    kind = TYPES[name[name.rindex(".") :]]
    return web.Response(body=body, content_type=kind, charset="utf-8", headers=HEADERS)


@routes.get("/dashboard")
@operation("dashboard")
async def page(request: web.Request) -> web.Response:
    """The staff dashboard page (signs in with the operator token)."""
    return _file("index.html")


@routes.get("/dashboard/{name}")
@operation("dashboard", responses={404: "no such file"})
async def asset(request: web.Request) -> web.Response:
    """The dashboard's script and style sheet."""
    return _file(request.match_info["name"])

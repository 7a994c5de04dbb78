"""``/dashboard``: the operators' workbench (Chinese), a static page and its ES modules served from here
(no build step, nothing from elsewhere; the chart library is vendored by ``make vendor``). It signs
in with a name and password (a session cookie, :mod:`gateway.accounts.signin`) and works the
operator API as that person."""

from __future__ import annotations

from importlib import resources

from aiohttp import web

from gateway.api.declare import operation

routes = web.RouteTableDef()
TYPES = {
    ".html": "text/html",
    ".js": "text/javascript",
    ".css": "text/css",
    ".json": "application/json",
    ".txt": "text/plain",
}
# Read once at import, before the event loop serves: no file reads while serving.
FILES = {
    p.name: p.read_bytes()
    for p in resources.files("gateway.dashboard").joinpath("static").iterdir()
    if p.name.endswith(tuple(TYPES))
}
HEADERS = {
    "Cache-Control": "no-cache",
    # the chart library's tooltips carry style attributes: inline styles allowed, scripts never
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'"
    ),
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
    """The operators' workbench (signs in with a name and password)."""
    return _file("index.html")


@routes.get("/dashboard/{name}")
@operation("dashboard", responses={404: "no such file"})
async def asset(request: web.Request) -> web.Response:
    """The workbench's scripts, style sheet, phrase table, chart library and its licence."""
    return _file(request.match_info["name"])

"""The middleware that counts every request on a channel's routes: received, and rejected (4xx) or
failed (5xx). The channel is the ``/channels/<channel id>`` the matched route is mounted under, or
what a shared route (the portal's Open311) resolved and left in ``request[CHANNEL_ID]``."""

from __future__ import annotations

from aiohttp import web

from adapters.base import CHANNEL_ID, Handler
from gateway.health.service import IN_REQUEST


def _channel(request: web.Request) -> str | None:
    if CHANNEL_ID in request:
        return request[CHANNEL_ID]
    resource = request.match_info.route.resource
    path = resource.canonical if resource is not None else ""
    if path.startswith("/channels/"):  # mounted as /channels/<channel id><the adapter's path>
        return path.split("/")[2]
    return None


@web.middleware
async def channel_outcomes(request: web.Request, handler: Handler) -> web.StreamResponse:
    from gateway.runtime import RUNTIME

    token = IN_REQUEST.set(True)
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as e:
        status = e.status
        raise
    finally:
        IN_REQUEST.reset(token)
        channel = _channel(request)
        runtime = request.app[RUNTIME]
        if channel is not None and channel in runtime.adapters:
            runtime.health.record_response(channel, status, f"HTTP {status} {request.method} {request.path}")

"""The aiohttp application: channel routes, the unit and operator APIs, health, JSON errors."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import structlog
from aiohttp import web
from redis.exceptions import RedisError

from adapters.base import Handler
from gateway import dashboard, metrics, openapi
from gateway.accounts import api as accounts_api
from gateway.accounts import signin
from gateway.accounts.auth import principals
from gateway.api import deliveries, inquiry, operators, units
from gateway.api import health as health_api
from gateway.api.declare import operation
from gateway.errors import HotlineError, TransientError
from gateway.health.http import channel_outcomes
from gateway.http import json_response
from gateway.records import api as records_api
from gateway.records import review_api
from gateway.runtime import RUNTIME, Runtime
from gateway.store import reachable

log = structlog.get_logger("http")


def error_response(status: int, code: str, message: str, **extra: object) -> web.Response:
    body: dict[str, object] = {"code": code, "message": message}
    body.update(extra)
    return json_response({"error": body}, status=status)


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every error leaves as JSON with a status and a machine code; never a traceback."""
    try:
        return await handler(request)
    except HotlineError as e:
        response = json_response(e.to_json(), status=e.status)
        if isinstance(e, TransientError):
            response.headers["Retry-After"] = str(int(e.retry_after))
        return response
    except web.HTTPException as e:
        if e.status < 400:
            raise
        code = (e.reason or "error").lower().replace(" ", "_")
        response = error_response(e.status, code, e.reason or "error")
        if e.status == 413:
            response.force_close()  # the rest of the body is not read: drop the connection
        return response
    except RedisError:
        log.exception("http.storage_unavailable", path=request.path)
        response = error_response(503, "storage_unavailable", "the store is unavailable; try again")
        response.headers["Retry-After"] = "5"
        return response
    except Exception:
        log.exception("http.unhandled", path=request.path, method=request.method)
        return error_response(500, "internal", "internal error; it has been logged")


@operation("health")
async def healthz(request: web.Request) -> web.Response:
    """The process is alive."""
    return json_response({"status": "alive"})


@operation("health", responses={503: "not ready: a check failed"})
async def readyz(request: web.Request) -> web.Response:
    """Configuration loaded, Redis reachable, workers running."""
    runtime = request.app[RUNTIME]
    checks: dict[str, bool] = {"config": True, "workers": runtime.workers_running}
    try:
        checks["redis"] = await reachable(runtime.redis, runtime.keys)
    except (RedisError, OSError):
        checks["redis"] = False
    ready = all(checks.values())
    body: dict[str, object] = {"ready": ready, "checks": checks}
    if runtime.records is not None:  # degraded, not unready: intake and delivery go on without it
        body["records"] = records = await runtime.records.health()
        if records["status"] != "healthy":
            body["degraded"] = ["records"]
    return json_response(body, status=200 if ready else 503)


def create_app(runtime: Runtime, *, workers: bool = True) -> web.Application:
    app = web.Application(
        middlewares=[channel_outcomes, json_errors, principals],
        client_max_size=runtime.config.gateway.intake.max_body_bytes,
    )
    app[RUNTIME] = runtime
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_routes(units.routes)
    app.router.add_routes(operators.routes)
    app.router.add_routes(deliveries.routes)
    app.router.add_routes(inquiry.routes)
    for more in (
        health_api.routes,
        metrics.routes,
        dashboard.routes,
        records_api.routes,
        accounts_api.routes,
        signin.routes,
    ):
        app.router.add_routes(more)
    app.router.add_routes(review_api.routes)
    by_kind: dict[type, list[object]] = {}
    app[openapi.ROUTE_KINDS] = kinds = {}
    for channel_id, adapter in runtime.adapters.items():
        by_kind.setdefault(type(adapter), []).append(adapter)
        for route in adapter.routes():
            path = f"/channels/{channel_id}{route.path}"
            app.router.add_route(route.method, path, route.handler)
            kinds[(route.method, path)] = adapter.kind
    for kind, adapters in by_kind.items():
        for route in kind.shared_routes(adapters):  # type: ignore[attr-defined]
            app.router.add_route(route.method, route.path, route.handler)
            kinds[(route.method, route.path)] = kind.kind  # type: ignore[attr-defined]
    openapi.mount(app)
    app[deliveries.STOPPING] = stopping = asyncio.Event()

    async def stop_polls(app: web.Application) -> None:
        stopping.set()  # before aiohttp waits for the requests in flight: long polls answer now

    app.on_shutdown.append(stop_polls)

    async def lifetime(app: web.Application) -> AsyncIterator[None]:
        await runtime.start(workers=workers)
        yield
        await runtime.stop()

    app.cleanup_ctx.append(lifetime)
    return app

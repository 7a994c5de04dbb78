"""The processes a throughput comparison runs beside the gateway, each its own aiohttp server:

- ``receiver``: plays every member unit; notes the first arrival of each appeal (the CloudEvent's or
  the naive flow's ``subject``) and repeats of a ``webhook-id``; ``GET /stats`` and ``GET /arrivals``.
- ``bare``: the reference a web framework gives: read the POST body, answer 201 with a JSON id.
- ``naive``: a stand-in for the Node-RED flow "http in -> keyword switch -> http request to the unit
  -> http response": read the form, pick a unit by keyword, POST JSON to it, answer. No store, no
  dedup, no signing, no retries (Node-RED itself could not be installed here reliably).

    python -m bench.peers receiver|bare|naive --port P [--unit-base URL]
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from typing import Any

import aiohttp
from aiohttp import web

KEYWORDS = (("燃气", "gas-supply"), ("路灯", "urban-management"), ("公交", "transport-bureau"))
DEFAULT_UNIT = "housing-bureau"


def receiver_app() -> web.Application:
    arrivals: dict[str, float] = {}
    seen_ids: set[str] = set()
    stats: dict[str, Any] = {"received": 0, "duplicate_ids": 0, "first": None, "last": None}

    async def unit(request: web.Request) -> web.Response:
        body = await request.read()
        now = time.time()
        stats["received"] += 1
        webhook_id = request.headers.get("webhook-id")
        if webhook_id is not None:
            if webhook_id in seen_ids:
                stats["duplicate_ids"] += 1
            seen_ids.add(webhook_id)
        subject = str(json.loads(body).get("subject", ""))
        if subject not in arrivals:
            arrivals[subject] = now
            stats["first"] = stats["first"] or now
            stats["last"] = now
        return web.Response(status=204)

    async def get_stats(_request: web.Request) -> web.Response:
        return web.json_response(stats | {"distinct": len(arrivals)})

    async def get_arrivals(_request: web.Request) -> web.Response:
        return web.json_response(arrivals)

    async def reset(_request: web.Request) -> web.Response:
        arrivals.clear()
        seen_ids.clear()
        stats.update(received=0, duplicate_ids=0, first=None, last=None)
        return web.json_response({"reset": True})

    app = web.Application(client_max_size=8 * 1024 * 1024)
    app.router.add_post("/units/{unit}", unit)
    app.router.add_get("/stats", get_stats)
    app.router.add_get("/arrivals", get_arrivals)
    app.router.add_post("/reset", reset)
    return app


def bare_app() -> web.Application:
    ids = itertools.count(1)

    async def handle(request: web.Request) -> web.Response:
        await request.read()
        return web.json_response([{"service_request_id": f"bare-{next(ids)}"}], status=201)

    app = web.Application()
    app.router.add_post("/open311/v2/requests.json", handle)
    return app


def naive_app(unit_base: str) -> web.Application:
    ids = itertools.count(1)
    session_key = web.AppKey("session", aiohttp.ClientSession)

    async def handle(request: web.Request) -> web.Response:
        form = await request.post()
        text = str(form.get("description", ""))
        unit = next((u for word, u in KEYWORDS if word in text), DEFAULT_UNIT)
        subject = f"naive-{next(ids)}"
        payload = {
            "subject": subject,
            "unit": unit,
            "description": text,
            "title": form.get("attribute[title]"),
        }
        async with request.app[session_key].post(f"{unit_base}/units/{unit}", json=payload) as r:
            await r.read()
        return web.json_response([{"service_request_id": subject}], status=201)

    async def session(app: web.Application) -> Any:
        app[session_key] = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64))
        yield
        await app[session_key].close()

    app = web.Application()
    app.router.add_post("/open311/v2/requests.json", handle)
    app.cleanup_ctx.append(session)
    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=("receiver", "bare", "naive"))
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--unit-base", default="")
    args = parser.parse_args()
    app = {"receiver": receiver_app, "bare": bare_app}.get(args.kind, lambda: naive_app(args.unit_base))()
    web.run_app(app, host="127.0.0.1", port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()

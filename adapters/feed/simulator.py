"""``hotline-gateway simulate-upstream``: a stand-in provincial platform speaking the reference shape
of the ``feed`` kind (docs/feeds.md), for integrators and tests.

Platform API (every request signed: X-App-Key, X-Timestamp, X-Nonce, X-Signature):

``GET /orders?cursor=<n>&limit=<m>``
    ``{"code": 0, "orders": [...], "next_cursor": "7", "has_more": false}``
``POST /orders/{order_no}/feedback``      a write-back; ``{"code": 0, "message": "ok"}``

Control API (unsigned, for people and tests):

``POST /_sim/orders``     inject a work order: ``id``, ``title``, ``content``, ``phone``, ``deadline_days``
                          (optional ``name``, ``category``, ``address``, ``supervised``, ``push``)
``GET /_sim/orders``      the work orders
``GET /_sim/writebacks``  the write-backs the gateway reported (JSON bodies, oldest first)
``POST /_sim/push``       push one order (``{"id": ...}``) to ``push_to``, signed
``GET|POST /_sim/behaviour``  misbehave: ``fail_pulls``, ``fail_writebacks`` (answer 503 so many
                          times), ``timeout_pulls``, ``timeout_writebacks`` (hang so many times),
                          ``repeat_pages`` (serve a page without moving the cursor so many times),
                          ``reset_cursor`` (serve the next pull from the start), ``push_to`` (the
                          gateway's channel URL pushes go to; with it set every injected order is pushed)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hmac
import json
import os
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import aiohttp
from aiohttp import web

from adapters.feed.decode import sign, signed_headers
from normalizer import SHANGHAI

DEFAULT_APP_KEY = "demo-governor-hotline-app-key"
DEFAULT_APP_SECRET = "demo-governor-hotline-app-secret"
BEHAVIOURS = ("fail_pulls", "fail_writebacks", "timeout_pulls", "timeout_writebacks", "repeat_pages")


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"code": status, "message": message}, status=status)


@dataclass
class Simulator:
    app_key: str = DEFAULT_APP_KEY
    app_secret: str = DEFAULT_APP_SECRET
    replay_window: int = 300
    hang_seconds: float = 60.0
    orders: list[dict[str, Any]] = field(default_factory=list)
    writebacks: list[dict[str, Any]] = field(default_factory=list)
    behaviour: dict[str, Any] = field(default_factory=dict)
    pulls: int = 0
    _nonces: set[str] = field(default_factory=set)
    _feedback_ids: set[str] = field(default_factory=set)
    _closing: asyncio.Event = field(default_factory=asyncio.Event)

    def make_app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/orders", self.list_orders)
        app.router.add_post("/orders/{order_no}/feedback", self.feedback)
        app.router.add_post("/_sim/orders", self.inject)
        app.router.add_get("/_sim/orders", self.show_orders)
        app.router.add_get("/_sim/writebacks", self.show_writebacks)
        app.router.add_post("/_sim/push", self.push_one)
        app.router.add_get("/_sim/behaviour", self.show_behaviour)
        app.router.add_post("/_sim/behaviour", self.set_behaviour)

        async def closing(_app: web.Application) -> None:
            self._closing.set()

        app.on_shutdown.append(closing)
        return app

    # --- the platform's API ---------------------------------------------------------------------

    def _verify(self, request: web.Request, body: bytes) -> str | None:
        h = request.headers
        key, stamp, nonce = h.get("X-App-Key", ""), h.get("X-Timestamp", ""), h.get("X-Nonce", "")
        if not hmac.compare_digest(key.encode(), self.app_key.encode()) or not stamp.isdigit():
            return "unknown app key"
        if abs(time.time() - int(stamp)) > self.replay_window:
            return "timestamp outside the replay window"
        expected = sign(key, self.app_secret, stamp, nonce, body)
        if not hmac.compare_digest(h.get("X-Signature", "").encode(), expected.encode()):
            return "bad signature"
        if not nonce or nonce in self._nonces:
            return "nonce missing or used already"
        self._nonces.add(nonce)
        return None

    def _take(self, name: str) -> bool:
        count = int(self.behaviour.get(name, 0) or 0)
        if count > 0:
            self.behaviour[name] = count - 1
            return True
        return False

    async def _hang(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), self.hang_seconds)

    async def list_orders(self, request: web.Request) -> web.Response:
        if problem := self._verify(request, b""):
            return _error(401, problem)
        self.pulls += 1
        if self._take("timeout_pulls"):
            await self._hang()
        if self._take("fail_pulls"):
            return _error(503, "the platform is busy")
        try:
            cursor = int(request.query.get("cursor") or 0)
            limit = max(1, min(int(request.query.get("limit") or 50), 500))
        except ValueError:
            return _error(400, "cursor and limit are integers")
        if self.behaviour.pop("reset_cursor", False):
            cursor = 0
        end = min(cursor + limit, len(self.orders))
        page = self.orders[cursor:end]
        if self._take("repeat_pages"):
            return web.json_response(
                {"code": 0, "orders": page, "next_cursor": str(cursor), "has_more": bool(page)}
            )
        return web.json_response(
            {"code": 0, "orders": page, "next_cursor": str(end), "has_more": end < len(self.orders)}
        )

    async def feedback(self, request: web.Request) -> web.Response:
        body = await request.read()
        if problem := self._verify(request, body):
            return _error(401, problem)
        if self._take("timeout_writebacks"):
            await self._hang()
        if self._take("fail_writebacks"):
            return _error(503, "the platform is busy")
        number = request.match_info["order_no"]
        if not any(o["order_no"] == number for o in self.orders):
            return _error(404, f"no work order {number}")
        try:
            data = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            return _error(400, "not JSON")
        if not isinstance(data, dict):
            return _error(400, "a write-back is a JSON object")
        feedback_id = str(data.get("feedback_id", ""))
        if feedback_id and feedback_id in self._feedback_ids:
            return web.json_response({"code": 0, "message": "ok (already taken)"})
        self._feedback_ids.add(feedback_id)
        self.writebacks.append(data)
        return web.json_response({"code": 0, "message": "ok"})

    # --- control ----------------------------------------------------------------------------------

    def add_order(self, data: dict[str, Any]) -> dict[str, Any]:
        number = str(data.get("id") or f"SIM-{uuid.uuid4().hex[:10]}")
        now = datetime.now(SHANGHAI).replace(microsecond=0)
        order = {
            "order_no": number,
            "title": str(data.get("title", "")),
            "content": str(data.get("content", "")),
            "category": data.get("category"),
            "citizen": {"name": data.get("name"), "phone": data.get("phone")},
            "address": data.get("address"),
            "deadline": (now + timedelta(days=float(data.get("deadline_days", 5)))).isoformat(),
            "supervised": bool(data.get("supervised", False)),
            "created_at": now.isoformat(),
        }
        self.orders.append(order)
        return order

    async def push(self, order: dict[str, Any], url: str) -> dict[str, Any]:
        body = json.dumps(order, ensure_ascii=False).encode()
        headers = signed_headers(self.app_key, self.app_secret, int(time.time()), uuid.uuid4().hex, body)
        headers["Content-Type"] = "application/json"
        try:
            async with (
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session,
                session.post(url, data=body, headers=headers) as response,
            ):
                return {"status": response.status, "body": (await response.text())[:1000]}
        except (aiohttp.ClientError, TimeoutError) as e:
            return {"status": None, "error": type(e).__name__}

    async def _json(self, request: web.Request) -> dict[str, Any]:
        try:
            data = json.loads(await request.read() or b"{}")
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise web.HTTPBadRequest(text='{"error": "not JSON"}', content_type="application/json") from None
        if not isinstance(data, dict):
            raise web.HTTPBadRequest(text='{"error": "send an object"}', content_type="application/json")
        return data

    async def inject(self, request: web.Request) -> web.Response:
        data = await self._json(request)
        if any(o["order_no"] == str(data.get("id")) for o in self.orders):
            return _error(409, "a work order with this id exists")
        try:
            order = self.add_order(data)
        except (TypeError, ValueError) as e:
            return _error(400, str(e))
        result: dict[str, Any] = {"order": order}
        push_to = data.get("push") if isinstance(data.get("push"), str) else self.behaviour.get("push_to")
        if push_to:
            result["pushed"] = await self.push(order, str(push_to))
        return web.json_response(result, status=201)

    async def push_one(self, request: web.Request) -> web.Response:
        data = await self._json(request)
        url = data.get("to") or self.behaviour.get("push_to")
        order = next((o for o in self.orders if o["order_no"] == str(data.get("id"))), None)
        if order is None or not url:
            return _error(400, "give the id of an injected order, and 'to' (or set push_to)")
        return web.json_response(await self.push(order, str(url)))

    async def show_orders(self, request: web.Request) -> web.Response:
        return web.json_response(self.orders)

    async def show_writebacks(self, request: web.Request) -> web.Response:
        return web.json_response(self.writebacks)

    async def show_behaviour(self, request: web.Request) -> web.Response:
        return web.json_response(self.behaviour | {"pulls": self.pulls})

    async def set_behaviour(self, request: web.Request) -> web.Response:
        data = await self._json(request)
        unknown = set(data) - {*BEHAVIOURS, "reset_cursor", "push_to"}
        if unknown:
            return _error(400, f"unknown behaviours: {sorted(unknown)}")
        self.behaviour.update(data)
        return web.json_response(self.behaviour)


def add_parser(sub: Any) -> None:
    """The ``simulate-upstream`` subcommand (gateway/cli.py adds it)."""
    p = sub.add_parser("simulate-upstream", help="a stand-in upstream platform for the feed kind")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8090)
    p.add_argument("--app-key", default=os.environ.get("GOVERNOR_HOTLINE_APP_KEY", DEFAULT_APP_KEY))
    p.add_argument("--app-secret", default=os.environ.get("GOVERNOR_HOTLINE_APP_SECRET", DEFAULT_APP_SECRET))
    p.add_argument(
        "--push-to", help="push injected orders here, e.g. http://127.0.0.1:8080/channels/governor-hotline"
    )
    p.set_defaults(fn=run)


def run(args: argparse.Namespace) -> int:
    simulator = Simulator(app_key=args.app_key, app_secret=args.app_secret)
    if args.push_to:
        simulator.behaviour["push_to"] = args.push_to
    print(f"upstream platform simulator on http://{args.host}:{args.port} (see /_sim/*)", flush=True)
    web.run_app(simulator.make_app(), host=args.host, port=args.port, print=None)
    return 0

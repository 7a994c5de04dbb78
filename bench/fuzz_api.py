"""Fuzz the gateway's own HTTP surfaces (operators, units, citizens, health, dashboard) with hypothesis.

For each surface (an OpenAPI tag), requests are drawn from the generated ``/openapi.json``: its routes,
their declared query parameters and body fields, filled with what breaks parsers (NaN, infinities,
negatives, 5,000-digit integers, Unicode digits such as ``²``, lone surrogates, bytes that are not
UTF-8, JSON nested 100,000 deep, over-long strings, unknown fields, wrong content types, bad tokens),
and sent over HTTP to a real gateway on 127.0.0.1 (real Redis, its own key namespace). Every answer
must be below 500, and every refusal a JSON error.

    python -m bench.fuzz_api [--examples N] [--surface TAG ...] [--seed S]     # make fuzz: N=100000

Exit status 1 when any answer was a 5xx the document does not declare (``/readyz`` declares 503) or a
refusal not in JSON; the first few are printed. A request line or header over 8 KiB is refused by
aiohttp's HTTP parser before any route, with its own plain-text 400: counted as status ``-400``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import aiohttp
import redis.asyncio as aioredis
from aiohttp import web
from hypothesis import strategies as st
from yarl import URL

from bench._common import ROOT
from bench.fuzz import in_rounds
from gateway import logging as gateway_logging
from gateway.api.deliveries import MAX_WAIT
from gateway.app import create_app
from gateway.config import load_config
from gateway.progress import track
from gateway.registry import load_kinds
from gateway.runtime import Runtime
from gateway.store import Keys, client

SURFACES = ("operators", "units", "citizens", "health", "dashboard")
SKIP = {
    "/api/v1/routing/reload",  # re-reads config/ from disk: its own tests cover it
    "/metrics",  # takes no input, and a scrape reads every unit's health from Redis (~0.2 s)
}
OPERATOR = "fuzz-operator-token"
NUMBERS = ["nan", "NaN", "inf", "-inf", "Infinity", "-1", "0", "1", "30", "31", "1e400", "9" * 5000]
NUMBERS += ["²", "١٢", "１２", "1_0", "0x10", " 5", "", "1.5", "-0", "99999999999999999999", "1e-400"]
TEXTS = ["\ud800", "x" * 5000, "../../etc/passwd", "\x00", "BB-20261129-000042", "2026-11-29T08:00:00"]
TEXTS += ["2026-11-29T08:00:00+08:00", "9999-12-31T23:59:59+14:00", "-1e20", "gas-supply", "丨", "%"]
JSON_FRAGMENTS = ['"\\ud800"', '"\\udfff\\ud800"', "9" * 5000, "-" + "9" * 5000, "1e999", "NaN", "Infinity"]
JSON_FRAGMENTS += ["[" * 5000 + "]" * 5000, '{"a":' * 3000 + "1" + "}" * 3000, '"' + "长" * 20000 + '"']
JSON_FRAGMENTS += ["null", "true", "[]", "{}", '"²"', "-0", "1.5", '"2026-11-29T08:00:00+08:00"']
RAW_BODIES = [b"", b"{", b"\xff\xfe", b"[" * 100_000 + b"]" * 100_000, b'{"type": "\xed\xa0\x80"}', b"\x00"]
CONTENT_TYPES = ["application/json"] * 6 + ["text/plain", "application/x-www-form-urlencoded", ""]
CONTENT_TYPES += ["application/json; charset=latin-1", "multipart/form-data; boundary=x"]


@dataclass
class Surface:
    """The operations of one tag, from the generated document."""

    operations: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)


@dataclass
class Request:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes | None
    declared: set[int] = field(default_factory=set)
    """Statuses the document gives the operation (``/readyz`` declares its 503)."""


class Target:
    """A gateway on 127.0.0.1 with a unit token, an appeal and its document."""

    def __init__(self, redis_url: str) -> None:
        self.redis_url = redis_url
        self.namespace = f"hlfuzz-{uuid.uuid4().hex[:10]}"
        self.loop = asyncio.new_event_loop()
        self.base = ""
        self.document: dict[str, Any] = {}
        self.values: dict[str, list[str]] = {}
        self.auth: dict[str, str] = {}

    def start(self) -> None:
        self.loop.run_until_complete(self._start())

    async def _start(self) -> None:
        registry = load_kinds(strict=False)
        env = {"OPERATOR_TOKEN": OPERATOR, "UNIT_WEBHOOK_BASE": "http://127.0.0.1:9"}
        config = load_config(ROOT / "config", kinds=registry.kinds, env=env)
        self.redis: aioredis.Redis = client(self.redis_url)
        runtime = Runtime(config, self.redis, Keys(self.namespace), registry, env=env)
        self.keys = runtime.keys
        self.runner = web.AppRunner(create_app(runtime), handler_cancellation=False)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        host, port = self.runner.addresses[0][:2]
        self.base = f"http://{host}:{port}"
        self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20))
        async with self.session.get(self.base + "/openapi.json") as response:
            self.document = await response.json()
        unit_token = (await runtime.credentials.get("gas-supply")).api_token
        self.auth = {"operators": f"Bearer {OPERATOR}", "units": f"Bearer {unit_token}"}
        form = {
            "service_code": "complaint",
            "description": "小区燃气泄漏，煤气味很重",
            "phone": "13912341234",
        }
        portal = next(c for c in config.channels if c.kind == "portal" and c.enabled)
        form["api_key"] = portal.settings.api_key.get_secret_value()  # type: ignore[union-attr]
        async with self.session.post(self.base + "/open311/v2/requests.json", data=form) as response:
            appeal_no = (await response.json())[0]["service_request_id"]
        self.values = {
            "unit_id": ["gas-supply", "water-supply", "centre", "no-such-unit", *TEXTS],
            "appeal_no": [appeal_no, "BB-20260101-000001", *TEXTS],
            "delivery_id": [f"msg_{appeal_no}_1", *TEXTS],
            "name": ["app.js", "style.css", "index.html", *TEXTS],
        }

    def surface(self, tag: str) -> Surface:
        found = Surface()
        for path, item in self.document["paths"].items():
            for method, op in item.items():
                if tag in op.get("tags", ()) and path not in SKIP:
                    found.operations.append((method.upper(), path, op))
        return found

    def send(self, request: Request) -> tuple[int, str, bytes]:
        return self.loop.run_until_complete(self._send(request))

    async def _send(self, request: Request) -> tuple[int, str, bytes]:
        if request.url.startswith("/api/v1/inquiry"):  # reach the parser, not only the rate limit
            await self.redis.delete(self.keys.k("inquiry", "addr", "127.0.0.1"))
        url = URL(self.base + request.url, encoded=True)
        polls = long_poll(url)
        try:
            async with self.session.request(
                request.method,
                url,
                headers=request.headers,
                data=request.body,
                timeout=aiohttp.ClientTimeout(total=LONG_POLL_CUT if polls else 20),
            ) as response:
                return response.status, response.headers.get("Content-Type", ""), await response.read()
        except TimeoutError:
            if polls:  # an inbox with nothing in it, waiting as asked: cut short (the wait ends too)
                return LONG_POLL, "", b""
            raise

    def close(self) -> None:
        self.loop.run_until_complete(self._close())
        self.loop.close()

    async def _close(self) -> None:
        await self.session.close()
        await self.runner.cleanup()
        async for key in self.redis.scan_iter(match=Keys(self.namespace).pattern, count=1000):
            await self.redis.delete(key)
        await self.redis.aclose(close_connection_pool=True)


LONG_POLL = -1  # the status counted for a valid long poll of an empty inbox, cut short by the client
LONG_POLL_CUT = 1.0


def long_poll(url: URL) -> bool:
    """A unit inbox read asking for a valid wait above the cut (a finite number of seconds up to
    the inbox's limit): the gateway rightly holds it that long. Any other request that times out is
    a hang (as ``wait=nan`` once was), and fails the run."""
    if not url.path.endswith("/inbox") or "wait" not in url.query:
        return False
    try:
        wait = float(url.query["wait"])
    except ValueError:
        return False
    return LONG_POLL_CUT <= wait <= MAX_WAIT


def _encode(value: str) -> str:
    return quote(value, safe="", errors="surrogatepass")


@st.composite
def _value(draw: st.DrawFn, schema: dict[str, Any] | None = None) -> str:
    """A query or path value: something from the pools, a declared example, or any text."""
    pools = [NUMBERS, TEXTS, (schema or {}).get("examples") or ["x"]]
    if draw(st.integers(0, 3)) == 0:
        return draw(st.text(max_size=30))
    return str(draw(st.sampled_from(draw(st.sampled_from(pools)))))


@st.composite
def _json_value(draw: st.DrawFn, schema: dict[str, Any]) -> str:
    """One JSON value as text (so it may be what ``json.dumps`` would never write)."""
    choice = draw(st.integers(0, 5))
    if choice == 0:
        return draw(st.sampled_from(JSON_FRAGMENTS))
    if choice == 1:
        return json.dumps(draw(st.floats() | st.integers(-(10**30), 10**30)))
    if choice == 2:
        return json.dumps(draw(st.text(max_size=40)), ensure_ascii=draw(st.booleans()))
    enum = schema.get("enum") or [e.get("const") for e in schema.get("anyOf", []) if "const" in e]
    if enum and choice >= 4:
        return json.dumps(draw(st.sampled_from(enum)))
    return json.dumps(draw(st.sampled_from([None, 0, 1, 5, 61, "", "signed", "approve", [], {}])))


def _properties(document: dict[str, Any], op: dict[str, Any]) -> dict[str, Any]:
    content = op.get("requestBody", {}).get("content", {})
    schema = next(iter(content.values()), {}).get("schema", {})
    if "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    props: dict[str, Any] = schema.get("properties", {})
    return props


@st.composite
def requests(draw: st.DrawFn, target: Target, tag: str, surface: Surface) -> Request:
    method, path, op = draw(st.sampled_from(surface.operations))
    declared = {int(code) for code in op.get("responses", {}) if code.isdigit()}
    url = path
    for name in [p["name"] for p in op.get("parameters", []) if p["in"] == "path"]:
        raw = draw(st.sampled_from(target.values.get(name, TEXTS)) | _value())
        url = url.replace("{" + name + "}", _encode(raw) or "x")
    pairs = [
        f"{_encode(p['name'])}={_encode(draw(_value(p['schema'])))}"
        for p in op.get("parameters", [])
        if p["in"] == "query" and draw(st.booleans())
    ]
    if draw(st.integers(0, 4)) == 0:
        junk = st.sampled_from(["%zz=1", "a=%ff%fe", "limit=1&limit=2", "x=1", "=", "&&", "%ed%a0%80=1"])
        pairs.append(draw(junk | st.builds(lambda k, v: f"{_encode(k)}={_encode(v)}", st.text(), st.text())))
    if pairs:
        url += "?" + "&".join(pairs)
    headers = {}
    token = target.auth.get(tag)
    if token is not None:
        headers["Authorization"] = draw(st.sampled_from([token] * 8 + ["Bearer nope", "Basic x", ""]))
    body: bytes | None = None
    if method == "POST":
        props = _properties(target.document, op)
        kind = draw(st.integers(0, 4))
        if kind == 0:
            body = draw(st.sampled_from(RAW_BODIES) | st.binary(max_size=200))
        elif props and kind < 4:
            chosen = draw(st.lists(st.sampled_from(sorted(props)), unique=True))
            if draw(st.integers(0, 5)) == 0:
                chosen.append("unknown_field")
            fields = [f"{json.dumps(n)}: {draw(_json_value(props.get(n, {})))}" for n in chosen]
            body = ("{" + ", ".join(fields) + "}").encode("utf-8", "surrogatepass")
        else:
            body = draw(st.sampled_from(JSON_FRAGMENTS)).encode("utf-8", "surrogatepass")
        content_type = draw(st.sampled_from(CONTENT_TYPES))
        if content_type:
            headers["Content-Type"] = content_type
    return Request(method, url, headers, body, declared)


@dataclass
class Findings:
    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)


def fuzz(target: Target, tag: str, examples: int, at_seed: int) -> Findings:
    """Send ``examples`` drawn requests to one surface; every answer checked."""
    surface = target.surface(tag)
    findings = Findings()
    ticks = track(range(examples), f"fuzz {tag}")  # a bar on a terminal, silent when piped

    def one(request: Request) -> None:
        next(ticks, None)
        status, content_type, body = target.send(request)
        problem = ""
        if status == 400 and content_type.startswith("text/plain") and b"bytes when reading" in body:
            status = -400  # aiohttp's HTTP parser: a request line or header over 8 KiB
        elif status >= 500 and status not in request.declared:
            problem = "a server error"
        elif status >= 400 and not content_type.startswith("application/json"):
            problem = "a refusal that is not JSON"
        elif status >= 400 and "error" not in json.loads(body):
            problem = "a refusal without an error object"
        findings.statuses[status] += 1
        if problem and len(findings.failures) < 20:
            findings.failures.append(
                f"{problem}: {request.method} {request.url[:200]} -> {status} {body[:200]!r}"
            )

    in_rounds(requests(target, tag, surface), examples, one, first_seed=at_seed)
    ticks.close()
    return findings


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fuzz_api", description=__doc__.split("\n")[0])
    parser.add_argument("--examples", type=int, default=1000, help="requests per surface")
    parser.add_argument("--surface", action="append", choices=SURFACES, help="default: every one")
    parser.add_argument("--seed", type=int, default=12345)
    args = parser.parse_args(argv)
    logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)  # the parser's refusals, counted
    gateway_logging.configure("ERROR")  # the gateway's warnings (feeds without a platform) are noise here
    target = Target(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    target.start()
    failed = False
    try:
        for tag in args.surface or SURFACES:
            began = time.perf_counter()
            findings = fuzz(target, tag, args.examples, args.seed)
            seconds = time.perf_counter() - began
            total = sum(findings.statuses.values())
            statuses = dict(sorted(findings.statuses.items()))
            print(f"{tag}: {total} requests in {seconds:.0f} s, answers {statuses}", flush=True)
            for failure in findings.failures:
                print(f"  {failure}", flush=True)
            failed = failed or bool(findings.failures)
    finally:
        target.close()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

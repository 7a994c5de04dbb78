"""Fuzzing every inbound channel surface: whatever arrives, never a 5xx and never a crash.

    .venv/bin/python -m bench.fuzz [--examples N] [--redis URL] [--json] [SURFACE ...]

    make fuzz            # every surface, 100,000 inputs each

A surface is one module ``bench/fuzz_<name>.py`` with ``requests(config) -> SearchStrategy[Req]``:
the requests a platform (or an attacker) could send it, signed with the channel's own credentials
so they reach the parsers, mixed with unsigned ones and with hostile bodies (:func:`hostile_json`,
:func:`values`: nesting 100,000 deep, 5,000-digit integers, lone surrogates, ``NaN``, Unicode
digits, over-long fields). Hypothesis draws them in a worker thread and sends each over a kept-alive
HTTP connection to a gateway serving the sample configuration in this process, on real Redis (a
namespace of its own, removed afterwards; routing workers off, so stored appeals stay put).

Reported per surface: inputs sent, answers by status class, 5xx (with the first few requests that
caused one) and crashes (the connection dropped or no HTTP answer). Exit status 1 on any 5xx or crash.
The tests run each surface briefly (``tests/adapters/<kind>/test_fuzz.py``, :func:`fuzz_briefly`).
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import importlib
import json
import logging
import re
import sys
import time
import uuid
import warnings
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from hypothesis.errors import HypothesisWarning

from gateway.progress import progress

SURFACES = ("portal", "wechat", "weibo", "sms", "phone", "feed")
CHUNK = 1000
MAX_LINE = 8190
DEEP = 100_000


@dataclass(frozen=True)
class Req:
    method: str
    path: str
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)

    def target(self) -> str:
        path = quote(self.path, safe="/")
        return path + ("?" + urlencode(self.params, errors="surrogatepass") if self.params else "")


@dataclass
class Tally:
    surface: str
    sent: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    server_errors: int = 0
    crashes: int = 0
    examples: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def record(self, req: Req, status: int | None, detail: str = "") -> None:
        self.sent += 1
        if status is None and len(req.target()) > MAX_LINE:
            # aiohttp refuses a request line over 8,190 bytes with a 400 and closes the connection
            # before reading the body: the client, still sending, sees a reset. Not a gateway crash.
            self.statuses["line_too_long"] += 1
            return
        if status is None:
            self.crashes += 1
        elif status >= 500:
            self.server_errors += 1
        self.statuses["crash" if status is None else f"{status // 100}xx"] += 1
        if (status is None or status >= 500) and len(self.examples) < 5:
            self.examples.append(
                f"{status} {req.method} {req.target()[:200]} {req.body[:200]!r} {detail[:200]}"
            )

    def as_dict(self) -> dict[str, Any]:
        return {
            "surface": self.surface,
            "inputs": self.sent,
            "statuses": dict(self.statuses),
            "5xx": self.server_errors,
            "crashes": self.crashes,
            "seconds": round(self.seconds, 1),
            "per_second": round(self.sent / self.seconds) if self.seconds else None,
            "examples": self.examples,
        }


# --- hostile values, shared by every surface ---------------------------------------------------

SURROGATES = st.sampled_from(["\ud800", "a\udfffb", "\udbff\udc00\ud800"])
UNICODE_DIGITS = st.sampled_from(["²", "١٢٣", "１２３", "٣.٥", "⁹⁹", "𝟗"])
NUMBERISH = st.sampled_from(["NaN", "nan", "inf", "-Infinity", "1e999", "-0", "0x1f", "1_000", " 1 ", ""])


def long_text(low: int = 1900, high: int = 30_000) -> st.SearchStrategy[str]:
    return st.builds(lambda n, c: c * n, st.integers(low, high), st.sampled_from(["x", "汉", "/", "9"]))


TEXT = st.one_of(
    st.text(max_size=40),
    UNICODE_DIGITS,
    NUMBERISH,
    SURROGATES,
    long_text(),
    st.integers(-(10**30), 10**30).map(str),
)
BIG = "\x00big:"
"""A marker :func:`dumps` and :func:`form` turn into that many digits: Python itself refuses to
convert an integer of more than 4,300 digits to text, so the fuzzer never holds it as an int."""
_BIG = re.compile(r'"\\u0000big:([0-9]+)"')


def _digits(match: re.Match[str]) -> str:
    return "9" * int(match.group(1))


SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(4000, 6000).map(lambda n: f"{BIG}{n}"),
    st.floats(allow_nan=True, allow_infinity=True),
    TEXT,
)


def values(scalars: st.SearchStrategy[Any] = SCALARS) -> st.SearchStrategy[Any]:
    """JSON-ish values: scalars (hostile ones among them), and lists and objects of them."""
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
        max_leaves=8,
    )


def dumps(value: Any, ascii_only: bool = True) -> bytes:
    """JSON as a careless or hostile platform writes it: NaN allowed, lone surrogates escaped (or,
    with ``ascii_only`` False, written raw as invalid UTF-8)."""
    text = json.dumps(value, allow_nan=True, ensure_ascii=ascii_only, default=str)
    return _BIG.sub(_digits, text).encode("utf-8", "surrogatepass")


def hostile_json() -> st.SearchStrategy[bytes]:
    """Whole bodies no parser may answer with a 5xx."""
    return st.one_of(
        st.integers(1, DEEP).map(lambda n: b"[" * n + b"]" * n),
        st.integers(1, DEEP // 5).map(lambda n: b'{"a":' * n + b"1" + b"}" * n),
        st.integers(4000, 6000).map(lambda n: b'{"a": ' + b"9" * n + b"}"),
        st.sampled_from(
            [
                b'{"a": "\\ud800"}',
                b'{"\\udfff": 1}',
                b'{"a": NaN}',
                b'{"a": -Infinity}',
                b'{"a": 1e999}',
                b"\xef\xbb\xbf{}",
                b'{"a": "\xed\xa0\x80"}',
                b"\xff\xfe{\x00}\x00",
                b"",
                b"null",
                b'"text"',
                b"[]",
            ]
        ),
        st.binary(max_size=300),
    )


def body(fields: st.SearchStrategy[Any]) -> st.SearchStrategy[bytes]:
    """A body made of ``fields`` (JSON, raw UTF-8 or ASCII-escaped), or a hostile one."""
    return st.one_of(
        st.builds(dumps, fields, st.booleans()),
        hostile_json(),
    )


def form(fields: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[bytes]:
    """A form-encoded body of ``fields`` (values as text, surrogates as invalid UTF-8 escapes)."""

    def encode(data: dict[str, Any]) -> bytes:
        pairs = [(k, v if isinstance(v, str) else json.dumps(v, default=str)) for k, v in data.items()]
        pairs = [(k, "9" * int(v[len(BIG) :]) if v.startswith(BIG) else v) for k, v in pairs]
        return urlencode(pairs, encoding="utf-8", errors="surrogatepass").encode()

    return st.one_of(fields.map(encode), st.binary(max_size=200))


def fields_of(
    names: Sequence[str],
    plausible: dict[str, st.SearchStrategy[Any]],
    base: dict[str, Any] | None = None,
) -> st.SearchStrategy[dict[str, Any]]:
    """Objects with some of ``names``, each value plausible for its field or hostile, over ``base``
    (a valid message) when given, so that some get through to the store."""
    changes = st.fixed_dictionaries(
        {}, optional={name: st.one_of(plausible.get(name, TEXT), SCALARS, values()) for name in names}
    )
    if base is None:
        return changes
    return st.one_of(changes, st.builds(lambda extra: {**base, **extra}, changes), st.just(base))


HEADER_TEXT = TEXT.map(
    lambda t: "".join(
        c if 32 <= ord(c) < 127 or 160 <= ord(c) < 256 else "?"
        for c in t.encode("utf-8", "replace").decode("latin-1")
    )
)
"""Header values as HTTP carries them: latin-1 without control characters (bytes that are not
UTF-8 reach the gateway as lone surrogates), hostile otherwise."""


# --- sending -------------------------------------------------------------------------------------


class Sender:
    """One kept-alive HTTP/1.1 connection; a dropped one is counted as a crash and reopened."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def send(self, req: Req) -> tuple[int | None, str]:
        headers = {"Content-Length": str(len(req.body))} | req.headers
        try:
            self.conn.request(req.method, req.target(), body=req.body, headers=headers)
            response = self.conn.getresponse()
            text = response.read()
        except (http.client.HTTPException, OSError) as e:
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            return None, repr(e)
        if response.getheader("Connection", "").lower() == "close":
            self.conn.close()
        return response.status, text[:200].decode("utf-8", "replace")


def fuzz(
    port: int,
    surface: str,
    strategy: st.SearchStrategy[Req],
    examples: int,
    *,
    derandomize: bool = False,
    progress: Callable[[int], None] | None = None,
) -> Tally:
    """Send ``examples`` requests drawn from ``strategy`` to 127.0.0.1:``port`` (blocking: run it in a
    thread beside the gateway's event loop). ``derandomize`` draws the same inputs every run;
    ``progress(n)`` is told after each run of ``n`` inputs."""
    tally = Tally(surface)
    sender = Sender(port)
    started = time.perf_counter()

    def one(req: Req) -> None:
        status, detail = sender.send(req)
        tally.record(req, status, detail)
        tally.seconds = time.perf_counter() - started

    in_rounds(strategy, examples, one, first_seed=0 if derandomize else None, progress=progress)
    tally.seconds = time.perf_counter() - started
    sender.conn.close()
    return tally


def in_rounds(
    strategy: st.SearchStrategy[Any],
    examples: int,
    test: Callable[[Any], None],
    *,
    first_seed: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> None:
    """Call ``test`` with ``examples`` values drawn from ``strategy``, generation only (no shrinking,
    no database). Hypothesis slows down as one run's example tree grows (a run of 100,000 once took
    37 minutes for its first 20,000), so they are drawn as runs of ``CHUNK``, each freshly seeded:
    ``first_seed``, ``first_seed + 1``, ... (the same inputs every time), or at random when it is None.
    ``progress(n)`` is told after each run of ``n``."""
    warnings.filterwarnings("ignore", category=HypothesisWarning)  # reprs of large examples
    for round_ in range(-(-examples // CHUNK)):
        size = min(CHUNK, examples - round_ * CHUNK)

        @settings(
            max_examples=size,
            deadline=None,
            database=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(value=strategy)
        def run(value: Any) -> None:
            test(value)

        (run if first_seed is None else seed(first_seed + round_)(run))()
        if progress is not None:
            progress(size)


async def fuzz_briefly(port: int, config: Any, surface: str, examples: int = 150) -> Tally:
    """A short run against a gateway already serving on ``port`` (the tests': the same inputs each run)."""
    strategy = strategy_of(surface)(config)
    return await asyncio.to_thread(fuzz, port, surface, strategy, examples, derandomize=True)


def strategy_of(surface: str) -> Callable[[Any], st.SearchStrategy[Req]]:
    module = importlib.import_module(f"bench.fuzz_{surface}")
    requests: Callable[[Any], st.SearchStrategy[Req]] = module.requests
    return requests


def nonce() -> str:
    return uuid.uuid4().hex[:16]


def settings_of(config: Any, channel_id: str) -> Any:
    """The settings model of one channel of ``config`` (its secrets sign the fuzzer's requests)."""
    (channel,) = [c for c in config.channels if c.id == channel_id]
    return channel.settings


def secret(value: Any) -> str:
    return str(value.get_secret_value())


# --- the gateway under test ----------------------------------------------------------------------


@asynccontextmanager
async def serving(redis_url: str) -> Any:
    """The sample configuration served in this process on real Redis, under a namespace of its own;
    Open311 read limits raised so the fuzzer reaches the parsers instead of the limiter."""
    import dataclasses

    from aiohttp.test_utils import TestServer

    from adapters.portal import PortalConfig
    from bench._common import ROOT
    from gateway.app import create_app
    from gateway.config import load_config
    from gateway.registry import load_kinds
    from gateway.runtime import Runtime
    from gateway.store import Keys, client

    registry = load_kinds(strict=True)
    nowhere = "http://127.0.0.1:9"  # nothing listens: no acknowledgement SMS leaves the machine
    env = {"UNIT_WEBHOOK_BASE": nowhere, "OPERATOR_TOKEN": f"fuzz-{nonce()}", "SMS_SEND_ENDPOINT": nowhere}
    config = load_config(ROOT / "config", kinds=registry.kinds, env=env)
    lenient = {"reads_per_minute_per_key": 100_000, "reads_per_minute_per_address": 100_000}
    channels = tuple(
        dataclasses.replace(c, settings=c.settings.model_copy(update=lenient))
        if isinstance(c.settings, PortalConfig)
        else c
        for c in config.channels
    )
    config = dataclasses.replace(config, channels=channels)
    redis = client(redis_url)
    keys = Keys(f"hlfuzz-channels-{uuid.uuid4().hex[:12]}")
    runtime = Runtime(config, redis, keys, registry, env=env)
    server = TestServer(create_app(runtime, workers=False), host="127.0.0.1")
    await server.start_server()
    try:
        assert server.port is not None
        yield config, server.port
    finally:
        await server.close()
        async for key in redis.scan_iter(match=keys.pattern, count=1000):
            await redis.delete(key)
        await redis.aclose()


async def run(surfaces: Sequence[str], examples: int, redis_url: str) -> list[Tally]:
    tallies = []
    async with serving(redis_url) as (config, port):
        for surface in surfaces:
            strategy = strategy_of(surface)(config)
            with progress(f"fuzz {surface}", total=examples) as advance:  # a bar on a terminal only
                tally = await asyncio.to_thread(fuzz, port, surface, strategy, examples, progress=advance)
            tallies.append(tally)
            # each surface's figures as it ends (a long run stopped early keeps what it reached)
            print(json.dumps(tally.as_dict(), ensure_ascii=False), file=sys.stderr, flush=True)
    return tallies


def report(tallies: Sequence[Tally]) -> Iterator[str]:
    yield f"{'surface':<8} {'inputs':>8} {'2xx':>7} {'4xx':>7} {'5xx':>5} {'crashes':>7} {'per s':>6}"
    for t in tallies:
        d = t.as_dict()
        yield (
            f"{t.surface:<8} {t.sent:>8} {t.statuses['2xx']:>7} {t.statuses['4xx']:>7} "
            f"{t.server_errors:>5} {t.crashes:>7} {d['per_second'] or 0:>6}"
        )
        yield from (f"    {example}" for example in t.examples)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("surfaces", nargs="*", metavar="SURFACE", help="any of " + ", ".join(SURFACES))
    parser.add_argument("--examples", type=int, default=100_000)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    from gateway.logging import configure

    configure("ERROR", sys.stderr)  # 100,000 requests would log as many lines
    logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)  # "Error handling request": a 400
    unknown = set(args.surfaces) - set(SURFACES)
    if unknown:
        parser.error(f"unknown surfaces {sorted(unknown)}; choose from {', '.join(SURFACES)}")
    tallies = asyncio.run(run(args.surfaces or SURFACES, args.examples, args.redis))
    if args.json:
        print(json.dumps([t.as_dict() for t in tallies], ensure_ascii=False, indent=2))
    else:
        print("\n".join(report(tallies)))
    return 1 if any(t.server_errors or t.crashes for t in tallies) else 0


if __name__ == "__main__":
    sys.exit(main())

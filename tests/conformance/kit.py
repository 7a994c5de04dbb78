"""The adapter conformance kit. A kind joins in a few lines:

    class TestMyKindConformance(AdapterConformance):
        kind = "mykind"
        channel_id = "my-channel"

        def valid_request(self) -> Req: ...
        def forged_request(self) -> Req: ...
        def malformed_requests(self) -> list[Req]: ...

Checks: forged credentials are refused (401/403, JSON, nothing stored); malformed input answers 4xx
JSON, never 5xx; hostile bodies under valid credentials (``signed(body)``: JSON nested 100,000 deep,
a 5,000-digit integer, a lone surrogate, NaN, bytes that are not UTF-8) answer 4xx JSON before
anything is stored; a short run of the kind's fuzz target (``bench/fuzz_<kind>.py``) answers no 5xx;
a retried message is stored once; the channel is answered only after the appeal is durably stored
(with the store down it gets a 503 and nothing is acknowledged); what is stored is a valid Appeal
with its raw payload kept. A kind that cannot take a check lists it in ``skips`` with its reason;
``test_meta.py`` fails on a skip without one.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pytest
import redis.asyncio as aioredis

from bench.fuzz import fuzz_briefly
from gateway.config import Config
from gateway.registry import Registry
from gateway.store import Keys
from normalizer import Appeal
from tests.conftest import Gateway, UnitReceiver, start_gateway

HOSTILE_JSON = [
    b"[" * 100_000 + b"]" * 100_000,
    b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    b'{"a": ' + b"9" * 5000 + b"}",
    b'{"content": "\\ud800", "text": "\\ud800"}',
    b'{"\\udfff": 1}',
    b'{"a": NaN}',
    b'{"a": -Infinity}',
    b'{"a": "\xed\xa0\x80"}',
    b"\xff\xfe{\x00}\x00",
]


@dataclass
class Req:
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    data: Any = None  # bytes, str or a dict sent as a form
    params: dict[str, str] = field(default_factory=dict)


async def send(gateway: Gateway, req: Req) -> Any:
    return await gateway.client.request(
        req.method, req.path, headers=req.headers, data=req.data, params=req.params
    )


async def stored_appeals(redis: aioredis.Redis, keys: Keys) -> list[str]:
    return [k.decode() async for k in redis.scan_iter(match=keys.appeal("*"), count=1000)]


class AdapterConformance:
    kind: ClassVar[str]
    channel_id: ClassVar[str]
    skips: ClassVar[dict[str, str]] = {}

    def valid_request(self) -> Req:
        raise NotImplementedError

    def forged_request(self) -> Req:
        raise NotImplementedError

    def malformed_requests(self) -> list[Req]:
        raise NotImplementedError

    def signed(self, body: bytes) -> Req:
        """The valid request's credentials around another body. The default swaps the body of
        :meth:`valid_request` (right for kinds that do not sign the body); a kind that signs or
        encrypts the body overrides it."""
        req = self.valid_request()
        req.data = body
        req.headers = req.headers | {"Content-Type": "application/json"}
        return req

    def hostile_bodies(self) -> list[bytes]:
        """What no parser may answer with a 5xx (a kind whose bodies are not JSON gives its own)."""
        return HOSTILE_JSON

    def _skip(self, check: str) -> None:
        if check in self.skips:
            pytest.skip(self.skips[check])

    async def test_forged_credentials_are_refused(
        self, gateway: Gateway, redis: aioredis.Redis, keys: Keys
    ) -> None:
        self._skip("forged")
        response = await send(gateway, self.forged_request())
        assert response.status in (401, 403)
        assert response.content_type == "application/json"
        await response.json()
        assert await stored_appeals(redis, keys) == []

    async def test_malformed_input_gets_4xx_json(
        self, gateway: Gateway, redis: aioredis.Redis, keys: Keys
    ) -> None:
        self._skip("malformed")
        requests = self.malformed_requests()
        assert requests, "give at least one malformed request"
        for req in requests:
            response = await send(gateway, req)
            assert 400 <= response.status < 500, (req, response.status, await response.text())
            assert response.content_type == "application/json", req
            await response.json()
        assert await stored_appeals(redis, keys) == []

    async def test_hostile_bodies_get_4xx_json_before_anything_is_stored(
        self, gateway: Gateway, redis: aioredis.Redis, keys: Keys
    ) -> None:
        self._skip("hostile")
        for body in self.hostile_bodies():
            response = await send(gateway, self.signed(body))
            assert 400 <= response.status < 500, (body[:60], response.status, await response.text())
            assert response.content_type == "application/json", body[:60]
            await response.json()
        assert await stored_appeals(redis, keys) == []

    async def test_a_short_fuzz_run_answers_no_5xx_and_never_crashes(self, gateway: Gateway) -> None:
        """150 inputs of the kind's fuzz target ``bench/fuzz_<kind>.py`` (``make fuzz``: 100,000)."""
        self._skip("fuzz")
        port = gateway.client.server.port
        assert port is not None
        tally = await fuzz_briefly(port, gateway.runtime.config, self.kind)
        assert tally.sent == 150
        assert (tally.server_errors, tally.crashes) == (0, 0), tally.examples
        assert tally.statuses["2xx"] > 0 and tally.statuses["4xx"] > 0  # valid ones got through too

    async def test_retried_message_is_stored_once(
        self, gateway: Gateway, redis: aioredis.Redis, keys: Keys
    ) -> None:
        self._skip("retry")
        first = await send(gateway, self.valid_request())
        second = await send(gateway, self.valid_request())
        assert first.status < 300 and second.status < 300
        assert len(await stored_appeals(redis, keys)) == 1

    async def test_acknowledged_only_after_durable_storage(
        self,
        config: Config,
        registry: Registry,
        receiver: UnitReceiver,
        redis: aioredis.Redis,
        keys: Keys,
    ) -> None:
        self._skip("durable")
        dead = aioredis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
        down = await start_gateway(config, dead, keys, registry, receiver, workers=False)
        try:
            response = await send(down, self.valid_request())
            assert response.status == 503
            assert response.content_type == "application/json"
            assert "Retry-After" in response.headers
        finally:
            await down.client.close()
            await dead.aclose()
        assert await stored_appeals(redis, keys) == []

    async def test_stored_appeal_is_valid_with_raw_payload(
        self, gateway: Gateway, redis: aioredis.Redis, keys: Keys
    ) -> None:
        self._skip("valid")
        response = await send(gateway, self.valid_request())
        assert response.status < 300
        (key,) = await stored_appeals(redis, keys)
        appeal = Appeal.model_validate_json(await redis.hget(key, "appeal"))
        assert appeal.channel_id == self.channel_id
        assert appeal.channel_kind == self.kind
        assert appeal.received_at.utcoffset() is not None
        assert appeal.raw is not None
        raw = await redis.get(appeal.raw.key)
        assert raw is not None and hashlib.sha256(raw).hexdigest() == appeal.raw.sha256

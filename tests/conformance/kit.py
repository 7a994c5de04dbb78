"""The adapter conformance kit. A kind joins in a few lines:

    class TestMyKindConformance(AdapterConformance):
        kind = "mykind"
        channel_id = "my-channel"

        def valid_request(self) -> Req: ...
        def forged_request(self) -> Req: ...
        def malformed_requests(self) -> list[Req]: ...

Checks: forged credentials are refused (401/403, JSON, nothing stored); malformed input answers 4xx
JSON, never 5xx; a retried message is stored once; the channel is answered only after the appeal is
durably stored (with the store down it gets a 503 and nothing is acknowledged); what is stored is a
valid Appeal with its raw payload kept. A kind that cannot take a check lists it in ``skips`` with
its reason; ``test_meta.py`` fails on a skip without one.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pytest
import redis.asyncio as aioredis

from gateway.config import Config
from gateway.registry import Registry
from gateway.store import Keys
from normalizer import Appeal
from tests.conftest import Gateway, UnitReceiver, start_gateway


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

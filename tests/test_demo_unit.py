"""The reference receiver a unit can run: verifies signatures and drops repeats."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestClient, TestServer

from gateway.credentials import CredentialStore
from gateway.delivery import EVENT_ASSIGNED, build_event, sign_headers
from gateway.demo_unit import make_app
from gateway.store import Keys


async def test_demo_unit_verifies_and_deduplicates(
    redis: aioredis.Redis, keys: Keys, capsys: pytest.CaptureFixture[str]
) -> None:
    store = CredentialStore(redis, keys)
    creds = await store.get("gas-supply")
    client = TestClient(TestServer(make_app(store, None)))
    await client.start_server()
    try:
        data = {
            "appeal": {"subject": "燃气泄漏"},
            "assignment": {"category": ["城乡建设"], "explanation": "because"},
        }
        now = datetime.now(UTC)
        headers, body = build_event(
            delivery_id="msg_1",
            source="/t",
            event_type=EVENT_ASSIGNED,
            subject="BB-20261129-000001",
            time=now,
            data=data,
        )
        good = headers | sign_headers("msg_1", body, [creds.webhook_secret], now)
        forged = headers | sign_headers("msg_1", body, ["whsec_" + "A" * 44], now)
        assert (await client.post("/units/gas-supply", data=body, headers=forged)).status == 401
        assert (await client.post("/units/gas-supply", data=body, headers=good)).status == 204
        assert (await client.post("/units/gas-supply", data=body, headers=good)).status == 204
        out = capsys.readouterr().out
        assert out.count("BB-20261129-000001") == 1 and "REFUSED" in out
        assert json.loads(body)["subject"] == "BB-20261129-000001"
    finally:
        await client.close()

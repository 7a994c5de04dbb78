"""``hotline-gateway serve`` on the Redis Cluster (``REDIS_CLUSTER=1``, ``REDIS_URL`` one node),
killed with SIGKILL while citizens post, then started again: every accepted appeal reaches its unit,
each under one ``webhook-id``; the CLI beside it reads the same cluster."""

from __future__ import annotations

import asyncio
import json
import signal
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from standardwebhooks import Webhook

from bench.redis_cluster import LocalCluster
from gateway.store import Keys, client, flush_namespace
from tests.conftest import UnitReceiver, eventually
from tests.test_serve import Served, post_until_accepted


@pytest.fixture
async def served(
    tmp_path: Path, receiver: UnitReceiver, redis_cluster: LocalCluster
) -> AsyncIterator[Served]:
    s = Served(tmp_path, receiver.url)
    namespace = f"hltest-{uuid.uuid4().hex[:12]}"
    s.env |= {
        "REDIS_URL": redis_cluster.url,
        "REDIS_CLUSTER": "1",
        "HOTLINE_REDIS_NAMESPACE": namespace,
        "HOTLINE_LOG_LEVEL": "WARNING",  # its output pipe is read only when it stops: keep it short
    }
    text = (s.config / "gateway.yaml").read_text(encoding="utf-8")
    for before, after in (
        ("claim_idle_seconds: 30", "claim_idle_seconds: 1"),  # the dead process's intake entries
        ("total_timeout_seconds: 10", "total_timeout_seconds: 1"),  # and the deliveries it had
        ("lease_margin_seconds: 30", "lease_margin_seconds: 1"),  # claimed: due again in 2 s
    ):
        assert before in text
        text = text.replace(before, after)
    (s.config / "gateway.yaml").write_text(text, encoding="utf-8")
    yield s
    if s.process is not None:
        if s.process.poll() is None:
            s.stop()
        else:
            s.process.communicate(timeout=30)
    redis = client(redis_cluster.url, cluster=True)
    await flush_namespace(redis, Keys(namespace, cluster=True))
    await redis.aclose()


async def test_kill_9_mid_load_then_restart_delivers_every_accepted_appeal_once(
    served: Served, receiver: UnitReceiver
) -> None:
    await served.start()
    accepted: dict[int, str] = {}

    async def citizen(i: int, session: aiohttp.ClientSession) -> None:
        accepted[i] = await post_until_accepted(session, served.url, i, f"k9-{i}")

    async def load(first: int, count: int) -> None:
        async with aiohttp.ClientSession() as session:
            for i in range(first, first + count, 10):  # ten citizens at a time
                await asyncio.gather(*(citizen(j, session) for j in range(i, min(i + 10, first + count))))

    posting = asyncio.create_task(load(0, 120))

    async def midway() -> bool:
        return len(accepted) >= 40

    await eventually(midway, 20)
    served.stop(signal.SIGKILL)  # with appeals half-posted, entries read, deliveries claimed
    await served.start()
    await posting
    numbers = set(accepted.values())
    assert len(numbers) == 120  # one appeal per idempotency key

    async def all_delivered() -> bool:
        return {r.json()["subject"] for r in receiver.received} >= numbers

    await eventually(all_delivered, 15)
    ids: dict[str, set[str]] = {}
    for r in receiver.received:
        ids.setdefault(r.json()["subject"], set()).add(r.headers["webhook-id"])
    assert set(ids) == numbers
    # each appeal delivered under one id; a delivery the kill caught between the unit's answer and
    # its mark is sent again under that id after the lease (at least once: units dedup by webhook-id)
    assert all(len(one) == 1 for one in ids.values())
    # the CLI beside it reads the same cluster: the unit's secret verifies what the unit received
    last = receiver.received[-1]
    creds = json.loads(served.cli("units", "credentials", last.unit))
    Webhook(creds["webhook_secret"]).verify(last.body, last.headers)
    logged = [json.loads(line) for line in served.stop().decode().splitlines() if line.startswith("{")]
    assert not [e for e in logged if e.get("level") in ("error", "critical")]  # no slot errors, say

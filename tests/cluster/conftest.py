"""The gateway on a Redis Cluster: a 3-master cluster of the machine's ``redis-server`` on loopback
for the session (``bench.redis_cluster.LocalCluster``); the ``redis`` and ``keys`` fixtures here
give every test of this folder the cluster client and a tagged namespace of its own, so the shared
fixtures (``gateway``, ``start_gateway``) run on the cluster unchanged."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
import redis.asyncio as aioredis

from bench.redis_cluster import LocalCluster, redis_server
from gateway.store import Keys, client, flush_namespace


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    if redis_server() is None:
        pytest.skip("redis-server is not installed: no Redis Cluster to test on")
    with LocalCluster(tmp_path_factory.mktemp("cluster")) as cluster:
        yield cluster


@pytest.fixture
def redis_url(redis_cluster: LocalCluster) -> str:
    return redis_cluster.url


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    redis = client(redis_url, cluster=True)
    yield redis
    await redis.aclose()


@pytest.fixture
async def keys(redis: aioredis.Redis) -> AsyncIterator[Keys]:
    """A tagged namespace of its own for each test (``{hltest-...}:...``); removed afterwards."""
    keys = Keys(f"hltest-{uuid.uuid4().hex[:12]}", cluster=True)
    yield keys
    await flush_namespace(redis, keys)

"""The gateway on a 3-master Redis Cluster: an appeal posted to the portal is stored, routed and
delivered; the loop's steps through the public API; every key of a namespace on one slot; ``/readyz``
not ready once the cluster is gone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestClient
from redis.crc import key_slot

from bench.redis_cluster import LocalCluster
from gateway.cluster import Cluster, ClusterUnavailable, _outage
from gateway.config import Config
from gateway.registry import Registry
from gateway.store import Keys, client, text
from tests.conftest import Gateway, UnitReceiver, eventually, start_gateway

# Retention's own test too: a filed appeal leaves the cluster (one pipeline of drop scripts) and no
# key, member, field or item of the namespace names it after; the operator API answers from SQL.
from tests.records.conftest import recording_with  # noqa: F401
from tests.records.test_retention import (  # noqa: F401
    api,
    test_a_filed_appeal_leaves_redis_and_is_still_answered_from_the_record,
)

# The closed loop's own tests, collected here too: the same steps through the public API (pass
# down, return, re-route, sign, reply, return visit, review, filing; the centre's assignment from
# the manual queue), with this folder's fixtures: on the cluster.
from tests.test_closed_loop import (  # noqa: F401
    test_the_whole_loop_with_a_pass_down_and_a_return,
    test_two_returns_go_to_the_manual_queue_and_the_centre_assigns,
)

GAS = "小区燃气泄漏，煤气味很重，请尽快处理"


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """The record of this folder's recording gateways: SQLite (the records tests run both)."""
    return f"sqlite+aiosqlite:///{tmp_path / 'record.db'}"


def test_on_a_single_redis_the_key_names_stay_as_they_were() -> None:
    single, tagged = Keys("hl"), Keys("hl", cluster=True)
    assert single.appeal("BB1") == "hl:appeal:BB1"
    assert single.delivery("{}") == "hl:delivery:{}"  # the scripts' key templates
    assert tagged.appeal("BB1") == "{hl}:appeal:BB1"
    assert tagged.delivery("{}") == "{hl}:delivery:{}"
    assert tagged.pattern == "{hl}:*"


async def test_an_appeal_is_stored_routed_and_delivered_with_every_key_on_one_slot(
    gateway: Gateway, redis: aioredis.Redis, keys: Keys
) -> None:
    assert isinstance(gateway.runtime.redis, Cluster)
    appeal_no = await gateway.post_appeal(description=GAS, phone="13912341234")
    record = await gateway.wait_state(appeal_no, "dispatched")
    (delivery,) = await gateway.receiver.wait_for(1)
    assert delivery.unit == record.unit == "gas-supply"
    assert delivery.json()["subject"] == appeal_no

    async def delivered() -> bool:
        return await redis.zcard(keys.unit_pending("gas-supply")) == 0

    await eventually(delivered)
    stored = [text(k) async for k in redis.scan_iter(match=keys.pattern, count=1000)]  # every master
    assert keys.appeal(appeal_no) in stored and keys.history(appeal_no) in stored
    assert keys.events in stored and keys.intake_stream in stored
    cluster = gateway.runtime.redis
    assert isinstance(cluster, Cluster)
    assert len({cluster.keyslot(k) for k in stored}) == 1
    assert len({cluster.get_node_from_key(k).name for k in stored}) == 1  # one master holds them


async def test_readyz_is_not_ready_once_the_master_of_its_slot_is_gone(
    tmp_path: Path, config: Config, registry: Registry, receiver: UnitReceiver
) -> None:
    """Not ready as soon as the master holding the namespace's slot is down (no replica took over),
    even while the other masters answer; then with no node at all."""
    with LocalCluster(tmp_path / "cluster") as cluster:
        redis = client(cluster.url, cluster=True)
        # a namespace whose slot is not on the node REDIS_URL names (that one holds slots 0-5460)
        keys = next(
            k for i in range(100) if key_slot((k := Keys(f"hlready{i}", cluster=True)).k("x").encode()) > 5460
        )
        gw = await start_gateway(config, redis, keys, registry, receiver)
        try:

            async def ready() -> bool:
                return await _ready(gw.client) == (200, True)

            await eventually(ready)
            assert isinstance(redis, Cluster)
            holder = redis.get_node_from_key(keys.k("ready"))
            assert holder is not None and holder.port != cluster.ports[0]  # not REDIS_URL's node
            cluster.kill(holder.port)

            async def unready() -> bool:
                return await _ready(gw.client) == (503, False)

            await eventually(unready, 10)
            cluster.kill()
            await eventually(unready, 10)
        finally:
            await gw.client.close()
            await redis.aclose()


async def _ready(http: TestClient) -> tuple[int, bool]:  # type: ignore[type-arg]
    r = await http.get("/readyz")
    return r.status, bool((await r.json())["checks"]["redis"])


def test_a_cluster_namespace_must_make_a_hash_tag() -> None:
    for bad in ("", "h{l", "h}l"):
        with pytest.raises(ValueError, match="without braces"):
            Keys(bad, cluster=True)
    assert Keys("", cluster=False).k("x") == ":x"  # as before on a single Redis


def test_a_connection_torn_down_inside_redis_py_is_an_outage_and_our_own_bugs_are_not() -> None:
    """During a failover redis-py's pipeline wrote to a connection the killed node had torn down and
    raised ``AttributeError`` (``/readyz`` answered 500); it is an unreachable store, as any outage."""
    torn: dict[str, Any] = {"__name__": "redis.asyncio.connection"}
    exec("def send(writer):\n    writer.writelines([b'PING'])", torn)  # as redis-py's module runs it
    with pytest.raises(ClusterUnavailable, match="torn down"), _outage():
        torn["send"](None)
    with pytest.raises(AttributeError), _outage():
        None.writelines([b"PING"])  # type: ignore[attr-defined]

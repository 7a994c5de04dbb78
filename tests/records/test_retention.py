"""Retention: a filed appeal leaves Redis once recorded (here at once: HOTLINE_RETENTION_DAYS=0), is
still answered by the operator API from the record, and never leaves before the record has it all."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.loop import HistoryEvent
from gateway.records.db import is_sqlite
from gateway.records.retention import Retention, due_query
from gateway.records.rows import appeal_row
from gateway.records.schema import appeals, raw_payloads
from gateway.store import Keys
from normalizer import SHANGHAI
from tests.conftest import PORTAL_KEY, Gateway, eventually
from tests.records.seed import appeal_hash
from tests.records.test_recorder import GAS, caught_up
from tests.test_closed_loop import Api


@pytest.fixture
async def by_hand(recording_with: Callable[..., Awaitable[Gateway]]) -> Api:
    """A gateway whose retention sweeps only when the test says so."""
    return Api(await recording_with(HOTLINE_RETENTION_SWEEP_SECONDS="3600"))


@pytest.fixture
async def api(recording_with: Callable[..., Awaitable[Gateway]]) -> Api:
    """A gateway that lets a filed appeal go as soon as it is recorded."""
    return Api(await recording_with(HOTLINE_RETENTION_DAYS="0"))


async def _file(api: Api, description: str) -> str:
    gw = api.gw
    appeal_no = await gw.post_appeal(description=description, phone="13912341234")
    unit = (await gw.wait_state(appeal_no, "dispatched")).unit
    assert unit is not None
    for body in ({"type": "signed"}, {"type": "replied", "content": "已关阀检修，隐患已排除。"}):
        assert (await api.unit(unit, appeal_no, body))[0] == 200
    path = f"/api/v1/appeals/{appeal_no}"
    assert (await api.op("POST", f"{path}/return-visit", {"satisfaction": "satisfied"}))[0] == 200
    assert (await api.op("POST", f"{path}/review", {"decision": "approve"}))[0] == 200
    return appeal_no


async def _naming(redis: Any, keys: Keys, appeal_no: str) -> list[str]:
    """The gateway's Redis keys whose name, members, fields or items name the appeal (or one of
    its deliveries, ``msg_<appeal_no>_<n>``)."""
    match, member = f"*{appeal_no}*", appeal_no.encode()

    async def names(key: str, kind: str) -> bool:
        if appeal_no in key:
            return True
        if kind == "zset":
            return any([m async for m in redis.zscan_iter(key, match=match)])
        if kind == "set":
            return any([m async for m in redis.sscan_iter(key, match=match)])
        if kind == "hash":
            return any([f async for f in redis.hscan_iter(key, match=match)])
        if kind == "list":
            return any(member in item for item in await redis.lrange(key, 0, -1))
        return False

    found = []
    async for raw in redis.scan_iter(match=keys.pattern, count=1000):
        key = raw.decode()
        if await names(key, (await redis.type(key)).decode()):
            found.append(key)
    return found


async def test_a_filed_appeal_leaves_redis_and_is_still_answered_from_the_record(api: Api) -> None:
    gw = api.gw
    keys, redis = gw.runtime.keys, gw.runtime.redis
    open_no = await gw.post_appeal(description="路灯坏了一个月，晚上很黑")
    filed_no = await _file(api, GAS)
    before = await api.appeal(filed_no)
    raw_sha = before["appeal"]["raw"]["sha256"]

    async def dropped() -> bool:
        return not await redis.exists(keys.appeal(filed_no), keys.history(filed_no), keys.raw(filed_no))

    await eventually(dropped, timeout=10)
    assert not await redis.exists(keys.delivery(f"msg_{filed_no}_1"))
    assert not await redis.exists(keys.dedup("portal-bengbu", before["appeal"]["external_id"]))
    assert await redis.exists(keys.appeal(open_no))  # open appeals stay

    status, after = await api.op("GET", f"/api/v1/appeals/{filed_no}")
    assert status == 200
    assert (after["state"], after["unit"], after["appeal"]) == ("filed", before["unit"], before["appeal"])
    assert [e["type"] for e in after["history"]][: len(before["history"])] == [
        e["type"] for e in before["history"]
    ]
    assert after["history"][-1]["type"] in ("filed", "answered")
    assert (await api.op("GET", "/api/v1/appeals/BB-20000101-000001"))[0] == 404
    inquiry = await gw.client.get("/api/v1/inquiry", params={"appeal_no": filed_no, "phone_tail": "1234"})
    assert inquiry.status == 200 and (await inquiry.json())["state"] == "filed"  # the citizen too
    portal = await gw.client.get(f"/open311/v2/requests/{filed_no}.json", params={"api_key": PORTAL_KEY})
    assert portal.status == 200, await portal.text()  # and the channel it came through
    (shown,) = await portal.json()
    assert (shown["service_request_id"], shown["status"]) == (filed_no, "closed")
    listed = await gw.client.get("/open311/v2/requests.json", params={"api_key": PORTAL_KEY})
    assert filed_no in [r["service_request_id"] for r in await listed.json()]  # its list reads the record
    assert await _naming(redis, keys, filed_no) == []  # no index, list or set of Redis names it
    assert gw.runtime.records is not None
    async with gw.runtime.records.engine.connect() as conn:
        raw = (await conn.execute(select(raw_payloads).where(raw_payloads.c.appeal_no == filed_no))).all()
        row = (await conn.execute(select(appeals).where(appeals.c.appeal_no == filed_no))).one()
    assert [(r.seq, r.sha256) for r in raw] == [(0, raw_sha)]
    assert row.dropped_at is not None and row.satisfaction == "satisfied"


async def test_an_appeal_filed_while_its_delivery_waits_leaves_no_index_entry_behind(api: Api) -> None:
    """Its unit never answered: the delivery waits for a retry when the appeal is filed and dropped.
    Nothing may name it afterwards (the schedule would claim a delivery that no longer exists, again
    and again, ahead of live ones; the unit's pending set would count it for ever)."""
    gw = api.gw
    keys, redis = gw.runtime.keys, gw.runtime.redis
    gw.receiver.statuses["gas-supply"] = [503] * 50
    filed_no = await _file(api, GAS)
    delivery = f"msg_{filed_no}_1"
    assert await redis.zscore(keys.delivery_schedule, delivery) is not None  # still to be retried

    async def dropped() -> bool:
        return not await redis.exists(keys.appeal(filed_no))

    await eventually(dropped, timeout=10)
    assert await redis.zscore(keys.delivery_schedule, delivery) is None
    assert await redis.zscore(keys.unit_pending("gas-supply"), delivery) is None
    assert await redis.zscore(keys.deadlines, filed_no) is None
    assert await _naming(redis, keys, filed_no) == []


async def test_a_dead_or_parked_delivery_of_a_dropped_appeal_is_named_nowhere(by_hand: Api) -> None:
    """Its unit gave up answering (the delivery was dead-lettered) or was disabled (parked) before
    the centre filed the appeal: the dead letters and the parked set forget it with the appeal."""
    gw = by_hand.gw
    keys, redis, runtime = gw.runtime.keys, gw.runtime.redis, gw.runtime
    gw.receiver.statuses["gas-supply"] = [503] * 50
    filed_no = await _file(by_hand, GAS)
    delivery = f"msg_{filed_no}_1"
    a_year_on = runtime.clock().timestamp() + 365 * 86400  # past any give-up time
    assert await runtime.deliveries.failed(delivery, a_year_on, "gave up", None) is None
    assert await redis.zscore(keys.delivery_dead, delivery) is not None
    await runtime.unit_health.park("gas-supply", delivery, a_year_on)
    await caught_up(gw, filed_no, "filed")
    assert runtime.records is not None
    assert await Retention(runtime.records.context, days=0).sweep() == 1
    assert await _naming(redis, keys, filed_no) == []


async def test_an_appeal_is_never_dropped_before_the_record_has_every_event(by_hand: Api) -> None:
    api, gw = by_hand, by_hand.gw
    records = gw.runtime.records
    assert records is not None
    filed_no = await _file(api, GAS)
    await caught_up(gw, filed_no, "filed")
    records.recorder.stop()
    await eventually(lambda: _stopped(records), timeout=5)
    # one more event the record has not seen yet (the recorder is stopped)
    filed = await gw.runtime.loop.require(filed_no)
    await gw.runtime.loop.record_event(filed, HistoryEvent("noted", "operator", gw.runtime.clock()))
    retention = Retention(records.context, days=0)
    assert await retention.sweep() == 0
    assert await gw.runtime.redis.exists(gw.runtime.keys.appeal(filed_no))
    await records.recorder.step()  # recorded now: the next sweep drops it
    assert await retention.sweep() == 1
    assert not await gw.runtime.redis.exists(gw.runtime.keys.appeal(filed_no))
    status, body = await api.op("GET", f"/api/v1/appeals/{filed_no}")
    assert status == 200 and body["history"][-1]["type"] == "noted"


async def _stopped(records: object) -> bool:
    return not records.running


async def test_a_sweep_reads_only_the_appeals_redis_still_holds(engine: AsyncEngine) -> None:
    """However long the record, the sweep's query walks only the filed appeals not yet dropped (it
    used to walk every filed appeal ever recorded: 1.1 s a sweep at 390,000 appeals)."""
    t0 = datetime(2026, 11, 2, 9, 0, tzinfo=SHANGHAI)
    rows = []
    for i in range(3000):
        h = appeal_hash(f"BB-20261102-{i + 1:06d}", content="楼道堆物", received_at=t0, state="filed")
        row = appeal_row(h, lambda _a: None, t0 + timedelta(minutes=i))
        row["filed_at"] = t0 + timedelta(minutes=i)
        row["dropped_at"] = None if i in (2997, 5, 2999) else t0 + timedelta(minutes=i + 1)
        rows.append(row)
    async with engine.begin() as conn:
        await conn.execute(appeals.insert(), rows)
        await conn.execute(text("ANALYZE"))  # as autovacuum (PostgreSQL) or PRAGMA optimize would
    query = due_query(t0 + timedelta(days=30), 500)
    async with engine.connect() as conn:
        found = list((await conn.execute(query)).scalars())
        sql = str(query.compile(engine.sync_engine, compile_kwargs={"literal_binds": True}))
        explain = "EXPLAIN QUERY PLAN " if is_sqlite(engine) else "EXPLAIN "
        plan = " ".join(str(row) for row in (await conn.execute(text(explain + sql))).all())
    assert found == ["BB-20261102-000006", "BB-20261102-002998", "BB-20261102-003000"]  # oldest first
    assert "ix_appeals_to_drop" in plan

"""Every event of the loop reaches the record once: through the events stream, across a recorder
that dies before its commit, and across a database that is down for a while."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.records.recorder import Recorder
from gateway.records.schema import appeal_events, appeals, deliveries
from tests.conftest import OPERATOR_TOKEN, Gateway, eventually
from tests.test_closed_loop import Api

GAS = "小区楼道里燃气泄漏，煤气味很重，请尽快处理"


async def recorded(gw: Gateway, appeal_no: str) -> tuple[Any, list[Any]]:
    assert gw.runtime.records is not None
    async with gw.runtime.records.engine.connect() as conn:
        row = (await conn.execute(select(appeals).where(appeals.c.appeal_no == appeal_no))).first()
        events = (
            await conn.execute(
                select(appeal_events)
                .where(appeal_events.c.appeal_no == appeal_no)
                .order_by(appeal_events.c.seq)
            )
        ).all()
    return row, list(events)


async def caught_up(gw: Gateway, appeal_no: str, state: str) -> tuple[Any, list[Any]]:
    """The record once it shows ``state`` and every event Redis holds for the appeal."""

    async def probe() -> tuple[Any, list[Any]] | None:
        row, events = await recorded(gw, appeal_no)
        history = await gw.runtime.appeals.history(appeal_no)
        done = row is not None and row.state == state and len(events) == len(history)
        return (row, events) if done else None

    return await eventually(probe, timeout=10)


async def test_an_appeal_and_every_event_of_its_loop_are_recorded_once(recording: Gateway) -> None:
    gw, api = recording, Api(recording)
    appeal_no = await gw.post_appeal(description=GAS, phone="13912341234")
    unit = (await gw.wait_state(appeal_no, "dispatched")).unit
    assert unit is not None
    assert (await api.unit(unit, appeal_no, {"type": "signed"}))[0] == 200
    assert (await api.unit(unit, appeal_no, {"type": "replied", "content": "已关阀检修。"}))[0] == 200
    row, events = await caught_up(gw, appeal_no, "replied")

    history = await gw.runtime.appeals.history(appeal_no)
    assert [e.event for e in events] == history
    assert [e.event_id for e in events] == [f"{appeal_no}:{n}" for n in range(1, len(history) + 1)]
    assert [e.type for e in events][:2] == ["accepted", "dispatched"]
    assert (row.channel_id, row.unit, row.phone, row.phone_last4) == (
        "portal-bengbu",
        unit,
        "+8613912341234",
        "1234",
    )
    assert row.subject and GAS.startswith(row.subject[:5]) and row.content == GAS
    assert row.appeal["appeal_no"] == appeal_no and row.record["state"] == "replied"
    async with gw.runtime.records.engine.connect() as conn:  # type: ignore[union-attr]
        sent = (await conn.execute(select(deliveries).where(deliveries.c.appeal_no == appeal_no))).all()
    assert [d.webhook_id for d in sent] == [f"msg_{appeal_no}_1"] and sent[0].unit == unit
    # recorded entries leave the stream: what it holds is what waits
    assert await gw.runtime.redis.xlen(gw.runtime.keys.events) == 0


async def test_a_recorder_that_dies_before_its_commit_loses_and_doubles_nothing(recording: Gateway) -> None:
    gw = recording
    records = gw.runtime.records
    assert records is not None
    records.recorder.stop()  # the serving recorder stands aside: we play one that dies
    await eventually(lambda: _done(records), timeout=5)
    numbers = [await gw.post_appeal(description=f"{GAS}（第{n}次）") for n in range(3)]
    for no in numbers:
        await gw.wait_state(no, "dispatched")
    dying = Recorder(records.context, block_ms=100)
    dying.consumer = "dead-recorder"
    await dying.ensure_group()
    reply: Any = await gw.runtime.redis.xreadgroup(
        "recorder", dying.consumer, {gw.runtime.keys.events: ">"}, count=2
    )
    taken = reply[0][1]
    assert len(taken) == 2  # read, never committed: pending with the dead consumer
    # a recorder started after it claims what the dead one held, and records the rest
    survivor = Recorder(records.context, block_ms=100, claim_idle_seconds=0.2)
    await survivor.ensure_group()

    async def all_recorded() -> bool:
        await survivor.step()
        totals = [len((await recorded(gw, no))[1]) for no in numbers]
        histories = [len(await gw.runtime.appeals.history(no)) for no in numbers]
        return totals == histories and await gw.runtime.redis.xlen(gw.runtime.keys.events) == 0

    await eventually(all_recorded, timeout=10)
    pending: Any = await gw.runtime.redis.xpending(gw.runtime.keys.events, "recorder")
    assert pending["pending"] == 0
    await survivor.record(taken)  # the same entries delivered twice: still once in the record
    async with records.engine.connect() as conn:
        total = await conn.scalar(select(func.count()).select_from(appeal_events))
        distinct = await conn.scalar(select(func.count(func.distinct(appeal_events.c.event_id))))
    assert total == distinct == sum([len(await gw.runtime.appeals.history(no)) for no in numbers])


async def _done(records: Any) -> bool:
    return not records.running


async def test_the_search_api_answers_from_the_record(recording: Gateway) -> None:
    gw = recording
    appeal_no = await gw.post_appeal(description=GAS, phone="13912345678")
    await caught_up(gw, appeal_no, "dispatched")
    headers = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
    r = await gw.client.get("/api/v1/appeals", params={"q": "燃气泄漏", "phone": "5678"}, headers=headers)
    body = await r.json()
    assert r.status == 200, body
    assert body["total"] == 1 and body["items"][0]["appeal_no"] == appeal_no
    assert body["items"][0]["state"] == "dispatched" and body["items"][0]["unit"]
    r = await gw.client.get("/api/v1/appeals", params={"q": "燃气泄漏", "phone": "0000"}, headers=headers)
    assert (await r.json())["total"] == 0
    assert (await gw.client.get("/api/v1/appeals", params={"q": "燃气"})).status == 401


async def test_readyz_names_the_record_and_its_lag(recording: Gateway) -> None:
    r = await recording.client.get("/readyz")
    body = await r.json()
    assert r.status == 200 and body["ready"] is True
    assert body["records"]["status"] == "healthy" and body["records"]["database"] is True
    assert "degraded" not in body


async def _count(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(appeals)) or 0)


async def test_an_entry_the_loop_did_not_write_is_left_out_and_recording_goes_on(recording: Gateway) -> None:
    gw = recording
    await gw.runtime.redis.xadd(gw.runtime.keys.events, {"something": "else"})
    appeal_no = await gw.post_appeal(description=GAS)
    await caught_up(gw, appeal_no, "dispatched")

    async def drained() -> bool:
        return await gw.runtime.redis.xlen(gw.runtime.keys.events) == 0

    await eventually(drained, timeout=5)
    assert gw.runtime.records is not None and gw.runtime.records.running

"""What a unit is told beside its assignment, through the running gateway recording into SQLite and
PostgreSQL: the earlier appeal a citizen's new one repeats, in the assignment itself; a duplicate
that only the recorder finds, as an ``appeal.updated`` delivery, once; the supervision of a
supervised appeal, in its assignment or, when it comes later, as an update."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
import redis.asyncio as aioredis
from sqlalchemy import select

from gateway.briefing import lookup_seconds, tell_repeats
from gateway.config import Config
from gateway.errors import ConfigError
from gateway.loop import IntakeEntry
from gateway.records.schema import appeals
from gateway.registry import Registry
from gateway.runtime import shanghai_now
from gateway.store import Keys
from tests.conftest import (
    APP_KEY,
    OPERATOR_TOKEN,
    PORTAL_KEY,
    Gateway,
    UnitReceiver,
    eventually,
    start_gateway,
)
from tests.test_closed_loop import Api

AUTH = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
LEAK = "小区楼道里燃气泄漏，煤气味很重，请尽快处理"
PIPE = "胜利路口自来水管道爆裂，路面全是水，车辆无法通行，请尽快抢修"
ASSIGNED = "cn.gov.12345.appeal.assigned"
UPDATED = "cn.gov.12345.appeal.updated"


def about(gw: Gateway, appeal_no: str, event_type: str) -> list[dict[str, Any]]:
    """The CloudEvents of that type the units received about the appeal, in order."""
    events = [r.json() for r in gw.receiver.received]
    return [e for e in events if e["subject"] == appeal_no and e["type"] == event_type]


async def arrived(gw: Gateway, appeal_no: str, event_type: str, count: int = 1) -> list[dict[str, Any]]:
    async def enough() -> list[dict[str, Any]] | None:
        found = about(gw, appeal_no, event_type)
        return found if len(found) >= count else None

    return await eventually(enough, timeout=10)


async def recorded(gw: Gateway, appeal_no: str) -> None:
    """Wait until the recorder has the appeal (its acceptance is in the record)."""
    assert gw.runtime.records is not None
    engine = gw.runtime.records.engine

    async def found() -> bool:
        async with engine.connect() as conn:
            query = select(appeals.c.appeal_no).where(appeals.c.appeal_no == appeal_no)
            return (await conn.execute(query)).first() is not None

    await eventually(found, timeout=10)


async def test_a_citizen_writing_again_reaches_the_unit_with_the_earlier_appeal(
    recording_with: Callable[..., Awaitable[Gateway]],
) -> None:
    # a generous look-up time: on a machine busy with other suites a cold SQLite can take over 0.5 s
    gw = await recording_with(HOTLINE_REPEAT_LOOKUP_SECONDS="5")
    api = Api(gw)
    first = await gw.post_appeal(description=LEAK, phone="13912341234")
    (assigned,) = await arrived(gw, first, ASSIGNED)
    assert assigned["data"]["assignment"]["repeat_of"] is None
    assert assigned["data"]["assignment"]["supervision"] is None
    unit = assigned["data"]["assignment"]["unit"]
    assert (await api.unit(unit, first, {"type": "signed"}))[0] == 200
    reply = "已关阀检修，联系人王明，电话13912341234。"
    assert (await api.unit(unit, first, {"type": "replied", "content": reply}))[0] == 200
    await recorded(gw, first)

    again = await gw.post_appeal(description="还是" + LEAK, phone="139 1234 1234")
    (assigned,) = await arrived(gw, again, ASSIGNED)
    repeat_of = assigned["data"]["assignment"]["repeat_of"]
    assert {k: repeat_of[k] for k in ("appeal_no", "kind", "unit", "state")} == {
        "appeal_no": first,
        "kind": "repeat",
        "unit": unit,
        "state": "replied",
    }
    assert repeat_of["reply"]["content"] == "已关阀检修，联系人王明，电话***。"  # the earlier citizen's phone
    assert "phone ending 1234" in repeat_of["why"]["rule"] and repeat_of["why"]["earlier"] == first

    # the recorder links it too, and finds the unit told: no update follows
    await eventually(lambda: _linked(gw, again), timeout=10)
    assert await tell_repeats(gw.runtime, [again]) == 0
    assert about(gw, again, UPDATED) == []


async def _linked(gw: Gateway, appeal_no: str) -> list[Any]:
    response = await gw.client.get("/api/v1/repeats", headers=AUTH)
    return [i for i in (await response.json())["items"] if i["appeal_no"] == appeal_no]


async def test_a_duplicate_found_after_delivery_reaches_the_unit_as_an_update_once(
    recording: Gateway,
) -> None:
    gw = recording
    first = await gw.post_appeal(description=PIPE, phone="13800000001")
    await arrived(gw, first, ASSIGNED)
    await recorded(gw, first)
    # another citizen, through another channel: not the same citizen, so not decided at dispatch
    response = await gw.client.post(
        "/open311/v2/requests.json",
        data={
            "api_key": APP_KEY,
            "service_code": "complaint",
            "description": PIPE + "！",
            "phone": "13700000002",
        },
    )
    assert response.status in (200, 201), await response.text()
    second = (await response.json())[0]["service_request_id"]
    (assigned,) = await arrived(gw, second, ASSIGNED)
    assert assigned["data"]["assignment"]["repeat_of"] is None

    (update,) = await arrived(gw, second, UPDATED)
    told = update["data"]["assignment"]
    assert update["id"] == f"msg_{second}_repeat_{first}"
    assert (told["type"], told["unit"]) == ("repeat_found", assigned["data"]["assignment"]["unit"])
    assert (told["repeat_of"]["appeal_no"], told["repeat_of"]["kind"]) == (first, "duplicate")
    assert "another channel (portal-bengbu)" in told["repeat_of"]["why"]["rule"]
    assert told["repeat_of"]["state"] == "dispatched" and told["repeat_of"]["reply"] is None

    assert await tell_repeats(gw.runtime, [second]) == 0  # told: never again
    assert len(about(gw, second, UPDATED)) == 1


async def test_without_the_look_up_a_repeat_reaches_the_unit_as_an_update(
    recording_with: Callable[..., Awaitable[Gateway]],
) -> None:
    gw = await recording_with(HOTLINE_REPEAT_LOOKUP_SECONDS="0")
    first = await gw.post_appeal(description=LEAK, phone="13912341234")
    await arrived(gw, first, ASSIGNED)
    await recorded(gw, first)
    again = await gw.post_appeal(description="还是" + LEAK, phone="13912341234")
    (assigned,) = await arrived(gw, again, ASSIGNED)
    assert assigned["data"]["assignment"]["repeat_of"] is None
    (update,) = await arrived(gw, again, UPDATED)
    told = update["data"]["assignment"]
    assert (told["type"], told["repeat_of"]["appeal_no"], told["repeat_of"]["kind"]) == (
        "repeat_found",
        first,
        "repeat",
    )


def test_the_look_up_time_is_checked() -> None:
    assert lookup_seconds({}) == 0.5 and lookup_seconds({"HOTLINE_REPEAT_LOOKUP_SECONDS": "0"}) == 0
    for bad in ("-1", "soon", "60"):
        with pytest.raises(ConfigError, match="HOTLINE_REPEAT_LOOKUP_SECONDS"):
            lookup_seconds({"HOTLINE_REPEAT_LOOKUP_SECONDS": bad})


async def _supervise(gw: Gateway, no: str, note: str) -> dict[str, Any]:
    deadline = (shanghai_now() + timedelta(days=2)).replace(microsecond=0).isoformat()
    response = await gw.client.post(
        f"/api/v1/appeals/{no}/supervise", json={"note": note, "deadline": deadline}, headers=AUTH
    )
    assert response.status == 200, await response.text()
    return {"note": note, "deadline": deadline, "by": "operator"}


async def test_supervision_reaches_the_unit_later_as_an_update_and_in_every_assignment_after(
    recording: Gateway,
) -> None:
    gw, api = recording, Api(recording)
    no = await gw.post_appeal(description=LEAK)
    (assigned,) = await arrived(gw, no, ASSIGNED)
    unit = assigned["data"]["assignment"]["unit"]

    supervision = await _supervise(gw, no, "市绩效办督办：三日内办结")
    (update,) = await arrived(gw, no, UPDATED)
    assert update["id"] == f"msg_{no}_supervised_1"
    told = update["data"]["assignment"]
    assert (told["type"], told["unit"], told["supervision"]) == ("supervised", unit, supervision)

    # returned: the next unit's assignment carries the supervision itself
    assert (await api.unit(unit, no, {"type": "returned", "reason": "不属于本单位职责"}))[0] == 200
    (_, second) = await arrived(gw, no, ASSIGNED, 2)
    assert second["data"]["assignment"]["unit"] != unit
    assert second["data"]["assignment"]["supervision"] == supervision

    again = await _supervise(gw, no, "市考核办：明日答复")
    (_, update) = await arrived(gw, no, UPDATED, 2)
    assert update["id"] == f"msg_{no}_supervised_2"
    assert update["data"]["assignment"]["supervision"] == again
    assert update["data"]["assignment"]["unit"] == second["data"]["assignment"]["unit"]


async def test_a_supervision_that_lands_while_the_assignment_is_made_is_told_after_it(
    config: Config,
    redis: aioredis.Redis,
    keys: Keys,
    registry: Registry,
    receiver: UnitReceiver,
    database_url: str,
) -> None:
    # no workers: the test dispatches by hand, at the worst moment
    gw = await start_gateway(
        config, redis, keys, registry, receiver, workers=False, database_url=database_url
    )
    try:
        runtime = gw.runtime
        response = await gw.client.post(
            "/open311/v2/requests.json",
            data={"api_key": PORTAL_KEY, "service_code": "complaint", "description": LEAK},
        )
        no = (await response.json())[0]["service_request_id"]
        stale = await runtime.loop.require(no)  # read by the dispatcher...
        supervision = await _supervise(gw, no, "媒体督办")  # ...the operator acts, nobody holds it yet...
        assert await runtime.deliveries.get(f"msg_{no}_supervised_1") is None
        await runtime.dispatcher.ensure_group()
        assert await runtime.dispatcher.dispatch(stale, IntakeEntry("router", "0-1"))  # ...then it assigns

        first = await runtime.deliveries.get(f"msg_{no}_1")
        assert first is not None and json.loads(first.assignment or "{}")["supervision"] is None

        async def update() -> Any:
            return await runtime.deliveries.get(f"msg_{no}_supervised_1")

        told = await eventually(update, timeout=5)
        record = await runtime.loop.require(no)
        assert (told.unit, told.event_type) == (record.unit, UPDATED)
        assert json.loads(told.assignment or "{}")["supervision"] == supervision
    finally:
        await gw.client.close()

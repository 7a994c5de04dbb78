"""The eight-link loop through the public API: pass down, return, re-route (never back), sign, reply,
return visit, review, file; out-of-order steps get 409; repeated returns go to the manual queue."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.conftest import OPERATOR_TOKEN, Gateway

LAMP = "小区门口的路灯坏了一个月，晚上很黑，希望尽快修好"


class Api:
    def __init__(self, gw: Gateway) -> None:
        self.gw = gw

    async def unit(self, unit: str, appeal_no: str, body: dict[str, Any]) -> tuple[int, Any]:
        token = (await self.gw.runtime.credentials.get(unit)).api_token
        r = await self.gw.client.post(
            f"/api/v1/units/{unit}/appeals/{appeal_no}/events",
            json=body,
            headers={"Authorization": f"Bearer {token}"},
        )
        return r.status, await r.json()

    async def op(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        r = await self.gw.client.request(
            method, path, json=body, headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"}
        )
        return r.status, await r.json()

    async def appeal(self, appeal_no: str) -> Any:
        return (await self.op("GET", f"/api/v1/appeals/{appeal_no}"))[1]


async def test_the_whole_loop_with_a_pass_down_and_a_return(gateway: Gateway) -> None:
    api = Api(gateway)
    appeal_no = await gateway.post_appeal(description=LAMP)
    first = (await gateway.wait_state(appeal_no, "dispatched")).unit
    assert first == "housing-bureau"

    # level 2 passes it down to its level-3 unit, which receives a delivery of its own
    assert (await api.unit(first, appeal_no, {"type": "sub_assigned", "unit": "water-supply"}))[0] == 400
    status, body = await api.unit(first, appeal_no, {"type": "sub_assigned", "unit": "property-management"})
    assert (status, body["unit"]) == (200, "property-management")
    deliveries = await gateway.receiver.wait_for(2)
    assert deliveries[1].unit == "property-management"
    assert deliveries[1].headers["webhook-id"] != deliveries[0].headers["webhook-id"]
    # the parent keeps sight of it but no longer acts on it
    token = (await gateway.runtime.credentials.get(first)).api_token
    seen = await gateway.client.get(
        f"/api/v1/units/{first}/appeals/{appeal_no}", headers={"Authorization": f"Bearer {token}"}
    )
    assert seen.status == 200 and (await seen.json())["unit"] == "property-management"
    assert (await api.unit(first, appeal_no, {"type": "signed"}))[0] == 404

    # the level-3 unit returns it: routed again, never back to it
    assert (await api.unit("property-management", appeal_no, {"type": "returned"}))[0] == 400  # no reason
    status, _ = await api.unit(
        "property-management", appeal_no, {"type": "returned", "reason": "不属于物业管理"}
    )
    assert status == 200
    record = await gateway.wait_state(appeal_no, "dispatched")
    assert record.unit not in (None, "property-management")
    unit = record.unit

    # out of order: a reply before signing, a visit before the reply
    assert (await api.unit(unit, appeal_no, {"type": "replied", "content": "已修复"}))[0] == 409
    assert (await api.op("POST", f"/api/v1/appeals/{appeal_no}/return-visit", {"satisfaction": "satisfied"}))[
        0
    ] == 409
    assert (await api.unit(unit, appeal_no, {"type": "signed"}))[0] == 200
    assert (await api.unit(unit, appeal_no, {"type": "progress", "note": "已派人查看"}))[0] == 200
    status, body = await api.unit(unit, appeal_no, {"type": "replied", "content": "路灯已于今日修复。"})
    assert (status, body["state"]) == (200, "replied")
    assert (await api.op("POST", f"/api/v1/appeals/{appeal_no}/review", {"decision": "approve"}))[0] == 409
    assert (await api.op("POST", f"/api/v1/appeals/{appeal_no}/return-visit", {"satisfaction": "satisfied"}))[
        0
    ] == 200
    status, body = await api.op("POST", f"/api/v1/appeals/{appeal_no}/review", {"decision": "approve"})
    assert (status, body["state"]) == (200, "filed")

    final = await api.appeal(appeal_no)
    types = [e["type"] for e in final["history"]]
    assert types[:6] == ["accepted", "dispatched", "sub_assigned", "returned", "dispatched", "signed"]
    assert {"progress", "replied", "visited", "filed"} <= set(types)
    assert "answered" in types or await _answered(gateway, appeal_no)
    assert final["returned_by"] == ["property-management"]
    for event in final["history"]:
        assert event["actor"] and event["at"]
    await _every_event_is_on_the_events_stream(gateway, appeal_no)


async def _every_event_is_on_the_events_stream(gateway: Gateway, appeal_no: str) -> None:
    """The loop-events stream (the durable path to SQL) carries each history event once, in order,
    with its 1-based position: the record holds ``<appeal_no>:<seq>`` for every event of the history."""
    from sqlalchemy import select

    from gateway.records.schema import appeal_events
    from tests.conftest import eventually

    runtime = gateway.runtime
    assert runtime.records is not None

    async def settled() -> list[Any]:
        history = await runtime.loop.history(appeal_no)
        async with runtime.records.engine.connect() as conn:
            query = select(appeal_events).where(appeal_events.c.appeal_no == appeal_no)
            rows = (await conn.execute(query.order_by(appeal_events.c.seq))).all()
        return [history, rows] if len(rows) == len(history) and "answered" in str(history) else []

    history, rows = await eventually(settled, timeout=10)
    assert [r.event_id for r in rows] == [f"{appeal_no}:{n}" for n in range(1, len(history) + 1)]
    assert [r.event for r in rows] == history


async def _answered(gateway: Gateway, appeal_no: str) -> bool:
    from tests.conftest import eventually

    async def answered() -> bool:
        return any(e["type"] == "answered" for e in await gateway.runtime.appeals.history(appeal_no))

    return await eventually(answered)


async def test_two_returns_go_to_the_manual_queue_and_the_centre_assigns(gateway: Gateway) -> None:
    api = Api(gateway)
    appeal_no = await gateway.post_appeal(description=LAMP)
    first = (await gateway.wait_state(appeal_no, "dispatched")).unit
    assert (await api.unit(first, appeal_no, {"type": "returned", "reason": "不归我们管"}))[0] == 200
    record = await gateway.wait_state(appeal_no, "dispatched", "manual")
    if record.state.value == "manual":  # no other owner: the centre decides
        status, _ = await api.op("POST", f"/api/v1/appeals/{appeal_no}/assign", {"unit": "urban-management"})
        assert status == 200
        record = await gateway.wait_state(appeal_no, "dispatched")
    second = record.unit
    assert second != first
    assert (await api.unit(second, appeal_no, {"type": "returned", "reason": "也不归我们"}))[0] == 200
    await gateway.wait_state(appeal_no, "manual")  # two returns: the centre decides by hand
    status, queue = await api.op("GET", "/api/v1/dispatch-queue")
    assert status == 200
    (item,) = [i for i in queue["items"] if i["appeal_no"] == appeal_no]
    assert item["returned_by"] == [first, second]
    assert 1 <= len(item["candidates"]) <= 3  # the centre sees who else could take it, and why
    for candidate in item["candidates"]:
        assert "by the words" in candidate["reason"]
        assert candidate["unit"] is None or candidate["name"]
    assert (await api.op("POST", f"/api/v1/appeals/{appeal_no}/assign", {"unit": "no-such"}))[0] == 400
    status, _ = await api.op("POST", f"/api/v1/appeals/{appeal_no}/assign", {"unit": "sanitation"})
    assert status == 200
    assert (await gateway.wait_state(appeal_no, "dispatched")).unit == "sanitation"
    assert (await api.op("GET", "/api/v1/dispatch-queue"))[1]["count"] == 0


async def test_extension_moves_nothing_until_approved_and_reopen_goes_back(gateway: Gateway) -> None:
    api = Api(gateway)
    appeal_no = await gateway.post_appeal(description=LAMP)
    unit = (await gateway.wait_state(appeal_no, "dispatched")).unit
    assert (await api.unit(unit, appeal_no, {"type": "extension_requested", "days": 3, "reason": "x"}))[
        0
    ] == 409
    await api.unit(unit, appeal_no, {"type": "signed"})
    status, _ = await api.unit(
        unit, appeal_no, {"type": "extension_requested", "days": 3, "reason": "需采购配件"}
    )
    assert status == 200
    assert (await api.unit(unit, appeal_no, {"type": "extension_requested", "days": 3, "reason": "again"}))[
        0
    ] == 409
    status, body = await api.op("POST", f"/api/v1/appeals/{appeal_no}/extension", {"decision": "deny"})
    assert (status, body["extension"]) == (200, "denied")
    assert (await api.op("POST", f"/api/v1/appeals/{appeal_no}/extension", {"decision": "approve"}))[0] == 409
    before = (await api.appeal(appeal_no))["deadlines"]
    assert before["reply_by"] > before["sign_by"] >= before["dispatch_by"]
    await api.unit(unit, appeal_no, {"type": "extension_requested", "days": 3, "reason": "需采购配件"})
    assert (await api.appeal(appeal_no))["deadlines"] == before  # nothing moves until approved
    status, body = await api.op("POST", f"/api/v1/appeals/{appeal_no}/extension", {"decision": "approve"})
    assert (status, body["extension"]) == (200, "approved")
    after = (await api.appeal(appeal_no))["deadlines"]
    assert after["reply_by"] > before["reply_by"] and after["extended_days"] == 3
    delivered = (await gateway.receiver.wait_for(1))[0].json()
    assert delivered["data"]["assignment"]["deadlines"]["reply_by"] == before["reply_by"]

    await api.unit(unit, appeal_no, {"type": "replied", "content": "已修复"})
    await api.op("POST", f"/api/v1/appeals/{appeal_no}/return-visit", {"satisfaction": "unsatisfied"})
    status, body = await api.op("POST", f"/api/v1/appeals/{appeal_no}/review", {"decision": "reopen"})
    assert (status, body["state"]) == (200, "handling")
    deliveries = await gateway.receiver.wait_for(2)
    assert deliveries[1].json()["type"] == "cn.gov.12345.appeal.reopened"
    assert (await api.appeal(appeal_no))["reopened"] == 1
    assert (await api.unit(unit, appeal_no, {"type": "replied", "content": "已彻底修复"}))[0] == 200


async def test_the_reply_shows_on_the_portal_for_the_citizen(gateway: Gateway) -> None:
    from tests.conftest import PORTAL_KEY

    api = Api(gateway)
    appeal_no = await gateway.post_appeal(description=LAMP)
    unit = (await gateway.wait_state(appeal_no, "dispatched")).unit
    await api.unit(unit, appeal_no, {"type": "signed"})
    await api.unit(unit, appeal_no, {"type": "replied", "content": "路灯已于今日修复，感谢您的反映。"})
    response = await gateway.client.get(
        f"/open311/v2/requests/{appeal_no}.json", params={"api_key": PORTAL_KEY}
    )
    (view,) = await response.json()
    assert view["status"] == "closed"
    assert "路灯已于今日修复" in view["status_notes"]


async def test_a_missed_signing_deadline_is_escalated_until_the_unit_signs(
    config: Any, redis: Any, keys: Any, registry: Any, receiver: Any, clock: Any
) -> None:
    from tests.conftest import eventually, start_gateway

    gw = await start_gateway(config, redis, keys, registry, receiver, clock=clock)
    try:
        api = Api(gw)
        appeal_no = await gw.post_appeal(description=LAMP)
        record = await gw.wait_state(appeal_no, "dispatched")
        sign_by = record.deadlines["sign_by"]
        await eventually(lambda: gw.runtime.redis.zscore(gw.runtime.keys.k("health", "deadlines"), appeal_no))
        await gw.runtime.health.escalate_overdue()
        assert [a for a in await gw.runtime.alerts.active() if a["kind"] == "appeal_overdue"] == []
        clock.now = datetime.fromisoformat(sign_by) + timedelta(minutes=1)
        await gw.runtime.health.escalate_overdue()
        (alert,) = [a for a in await gw.runtime.alerts.active() if a["kind"] == "appeal_overdue"]
        assert alert["appeal_no"] == appeal_no and "sign_by" in alert["message"]
        await gw.runtime.health.escalate_overdue()  # still overdue: no second alert, no second reminder
        reminder = (await receiver.wait_for(2))[1]
        assert reminder.unit == record.unit
        event = reminder.json()
        assert (event["type"], event["subject"]) == ("cn.gov.12345.appeal.overdue", appeal_no)
        assert event["data"]["assignment"]["missed"] == "sign_by"
        with pytest.raises(TimeoutError):
            await receiver.wait_for(3, timeout=0.5)
        assert (await api.unit(record.unit, appeal_no, {"type": "signed"}))[0] == 200

        async def resolved() -> bool:
            await gw.runtime.health.escalate_overdue()
            return not [a for a in await gw.runtime.alerts.active() if a["kind"] == "appeal_overdue"]

        await eventually(resolved)
    finally:
        await gw.client.close()

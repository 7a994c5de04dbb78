"""Repeats through the running gateway: a citizen who writes again is linked by the recorder, listed
for review, confirmed or unlinked by an operator; the repeat context for the unit's delivery; and
cross-channel duplicates are linked, never dropped."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from gateway.records.links import LinkPolicy
from gateway.records.repeats import link_new, repeat_context, repeat_of
from gateway.records.schema import appeal_links, appeals
from tests.conftest import OPERATOR_TOKEN, Gateway, eventually
from tests.records.seed import appeal_hash, seed
from tests.test_closed_loop import Api

AUTH = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
LEAK = "小区楼道里燃气泄漏，煤气味很重，请尽快处理"


async def listed(gw: Gateway, query: str = "") -> list[dict[str, object]]:
    response = await gw.client.get(f"/api/v1/repeats{query}", headers=AUTH)
    assert response.status == 200, await response.text()
    items: list[dict[str, object]] = (await response.json())["items"]
    return items


async def test_a_citizen_writing_again_is_linked_reviewed_and_its_unit_told(recording: Gateway) -> None:
    gw, api = recording, Api(recording)
    first = await gw.post_appeal(description=LEAK, phone="13912341234")
    unit = (await gw.wait_state(first, "dispatched")).unit
    assert (await api.unit(unit, first, {"type": "signed"}))[0] == 200
    assert (await api.unit(unit, first, {"type": "replied", "content": "已关阀检修。"}))[0] == 200
    again = await gw.post_appeal(description="还是" + LEAK, phone="139 1234 1234")
    other = await gw.post_appeal(description="路灯坏了一个月没人修，晚上很黑", phone="13800000000")

    items = await eventually(lambda: listed(gw), timeout=10)
    assert [(i["appeal_no"], i["earlier"], i["kind"]) for i in items] == [(again, first, "repeat")]
    why = items[0]["why"]
    assert isinstance(why, dict) and "phone ending 1234" in why["rule"] and why["similarity"] > 0.5
    assert "13912341234" not in str(items) and other not in str(items)

    assert gw.runtime.records is not None
    engine = gw.runtime.records.engine
    context = await eventually(lambda: _replied_context(engine, again), timeout=10)
    assert context == {
        "appeal_no": first,
        "kind": "repeat",
        "unit": unit,
        "state": "replied",
        "reply": {"content": "已关阀检修。", "at": context["reply"]["at"]},
        "why": why,
    }

    # at delivery time, before the recorder has recorded the new appeal: decided from the appeal itself
    record = await gw.runtime.appeals.get(again)
    assert record is not None
    early = await repeat_of(engine, record.appeal, LinkPolicy(), gw.runtime.clock())
    assert early is not None and early["appeal_no"] == first and early["reply"] == context["reply"]
    assert early["unit"] == unit and "phone ending 1234" in early["why"]["rule"]

    confirm = await gw.client.post(f"/api/v1/repeats/{again}/{first}/confirm", headers=AUTH)
    assert confirm.status == 200 and (await confirm.json())["status"] == "confirmed"
    assert await listed(gw) == []  # reviewed: off the default list
    assert [i["status"] for i in await listed(gw, "?status=all")] == ["confirmed"]
    unlink = await gw.client.post(f"/api/v1/repeats/{again}/{first}/unlink", headers=AUTH)
    assert unlink.status == 200
    assert await repeat_context(engine, again) is None
    assert await repeat_of(engine, record.appeal, LinkPolicy(), gw.runtime.clock()) is None  # stays apart
    assert (await listed(gw, "?status=unlinked"))[0]["decided_by"] == "operator"

    # detection again keeps the operator's decision
    async with engine.begin() as conn:
        await link_new(conn, [again], LinkPolicy(), gw.runtime.clock())
    assert [i["status"] for i in await listed(gw, "?status=all")] == ["unlinked"]

    missing = await gw.client.post(f"/api/v1/repeats/{other}/{first}/confirm", headers=AUTH)
    assert missing.status == 404
    for query, named in (
        ("?kind=triple", "kind"),
        ("?status=maybe", "status"),
        ("?colour=red", "colour"),
        ("?limit=0", "limit"),
    ):
        bad = await gw.client.get(f"/api/v1/repeats{query}", headers=AUTH)
        assert bad.status == 400 and named in (await bad.json())["error"]["message"], query
    assert (await gw.client.get("/api/v1/repeats")).status == 401


async def _replied_context(engine: object, appeal_no: str) -> dict[str, object] | None:
    found = await repeat_context(engine, appeal_no)  # type: ignore[arg-type]
    return found if found and found["state"] == "replied" else None


async def test_a_burst_pipe_through_three_channels_is_linked_as_duplicates_none_dropped(
    recording: Gateway,
) -> None:
    gw = recording
    assert gw.runtime.records is not None
    engine = gw.runtime.records.engine
    t0 = gw.runtime.clock() - timedelta(hours=3)
    reports = [
        ("BB-20261201-000101", "phone-12345", "胜利路口自来水管道爆裂，路面全是水，车辆无法通行，请尽快抢修"),
        (
            "BB-20261201-000102",
            "wechat-bengbu",
            "胜利路口的自来水管道爆裂了，路面全是水，车辆无法通行，请尽快抢修！",
        ),
        ("BB-20261201-000103", "sms-12345", "胜利路口自来水管道爆裂 路面全是水 车辆无法通行 请尽快抢修"),
    ]
    await seed(
        engine,
        [
            appeal_hash(
                no, content=text, received_at=t0 + timedelta(minutes=20 * i), channel=channel, area="shengli"
            )
            for i, (no, channel, text) in enumerate(reports)
        ],
    )
    async with engine.begin() as conn:
        await link_new(conn, [no for no, _, _ in reports], LinkPolicy(), gw.runtime.clock())
    items = await listed(gw, "?kind=duplicate")
    pairs = {(i["appeal_no"], i["earlier"]) for i in items}
    assert ("BB-20261201-000102", "BB-20261201-000101") in pairs
    assert {i["appeal_no"] for i in items} == {"BB-20261201-000102", "BB-20261201-000103"}
    async with engine.connect() as conn:  # every report stays an appeal of its own
        assert (await conn.execute(select(func.count()).select_from(appeals))).scalar() == 3
        assert (await conn.execute(select(func.count()).select_from(appeal_links))).scalar() == len(items)

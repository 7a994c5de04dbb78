"""Emergencies are never held: a channel that merges a citizen's messages (WeChat, SMS, Weibo hold
a thread for minutes) routes a gas leak at once; the thread's later messages join it as
follow-ups that reach the unit as ``appeal.updated`` deliveries."""

from __future__ import annotations

import time

import pytest

from adapters.base import InboundMessage
from normalizer import AppealDraft
from tests.adapters.wechat.test_wechat import WECHAT, number_in, reply_of
from tests.adapters.wechat.wechat import message_xml
from tests.conformance.kit import send
from tests.conftest import Gateway


async def test_a_wechat_gas_leak_reaches_the_gas_company_within_3_seconds(gateway: Gateway) -> None:
    started = time.perf_counter()
    first = await reply_of(
        await send(gateway, WECHAT.safe(message_xml(Content="家里厨房燃气泄漏，煤气味很重，怎么办")))
    )
    (delivery,) = await gateway.receiver.wait_for(1, timeout=3.0)
    assert time.perf_counter() - started < 3.0  # WeChat holds a thread 180 s; an emergency is not held
    appeal_no = number_in(first)
    assert delivery.unit == "gas-supply"
    assert delivery.json()["type"] == "cn.gov.12345.appeal.assigned"
    assert delivery.json()["data"]["appeal"]["appeal_no"] == appeal_no
    await gateway.wait_state(appeal_no, "dispatched")

    # the citizen goes on writing: the same appeal, told to the gas company as an update
    second = await reply_of(
        await send(gateway, WECHAT.safe(message_xml(Content="在三单元二楼，人已经出来了")))
    )
    assert number_in(second) == appeal_no and "补充" in second["Content"]
    deliveries = await gateway.receiver.wait_for(2, timeout=3.0)
    update = deliveries[1].json()
    assert deliveries[1].unit == "gas-supply"
    assert update["type"] == "cn.gov.12345.appeal.updated"
    assert update["subject"] == appeal_no
    assert update["data"]["assignment"]["content"] == "在三单元二楼，人已经出来了"
    history = [e["type"] for e in await gateway.runtime.appeals.history(appeal_no)]
    assert history.count("citizen_added") == 1


def _part(n: int, text: str) -> InboundMessage:
    draft = AppealDraft(external_id=f"wx-e{n}", content=text)
    return InboundMessage(
        "portal-bengbu", b"{}", "application/json", draft, thread="openid-e", hold_seconds=60
    )


@pytest.mark.parametrize("text", ["电梯里被困了两个人，按警铃没人应", "楼道里着火了，浓烟很大"])
async def test_an_emergency_thread_is_routed_at_once(gateway: Gateway, text: str) -> None:
    receipt = await gateway.runtime.appeals.submit(_part(1, text))
    # routed at once: to its unit, or (no unit's words: a fire) to the centre's manual queue now
    record = await gateway.wait_state(receipt.appeal_no, "dispatched", "manual", timeout=3.0)
    assert record.appeal.urgency.value == "emergency"


async def test_an_ordinary_thread_is_still_held(gateway: Gateway) -> None:
    receipt = await gateway.runtime.appeals.submit(_part(1, "小区门口路灯坏了一个月"))
    with pytest.raises(TimeoutError):
        await gateway.wait_state(receipt.appeal_no, "dispatched", timeout=0.5)
    record = await gateway.runtime.appeals.get(receipt.appeal_no)
    assert record is not None and record.state.value == "accepted"

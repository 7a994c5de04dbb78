"""Citizen inquiry without login: state and timeline for the right phone tail, nothing personal,
the same 404 for every miss, 400 for a malformed tail, 429 past the rate limits."""

from __future__ import annotations

import json
from typing import Any

from gateway.api.inquiry import ADDRESS_LIMIT, WRONG_TAIL_LIMIT
from tests.conftest import Gateway

GAS = "我们小区燃气管道漏气，楼道里煤气味很重，请尽快派人处理"
PHONE = "13912345678"
NOTE = "已派人到幸福里小区现场查看"


async def ask(gateway: Gateway, appeal_no: str, tail: str) -> tuple[int, Any, str, dict[str, str]]:
    response = await gateway.client.get(
        "/api/v1/inquiry", params={"appeal_no": appeal_no, "phone_tail": tail}
    )
    text = await response.text()
    return response.status, json.loads(text), text, dict(response.headers)


async def signed_appeal(gateway: Gateway) -> str:
    appeal_no = await gateway.post_appeal(
        description=GAS, phone=PHONE, last_name="张", first_name="三", address_string="幸福里小区3栋"
    )
    record = await gateway.wait_state(appeal_no, "dispatched")
    token = (await gateway.runtime.credentials.get(record.unit)).api_token
    url = f"/api/v1/units/{record.unit}/appeals/{appeal_no}/events"
    headers = {"Authorization": f"Bearer {token}"}
    for event in ({"type": "signed"}, {"type": "progress", "note": NOTE}):
        answer = await gateway.client.post(url, json=event, headers=headers)
        assert answer.status == 200, await answer.text()
    return appeal_no


async def test_the_right_tail_shows_state_and_timeline_and_nothing_personal(gateway: Gateway) -> None:
    appeal_no = await signed_appeal(gateway)
    status, body, text, headers = await ask(gateway, appeal_no, PHONE[-4:])
    assert status == 200, body
    assert body["appeal_no"] == appeal_no
    assert body["state"] == "handling" and body["state_label"] == "办理中"
    assert body["channel"] == "portal-bengbu"
    assert body["unit_name"] == gateway.runtime.config.units["gas-supply"].name
    record = await gateway.runtime.appeals.require(appeal_no)
    assert body["received_at"] == record.appeal.received_at.isoformat()
    assert [e["type"] for e in body["timeline"]] == ["accepted", "dispatched", "signed", "progress"]
    assert [e["label"] for e in body["timeline"]][2] == "承办单位已签收"
    for event in body["timeline"]:
        assert set(event) == {"type", "at", "label"}
    for secret in (PHONE, "+86" + PHONE, "张", "幸福里", GAS[:8], NOTE, "router", "unit:", "channel:"):
        assert secret not in text, secret
    assert headers["Cache-Control"] == "no-store"


async def test_every_miss_gets_the_same_404(gateway: Gateway) -> None:
    appeal_no = await gateway.post_appeal(description=GAS, phone=PHONE)
    no_phone = await gateway.post_appeal(description=GAS + "。")
    missing = appeal_no[:-6] + "999999"
    answers = [
        await ask(gateway, appeal_no, "0000"),
        await ask(gateway, no_phone, "0000"),
        await ask(gateway, missing, PHONE[-4:]),
    ]
    assert [a[0] for a in answers] == [404, 404, 404]
    assert answers[0][1] == answers[1][1] == answers[2][1]
    assert answers[0][1]["error"]["code"] == "not_found"


async def test_a_malformed_query_gets_400(gateway: Gateway) -> None:
    appeal_no = await gateway.post_appeal(description=GAS, phone=PHONE)
    for tail in ("567", "45678", "56a8", "５６７８", ""):
        status, body, _, _ = await ask(gateway, appeal_no, tail)
        assert status == 400, tail
        assert body["error"]["code"] == "bad_request" and "phone_tail" in body["error"]["message"]
    status, body, _, _ = await ask(gateway, "not-a-number", "5678")
    assert status == 400 and "appeal_no" in body["error"]["message"]


async def test_wrong_tails_lock_the_appeal_number_even_for_the_right_tail(gateway: Gateway) -> None:
    appeal_no = await gateway.post_appeal(description=GAS, phone=PHONE)
    for i in range(WRONG_TAIL_LIMIT):
        status, _, _, _ = await ask(gateway, appeal_no, f"{i:04d}")
        assert status == 404
    status, body, text, headers = await ask(gateway, appeal_no, PHONE[-4:])
    assert status == 429 and body["error"]["code"] == "rate_limited"
    assert 3000 < int(headers["Retry-After"]) <= 3600
    assert "handling" not in text and "dispatched" not in text
    other = await gateway.post_appeal(description=GAS + "！", phone="13800001111")
    assert (await ask(gateway, other, "1111"))[0] == 200  # other appeal numbers are unaffected


async def test_one_address_is_limited_per_minute(gateway: Gateway) -> None:
    appeal_no = await gateway.post_appeal(description=GAS, phone=PHONE)
    for _ in range(ADDRESS_LIMIT):
        status, _, _, _ = await ask(gateway, appeal_no, PHONE[-4:])
        assert status == 200
    status, body, _, headers = await ask(gateway, appeal_no, PHONE[-4:])
    assert status == 429 and body["error"]["code"] == "rate_limited"
    assert 1 <= int(headers["Retry-After"]) <= 60
    keys = gateway.runtime.keys
    ttl = await gateway.runtime.redis.ttl(keys.k("inquiry", "addr", "127.0.0.1"))
    assert 0 < ttl <= 60  # the window expires: no counter lives forever
    assert (await ask(gateway, appeal_no, "abc"))[0] == 429  # malformed requests count too

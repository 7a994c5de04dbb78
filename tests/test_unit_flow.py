"""The foundation's bar: an Open311 POST reaches the unit as a signed CloudEvent; the unit signs with
its own token; another unit's token is refused; the operator sees ``signed``."""

from __future__ import annotations

import time

from cloudevents.core.bindings.http import HTTPMessage, from_http_event
from standardwebhooks import Webhook, WebhookVerificationError

from tests.conftest import OPERATOR_TOKEN, Gateway

GAS = "我们小区燃气管道漏气，楼道里煤气味很重，请尽快派人处理"


async def test_appeal_reaches_its_unit_as_a_signed_cloudevent_within_a_second(gateway: Gateway) -> None:
    started = time.monotonic()
    appeal_no = await gateway.post_appeal(description=GAS, phone="13912341234")
    (delivery,) = await gateway.receiver.wait_for(1, timeout=1.0)
    assert time.monotonic() - started < 1.0
    creds = await gateway.runtime.credentials.get(delivery.unit)
    Webhook(creds.webhook_secret).verify(delivery.body, delivery.headers)
    other = await gateway.runtime.credentials.get("water-supply")
    try:
        Webhook(other.webhook_secret).verify(delivery.body, delivery.headers)
        raise AssertionError("another unit's secret must not verify")
    except WebhookVerificationError:
        pass
    event = from_http_event(HTTPMessage(delivery.headers, delivery.body))
    assert event.get_subject() == appeal_no
    assert event.get_id() == delivery.headers["webhook-id"]
    data = event.get_data()
    assert isinstance(data, dict)
    assert data["appeal"]["appeal_no"] == appeal_no
    assert data["assignment"]["unit"] == delivery.unit == "gas-supply"
    assert data["appeal"]["citizen"]["phone"] == "+8613912341234"


async def test_unit_signs_with_its_own_token_and_the_operator_sees_it(gateway: Gateway) -> None:
    appeal_no = await gateway.post_appeal(description=GAS)
    record = await gateway.wait_state(appeal_no, "dispatched")
    unit = record.unit
    own = (await gateway.runtime.credentials.get(unit)).api_token
    other_unit = "water-supply"
    other = (await gateway.runtime.credentials.get(other_unit)).api_token
    url = f"/api/v1/units/{unit}/appeals/{appeal_no}/events"

    refused = await gateway.client.post(url, json={"type": "signed"}, headers=_bearer(other))
    assert refused.status == 401
    as_other = await gateway.client.post(
        f"/api/v1/units/{other_unit}/appeals/{appeal_no}/events",
        json={"type": "signed"},
        headers=_bearer(other),
    )
    assert as_other.status in (403, 404)
    no_token = await gateway.client.post(url, json={"type": "signed"})
    assert no_token.status == 401

    signed = await gateway.client.post(url, json={"type": "signed"}, headers=_bearer(own))
    assert signed.status == 200, await signed.text()
    again = await gateway.client.post(url, json={"type": "signed"}, headers=_bearer(own))
    assert again.status == 409
    assert "not allowed" in (await again.json())["error"]["message"]

    seen = await gateway.client.get(f"/api/v1/appeals/{appeal_no}", headers=_bearer(OPERATOR_TOKEN))
    body = await seen.json()
    assert (body["state"], body["unit"]) == ("signed", unit)
    assert [e["type"] for e in body["history"]] == ["accepted", "dispatched", "signed"]


async def test_operator_api_needs_the_operator_token(gateway: Gateway) -> None:
    appeal_no = await gateway.post_appeal(description=GAS)
    assert (await gateway.client.get(f"/api/v1/appeals/{appeal_no}")).status == 401
    wrong = await gateway.client.get(f"/api/v1/appeals/{appeal_no}", headers=_bearer("nope"))
    assert wrong.status == 401
    missing = await gateway.client.get("/api/v1/appeals/BB-20200101-000001", headers=_bearer(OPERATOR_TOKEN))
    assert missing.status == 404
    assert (await missing.json())["error"]["code"] == "not_found"


async def test_bad_event_bodies_get_4xx_json(gateway: Gateway) -> None:
    appeal_no = await gateway.post_appeal(description=GAS)
    record = await gateway.wait_state(appeal_no, "dispatched")
    token = (await gateway.runtime.credentials.get(record.unit)).api_token
    url = f"/api/v1/units/{record.unit}/appeals/{appeal_no}/events"
    as_json = {**_bearer(token), "Content-Type": "application/json"}
    for body, status, kwargs in [
        ("not json", 400, {"data": b"{oops", "headers": as_json}),
        ("nested 100,000 deep", 400, {"data": b"[" * 100_000 + b"]" * 100_000, "headers": as_json}),
        ("a 5,000-digit integer", 400, {"data": b'{"type": "signed", "days": ' + b"9" * 5000 + b"}"}),
        ("a lone surrogate", 400, {"data": b'{"type": "progress", "note": "\\ud800"}', "headers": as_json}),
        ("not UTF-8", 400, {"data": b'{"type": "progress", "note": "\xff\xfe"}', "headers": as_json}),
        ("NaN", 400, {"data": b'{"type": "extension_requested", "days": NaN}', "headers": as_json}),
        ("Unicode digits", 400, {"json": {"type": "extension_requested", "days": "²"}, "headers": as_json}),
        ("unknown type", 400, {"json": {"type": "teleported"}, "headers": _bearer(token)}),
        ("extra field", 400, {"json": {"type": "signed", "x": 1}, "headers": _bearer(token)}),
        ("form", 415, {"data": {"type": "signed"}, "headers": _bearer(token)}),
    ]:
        kwargs.setdefault("headers", as_json)
        response = await gateway.client.post(url, **kwargs)
        assert response.status == status, body
        code = "bad_request" if status == 400 else "unsupported_media_type"
        assert (await response.json())["error"]["code"] == code, body
    assert (await gateway.runtime.appeals.require(appeal_no)).state.value == "dispatched"


async def test_no_keyword_goes_to_the_manual_queue(gateway: Gateway) -> None:
    appeal_no = await gateway.post_appeal(description="你好，我想说一件事情")
    record = await gateway.wait_state(appeal_no, "manual")
    assert record.unit is None
    assert await gateway.runtime.redis.zscore(gateway.runtime.keys.manual_queue, appeal_no) is not None


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}

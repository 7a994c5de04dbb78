"""The portal kind as an Open311 client sees it."""

from __future__ import annotations

import io

from tests.conftest import APP_KEY, PORTAL_KEY, Gateway


async def test_services_lists_the_appeal_types(gateway: Gateway) -> None:
    response = await gateway.client.get("/open311/v2/services.json")
    assert response.status == 200
    codes = {s["service_code"] for s in await response.json()}
    assert codes == {"complaint", "help_request", "consultation", "suggestion", "report", "praise"}


async def test_post_answers_the_appeal_number_and_get_shows_status_without_personal_data(
    gateway: Gateway,
) -> None:
    appeal_no = await gateway.post_appeal(
        description="小区燃气管道漏气，闻到很重的煤气味",
        phone="13912341234",
        email="a@b.cn",
        first_name="伟",
        last_name="王",
        address_string="龙子湖区东风街道",
    )
    assert appeal_no.startswith("BB-")
    await gateway.wait_state(appeal_no, "dispatched")
    response = await gateway.client.get(
        f"/open311/v2/requests/{appeal_no}.json", params={"api_key": PORTAL_KEY}
    )
    assert response.status == 200
    (view,) = await response.json()
    assert view["service_request_id"] == appeal_no
    assert view["status"] == "open"
    assert view["agency_responsible"]
    text = await response.text()
    assert "13912341234" not in text and "a@b.cn" not in text and "王" not in text


async def test_the_api_key_tells_the_channel(gateway: Gateway) -> None:
    appeal_no = await gateway.post_appeal(api_key=APP_KEY, description="公交车到站不停")
    record = await gateway.runtime.appeals.get(appeal_no)
    assert record is not None and record.appeal.channel_id == "app-client"
    # another channel's key cannot read it
    response = await gateway.client.get(
        f"/open311/v2/requests/{appeal_no}.json", params={"api_key": PORTAL_KEY}
    )
    assert response.status == 404


async def test_json_body_with_idempotency_key_is_one_appeal(gateway: Gateway) -> None:
    headers = {"Idempotency-Key": "client-42", "X-Api-Key": PORTAL_KEY}
    body = {"service_code": "suggestion", "description": "建议在学校门口增设红绿灯"}
    first = await gateway.client.post("/open311/v2/requests.json", json=body, headers=headers)
    again = await gateway.client.post("/open311/v2/requests.json", json=body, headers=headers)
    assert (first.status, again.status) == (201, 200)
    assert (await first.json())[0]["service_request_id"] == (await again.json())[0]["service_request_id"]


async def test_oversized_body_gets_413_json(gateway: Gateway) -> None:
    size = gateway.runtime.config.gateway.intake.max_body_bytes + 10
    body = io.BytesIO(f"api_key={PORTAL_KEY}&description=".encode() + b"x" * size)
    response = await gateway.client.post(
        "/open311/v2/requests.json",
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status == 413
    assert (await response.json())[0]["code"] == 413


async def test_get_without_key_is_refused(gateway: Gateway) -> None:
    response = await gateway.client.get("/open311/v2/requests/BB-20261129-000001.json")
    assert response.status == 401
    assert (await response.json())[0]["code"] == 401

"""A local matter reaches the district covering the place, told which street to pass it down to."""

from __future__ import annotations

from tests.conftest import Gateway


async def test_a_street_matter_is_delivered_to_its_district_with_the_street_to_pass_to(
    gateway: Gateway,
) -> None:
    appeal_no = await gateway.post_appeal(
        description="小区门口的垃圾堆了一个星期没人清运，臭气熏天", address_string="龙子湖区东风街道"
    )
    (delivery,) = await gateway.receiver.wait_for(1)
    assert delivery.unit == "longzihu-district"
    data = delivery.json()["data"]
    assert data["appeal"]["appeal_no"] == appeal_no
    assert data["appeal"]["location"]["area"] == "340302001000"  # 东风街道's division code
    assert data["assignment"]["rule"] == "territorial:longzihu-district"
    assert data["assignment"]["pass_to"] == "longzihu-dongfeng-street"
    assert "环境卫生 is territorial" in data["assignment"]["explanation"]

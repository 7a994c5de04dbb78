"""The manual queue says why and offers the candidates (the workbench shows them: tests/workbench)."""

from __future__ import annotations

from tests.conftest import OPERATOR_TOKEN, Gateway

UNCLEAR = "龙子湖区东风街道 医院 学校 公交车 社保"  # four categories at once: the centre decides


async def test_a_manual_queue_entry_carries_three_candidates_with_reasons(gateway: Gateway) -> None:
    appeal_no = await gateway.post_appeal(description=UNCLEAR)
    await gateway.wait_state(appeal_no, "manual")
    response = await gateway.client.get(
        "/api/v1/dispatch-queue", headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"}
    )
    (item,) = [i for i in (await response.json())["items"] if i["appeal_no"] == appeal_no]
    # the three best of the four matters it names, each with the words that scored it
    units = [c["unit"] for c in item["candidates"]]
    assert len(set(units)) == 3
    assert set(units) <= {
        "human-resources",
        "bus-group",
        "transport-bureau",
        "health-commission",
        "education-bureau",
    }
    by_unit = {c["unit"]: c for c in item["candidates"]}
    social = by_unit["human-resources"]
    assert social["name"] == "蚌埠市人力资源和社会保障局"
    assert social["reason"].startswith("劳动和社会保障 scored ") and "社保(" in social["reason"]
    assert all(" scored " in c["reason"] and "(" in c["reason"] for c in item["candidates"])
    assert "too low: manual dispatch" in item["explanation"]

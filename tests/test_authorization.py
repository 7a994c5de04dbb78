"""The authorization matrix: every unit's token against every other unit's appeals is refused, and
no token opens the operator API."""

from __future__ import annotations

from tests.conftest import OPERATOR_TOKEN, Gateway

TEXTS = ["小区燃气泄漏，煤气味很重", "孩子入学学位不足，学校不接收", "公司拖欠工资三个月不发"]


async def test_no_unit_acts_on_or_sees_another_units_appeal(gateway: Gateway) -> None:
    owners: dict[str, str] = {}
    for text in TEXTS:
        appeal_no = await gateway.post_appeal(description=text)
        record = await gateway.wait_state(appeal_no, "dispatched")
        owners[appeal_no] = record.unit
    assert len(set(owners.values())) == len(TEXTS)
    units = list(gateway.runtime.config.network.units)
    for unit in units:
        headers = {"Authorization": f"Bearer {(await gateway.runtime.credentials.get(unit)).api_token}"}
        for appeal_no, owner in owners.items():
            if unit == owner:
                continue
            for path in (
                f"/api/v1/units/{unit}/appeals/{appeal_no}",
                f"/api/v1/units/{owner}/appeals/{appeal_no}",
            ):
                seen = await gateway.client.get(path, headers=headers)
                assert seen.status in (401, 404), (unit, path)
                acted = await gateway.client.post(f"{path}/events", json={"type": "signed"}, headers=headers)
                assert acted.status in (401, 404), (unit, path)
            operator = await gateway.client.get(f"/api/v1/appeals/{appeal_no}", headers=headers)
            assert operator.status == 401
    for appeal_no in owners:
        record = await gateway.runtime.appeals.get(appeal_no)
        assert record is not None and record.state.value == "dispatched"  # nobody signed anything
    ok = await gateway.client.get(
        f"/api/v1/appeals/{next(iter(owners))}", headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"}
    )
    assert ok.status == 200

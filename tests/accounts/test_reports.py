"""The joint supervisors read the KPIs: the weekly and monthly reports, without any personal data
(the citizens' subjects shown as hot-issue examples are masked for every reader); the repeats review
stays the operators'."""

from __future__ import annotations

from typing import Any

from gateway.runtime import shanghai_now
from tests.accounts.conftest import Staff
from tests.accounts.test_roles import ADDRESS, ID_NUMBER, NAME, PHONE, _no_personal_data
from tests.conftest import eventually

# the citizen writes their own address, name, phone and ID number into the text the subject is cut from
LEAK = f"{ADDRESS}{NAME}家燃气泄漏，电话{PHONE}，身份证{ID_NUMBER}，煤气味很重，请尽快处理"


async def _report(staff: Staff, who: str, kind: str, period: str, **params: str) -> tuple[int, Any]:
    response = await staff.gw.client.get(
        f"/api/v1/reports/{kind}/{period}", headers=staff.auth(who), params=params
    )
    return response.status, await (
        response.json() if response.content_type == "application/json" else response.text()
    )


async def test_a_supervisor_reads_the_reports_without_personal_data(staff: Staff) -> None:
    gw = staff.gw
    for again in ("", "又"):  # a hot issue: two appeals of one topic and place
        no = await gw.post_appeal(
            description=again + LEAK, phone=PHONE, last_name="李", first_name="秀英", address_string=ADDRESS
        )
        await gw.wait_state(no, "dispatched")
    month = shanghai_now().strftime("%Y-%m")

    async def both_recorded() -> Any:
        status, body = await _report(staff, "media.bengbu", "monthly", month)
        assert status == 200, body
        # both recorded as dispatched (the record can hold the second one as received for a moment)
        return body if body["total"] == 2 and body["by_unit"].get("gas-supply") == 2 else None

    report = await eventually(both_recorded, timeout=10)
    (hot,) = report["hot_issues"]
    assert hot["count"] == 2 and hot["examples"]
    assert "燃气泄漏" in hot["examples"][0] and "***" in hot["examples"][0]
    _no_personal_data(report)
    operator = (await _report(staff, "wang.li", "monthly", month))[1]
    _no_personal_data(operator)  # one report, whoever reads it
    assert operator["hot_issues"] == report["hot_issues"]

    week = shanghai_now().strftime("%G-W%V")
    status, weekly = await _report(staff, "media.bengbu", "weekly", week)
    assert status == 200 and weekly["total"] == 2
    status, page = await _report(staff, "media.bengbu", "weekly", week, format="html")
    assert status == 200 and "<html" in page.lower()
    _no_personal_data(page)
    status, body = await _report(staff, "media.bengbu", "weekly", "2026-W99")
    assert status == 400 and "period" in body["error"]["message"]


async def test_the_repeats_review_stays_the_operators(staff: Staff) -> None:
    gw = staff.gw
    listed = await gw.client.get("/api/v1/repeats", headers=staff.auth("media.bengbu"))
    assert listed.status == 403
    for decision in ("confirm", "unlink"):
        response = await gw.client.post(
            f"/api/v1/repeats/BB-20261202-000002/BB-20261202-000001/{decision}",
            headers=staff.auth("media.bengbu"),
        )
        assert response.status == 403, decision
    assert (await gw.client.get("/api/v1/repeats", headers=staff.auth("wang.li"))).status == 200

"""The operators' workbench in a real browser: an operator signs in, assigns a manual-queue appeal
and the unit's receiver gets it, sees the timeline with their name, records a return visit and
approves the review; a supervisor sees a supervised appeal with no phone number or name anywhere;
a request without the CSRF token is refused; the charts are the chart library's; the pages read in
Chinese and fit a 390 px phone."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from tests.accounts.conftest import Staff
from tests.conftest import eventually
from tests.workbench.conftest import Desk

pytestmark = pytest.mark.slow

UNCLEAR = "龙子湖区东风街道 医院 学校 公交车 社保"  # four categories at once: the centre decides
PHONE, NAME, ID_NUMBER = "13905521234", "李秀英", "340302198801011234"
ADDRESS = "龙子湖区东海大道1号3栋"
LEAK = f"{ADDRESS}楼道里电动车乱停，堵住消防通道，请联系{NAME}，电话{PHONE}，身份证{ID_NUMBER}"


async def _unit_reports(staff: Staff, no: str, unit: str, body: dict[str, Any]) -> None:
    token = (await staff.gw.runtime.credentials.get(unit)).api_token
    response = await staff.gw.client.post(
        f"/api/v1/units/{unit}/appeals/{no}/events", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status == 200, await response.text()


async def test_an_operator_signs_in_assigns_from_the_queue_and_the_unit_receives_it(
    staff: Staff, desk: Any
) -> None:
    no = await staff.gw.post_appeal(description=UNCLEAR)
    await staff.gw.wait_state(no, "manual")
    tab: Desk = await desk()
    await tab.sign_in("wang.li", "not the password")
    await tab.page.wait_for_selector("#signin-error:has-text('用户名或密码错误')")
    await tab.sign_in("wang.li")
    await tab.page.wait_for_selector("#me-name:has-text('wang.li（值班员）')")

    listed = await staff.gw.client.get("/api/v1/dispatch-queue", headers=staff.auth("wang.li"))
    (item,) = [i for i in (await listed.json())["items"] if i["appeal_no"] == no]
    first = item["candidates"][0]
    await tab.go("#/queue")
    queued = tab.page.locator(f'[data-testid="queue-row"][data-appeal-no="{no}"]')
    await queued.wait_for()
    assert first["name"] in await queued.inner_text()  # the first candidate, with its reason
    await queued.get_by_test_id("assign-submit").click()
    await queued.wait_for(state="detached")

    (delivered,) = [r for r in await staff.gw.receiver.wait_for(1) if no.encode() in r.body]
    assert delivered.unit == first["unit"]
    await tab.go(f"#/appeal/{no}")
    timeline = tab.page.get_by_test_id("appeal-timeline")
    await timeline.locator("li[data-event=dispatched]").wait_for()
    assert "派单 · wang.li" in await timeline.inner_text()
    assert tab.errors == []


async def test_an_operator_records_a_return_visit_and_approves_the_review(staff: Staff, desk: Any) -> None:
    no = await staff.gw.post_appeal(description="龙子湖区东风街道小区门口垃圾没人清运，臭味很大")
    record = await staff.gw.wait_state(no, "dispatched")
    await _unit_reports(staff, no, record.unit, {"type": "signed"})
    await _unit_reports(
        staff, no, record.unit, {"type": "replied", "content": "已安排环卫清运，现已清理干净。"}
    )
    tab: Desk = await desk()
    await tab.sign_in("wang.li")
    await tab.page.wait_for_selector("#me-name")
    await tab.go(f"#/appeal/{no}")
    await tab.page.get_by_test_id("visit-satisfaction").select_option("satisfied")
    await tab.page.get_by_test_id("visit-submit").click()
    await tab.page.wait_for_selector('[data-testid="appeal-state"]:has-text("已回访")')
    await tab.page.get_by_test_id("review-approve").click()
    await tab.page.wait_for_selector('[data-testid="appeal-state"]:has-text("已归档")')
    history = await staff.gw.runtime.appeals.history(no)
    assert [(e["type"], e["actor"]) for e in history if e["type"] in ("visited", "filed")] == [
        ("visited", "wang.li"),
        ("filed", "wang.li"),  # approved at review: filed 归档
    ]
    assert json.dumps(history, ensure_ascii=False).count("satisfied") == 1
    assert tab.errors == []


async def test_a_supervisor_sees_a_supervised_appeal_with_no_phone_number_or_name(
    staff: Staff, desk: Any
) -> None:
    no = await staff.gw.post_appeal(
        description=LEAK, phone=PHONE, last_name="李", first_name="秀英", address_string=ADDRESS
    )
    await staff.gw.wait_state(no, "dispatched")
    deadline = (staff.gw.runtime.clock() + timedelta(hours=48)).isoformat()
    supervised = await staff.gw.client.post(
        f"/api/v1/appeals/{no}/supervise",
        json={"note": "蚌埠日报督办：请三日内办结", "deadline": deadline},
        headers=staff.auth("chen"),
    )
    assert supervised.status == 200

    async def findable() -> Any:  # the supervisor's list is the record's: the recorder writes it
        found = await staff.gw.client.get(
            "/api/v1/appeals", params={"supervised": "true"}, headers=staff.auth("media.bengbu")
        )
        return no in [i["appeal_no"] for i in (await found.json())["items"]]

    await eventually(findable)
    tab: Desk = await desk()
    await tab.sign_in("media.bengbu")
    await tab.page.wait_for_selector("#me-name:has-text('督办员')")
    assert "派单队列" not in await tab.page.locator("#nav").inner_text()
    await tab.go("#/search")
    found = tab.page.locator(f'[data-testid="search-row"][data-appeal-no="{no}"]')
    await found.wait_for()
    await found.locator("a").click()
    await tab.page.get_by_test_id("appeal-timeline").locator("li[data-event=supervised]").wait_for()
    text = await tab.page.locator("body").inner_text()
    html = await tab.page.content()
    for secret in (PHONE, PHONE[-4:] + "，", NAME, "秀英", ID_NUMBER, "东海大道1号"):
        assert secret not in text and secret not in html, secret
    assert "楼道里电动车乱停" in text  # what the citizen wrote, with the personal data masked
    assert await tab.page.get_by_test_id("reveal-contact").count() == 0
    assert await tab.english(no, "media.bengbu", "chen") == []


async def test_a_state_changing_request_without_the_csrf_token_is_refused(staff: Staff, desk: Any) -> None:
    no = await staff.gw.post_appeal(description=UNCLEAR)
    await staff.gw.wait_state(no, "manual")
    tab: Desk = await desk()
    await tab.sign_in("wang.li")
    await tab.page.wait_for_selector("#me-name")
    status = await tab.page.evaluate(
        """no => fetch(`/api/v1/appeals/${no}/assign`, {method: "POST", credentials: "same-origin",
            headers: {"Content-Type": "application/json"}, body: JSON.stringify({unit: "human-resources"})})
            .then(r => r.status)""",
        no,
    )
    assert status == 403
    assert (await staff.gw.runtime.appeals.get(no)).state.value == "manual"  # type: ignore[union-attr]
    cookie = await tab.page.evaluate("document.cookie")
    assert "hotline_session" not in cookie  # HttpOnly: no script reads it


async def test_the_pages_read_in_chinese_draw_their_charts_with_echarts_and_fit_a_phone(
    staff: Staff, desk: Any
) -> None:
    no = await staff.gw.post_appeal(description=UNCLEAR)
    await staff.gw.wait_state(no, "manual")
    tab: Desk = await desk({"width": 390, "height": 844})
    await tab.sign_in("wang.li")
    await tab.page.wait_for_selector("#me-name")
    await tab.page.get_by_test_id("chart-hourly").locator("canvas").wait_for()
    drawn = await tab.page.evaluate(
        """() => ["chart-hourly", "chart-daily"].map(id =>
            !!echarts.getInstanceByDom(document.querySelector(`[data-testid=${id}]`)))"""
    )
    assert drawn == [True, True]
    await tab.page.locator('[data-testid="league"]').wait_for()
    for view in ("#/overview", "#/queue", f"#/appeal/{no}", "#/search", "#/reports"):
        await tab.go(view)
        await tab.page.wait_for_load_state("networkidle")
        width = await tab.page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, (view, width)
        assert await tab.english("wang.li") == [], view
        unlabelled = await tab.page.evaluate(
            """() => [...document.querySelectorAll("main input, main select, main textarea, main button")]
                .filter(c => !(c.labels && c.labels.length) && !c.getAttribute("aria-label")
                             && !(c.tagName === "BUTTON" && c.innerText.trim()))
                .map(c => c.outerHTML)"""
        )
        assert unlabelled == [], (view, unlabelled)
    assert tab.errors == []


async def test_the_queue_updates_itself_and_a_step_someone_else_took_first_is_said_so(
    staff: Staff, desk: Any
) -> None:
    tab: Desk = await desk()
    await tab.sign_in("wang.li")
    await tab.page.wait_for_selector("#me-name")
    await tab.go("#/queue")
    await tab.page.wait_for_selector("text=人工派单队列")
    no = await staff.gw.post_appeal(description=UNCLEAR)  # arrives while the page is open
    await tab.page.locator(f'[data-testid="queue-row"][data-appeal-no="{no}"]').wait_for()

    done = await staff.gw.post_appeal(description="龙子湖区东风街道小区门口垃圾没人清运，臭味很大")
    record = await staff.gw.wait_state(done, "dispatched")
    await _unit_reports(staff, done, record.unit, {"type": "signed"})
    await _unit_reports(staff, done, record.unit, {"type": "replied", "content": "已清运。"})
    visit = {"satisfaction": "satisfied"}
    answer = await staff.gw.client.post(
        f"/api/v1/appeals/{done}/return-visit", json=visit, headers=staff.auth("chen")
    )
    assert answer.status == 200
    await tab.go(f"#/appeal/{done}")
    approve = tab.page.get_by_test_id("review-approve")
    await approve.wait_for()
    first = await staff.gw.client.post(
        f"/api/v1/appeals/{done}/review", json={"decision": "approve"}, headers=staff.auth("chen")
    )
    assert first.status == 200  # a colleague filed it a moment ago
    await approve.click()
    await tab.page.wait_for_selector("[data-testid=review-form] .error:has-text('状态已经变化')")


async def test_an_endpoint_disabled_by_410_is_re_enabled_from_the_appeal_and_the_unit_gets_it(
    staff: Staff, desk: Any
) -> None:
    staff.gw.receiver.statuses["gas-supply"] = [410]  # the unit's endpoint says: gone
    no = await staff.gw.post_appeal(description="小区楼道里燃气泄漏，煤气味很重")
    await staff.gw.receiver.wait_for(1)

    async def disabled() -> bool:
        units = await staff.gw.client.get("/api/v1/units/health", headers=staff.auth("chen"))
        return any(
            u["id"] == "gas-supply" and u["status"] == "disabled" for u in (await units.json())["items"]
        )

    await eventually(disabled)
    tab: Desk = await desk()
    await tab.sign_in("wang.li")
    await tab.page.wait_for_selector("#me-name")
    await tab.go(f"#/appeal/{no}")
    await tab.page.get_by_role("button", name="重新启用").click()
    arrived = await staff.gw.receiver.wait_for(2)  # the parked delivery goes out again
    assert arrived[1].unit == "gas-supply" and no.encode() in arrived[1].body
    assert tab.errors == []

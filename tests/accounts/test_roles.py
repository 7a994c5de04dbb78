"""Every role boundary over HTTP, against the sample city's gateway recording into SQLite: a
supervisor reads a supervised appeal without any personal data and is refused (and audited) when it
asks for it; an operator's actions carry their name; a disabled token is refused at once."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from sqlalchemy import text

from gateway.runtime import shanghai_now
from tests.accounts.conftest import Staff
from tests.conftest import OPERATOR_TOKEN, eventually

PHONE, NAME, ADDRESS, ID_NUMBER = "13905521234", "李秀英", "龙子湖区东海大道1号3栋", "340302198801011234"
LEAK = f"{ADDRESS}燃气泄漏，煤气味很重，请联系{NAME}，电话{PHONE}，身份证{ID_NUMBER}"


async def _appeal(staff: Staff) -> str:
    no: str = await staff.gw.post_appeal(
        description=LEAK, phone=PHONE, last_name="李", first_name="秀英", address_string=ADDRESS
    )
    await staff.gw.wait_state(no, "dispatched")
    return no


async def _get(staff: Staff, who: str, path: str, **params: str) -> tuple[int, Any]:
    response = await staff.gw.client.get(path, headers=staff.auth(who), params=params)
    return response.status, await response.json()


async def _supervise(staff: Staff, who: str, no: str, hours: float = 48) -> tuple[int, Any]:
    deadline = (shanghai_now() + timedelta(hours=hours)).isoformat()
    body = {"note": "市绩效办督办：三日内办结", "deadline": deadline}
    response = await staff.gw.client.post(
        f"/api/v1/appeals/{no}/supervise", json=body, headers=staff.auth(who)
    )
    return response.status, await response.json()


def _no_personal_data(body: Any) -> None:
    dumped = json.dumps(body, ensure_ascii=False)
    for personal in (PHONE, "0552 1234", NAME, "秀英", "东海大道", ID_NUMBER):
        assert personal not in dumped, personal


async def _audit(staff: Staff, **filters: str) -> list[dict[str, Any]]:
    status, body = await _get(staff, "chen", "/api/v1/audit", **filters)
    assert status == 200, body
    items: list[dict[str, Any]] = body["items"]
    return items


async def test_a_supervisor_sees_a_supervised_appeal_without_personal_data(staff: Staff) -> None:
    no = await _appeal(staff)
    status, body = await _get(staff, "media.bengbu", f"/api/v1/appeals/{no}")
    assert status == 403 and "supervised appeals only" in body["error"]["message"]
    assert (await _supervise(staff, "media.bengbu", no))[0] == 403  # read-only
    status, body = await _supervise(staff, "wang.li", no)
    assert status == 200 and body["supervised"] is True
    status, body = await _get(staff, "media.bengbu", f"/api/v1/appeals/{no}")
    assert status == 200, body
    _no_personal_data(body)
    assert body["supervision"]["note"] == "市绩效办督办：三日内办结"
    assert "燃气泄漏" in body["appeal"]["content"] and body["history"][-1]["type"] == "supervised"

    async def listed() -> Any:
        status, found = await _get(staff, "media.bengbu", "/api/v1/appeals", q="燃气泄漏")
        assert status == 200, found
        return found if found["total"] == 1 else None  # the supervisor's search is of supervised ones

    found = await eventually(listed)
    assert found["items"][0]["appeal_no"] == no
    _no_personal_data(found)
    status, found = await _get(staff, "wang.li", "/api/v1/appeals", supervised="true")
    assert status == 200 and [i["appeal_no"] for i in found["items"]] == [no]
    status, found = await _get(staff, "wang.li", "/api/v1/appeals", supervised="maybe")
    assert status == 400 and found["error"]["detail"]["field"] == "supervised"


async def test_personal_data_asked_for_outright_is_403_and_audited(staff: Staff) -> None:
    no = await _appeal(staff)
    await _supervise(staff, "wang.li", no)
    for path, params in (
        (f"/api/v1/appeals/{no}", {"reveal": "contact"}),
        (f"/api/v1/appeals/{no}/contact", {}),
        ("/api/v1/appeals", {"phone": PHONE}),
    ):
        status, body = await _get(staff, "media.bengbu", path, **params)
        assert status == 403, (path, body)
        _no_personal_data(body)
    refused = await _audit(staff, actor="media.bengbu")
    assert [(r["action"], r["allowed"], r["role"]) for r in refused] == [
        ("search_phone", False, "supervisor"),
        ("reveal_contact", False, "supervisor"),
        ("reveal_contact", False, "supervisor"),
    ]
    assert {r["appeal_no"] for r in refused} == {no, None}
    status, body = await _get(staff, "media.bengbu", "/api/v1/audit")
    assert status == 403  # the audit is the admins'
    status, body = await _get(staff, "wang.li", "/api/v1/audit")
    assert status == 403


async def test_every_read_of_personal_data_is_audited_and_admins_query_it(staff: Staff) -> None:
    no = await _appeal(staff)
    status, body = await _get(staff, "wang.li", f"/api/v1/appeals/{no}")
    assert status == 200 and body["appeal"]["citizen"]["phone"] == "+86" + PHONE
    status, body = await _get(staff, "wang.li", f"/api/v1/appeals/{no}/contact")
    assert status == 200 and body["citizen"]["name"] == "李 秀英" and body["address"] == ADDRESS
    reads = await _audit(staff, appeal_no=no)
    assert [(r["actor"], r["action"], r["allowed"]) for r in reads] == [
        ("wang.li", "reveal_contact", True),
        ("wang.li", "read_appeal", True),
    ]
    _no_personal_data(reads)
    today = shanghai_now().date().isoformat()
    assert len(await _audit(staff, actor="wang.li", **{"from": today, "to": today})) == 2
    assert await _audit(staff, actor="nobody") == []
    page = await _get(staff, "chen", "/api/v1/audit", per_page="1", page="2")
    assert page[1]["total"] == 2 and len(page[1]["items"]) == 1
    for bad in ({"colour": "red"}, {"from": "yesterday"}, {"per_page": "0"}):
        status, body = await _get(staff, "chen", "/api/v1/audit", **bad)
        assert status == 400 and body["error"]["code"] == "bad_request", bad


async def test_an_operators_action_shows_their_name_in_the_history(staff: Staff) -> None:
    no = await _appeal(staff)
    assert (await _supervise(staff, "wang.li", no))[0] == 200
    response = await staff.gw.client.post(
        f"/api/v1/appeals/{no}/supervise",
        json={"note": "省12345督办", "deadline": (shanghai_now() + timedelta(days=1)).isoformat()},
        headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"},
    )
    assert response.status == 200
    history = await staff.gw.runtime.appeals.history(no)
    assert [(e["type"], e["actor"]) for e in history[-2:]] == [
        ("supervised", "wang.li"),
        ("supervised", "operator"),
    ]

    async def recorded() -> Any:
        status, body = await _get(staff, "chen", f"/api/v1/appeals/{no}")
        return body if status == 200 and body["supervision"]["by"] == "operator" else None

    assert (await eventually(recorded))["supervision"]["note"] == "省12345督办"


async def test_a_disabled_or_unknown_token_is_refused_at_once(staff: Staff) -> None:
    no = await _appeal(staff)
    assert (await _get(staff, "wang.li", f"/api/v1/appeals/{no}"))[0] == 200
    await staff.store.disable("wang.li", shanghai_now())
    status, body = await _get(staff, "wang.li", f"/api/v1/appeals/{no}")
    assert status == 401 and "disabled" in body["error"]["message"]
    assert (await _supervise(staff, "wang.li", no))[0] == 401
    staff.tokens["forged"] = "hlk_" + "x" * 43
    assert (await _get(staff, "forged", "/api/v1/dispatch-queue"))[0] == 401
    assert (await _get(staff, "media.bengbu", "/api/v1/dispatch-queue"))[0] == 403
    assert (await _get(staff, "media.bengbu", "/api/v1/units/health"))[0] == 200  # the KPIs


async def test_supervising_checks_its_input(staff: Staff) -> None:
    no = await _appeal(staff)
    client, auth = staff.gw.client, staff.auth("wang.li")
    past = (shanghai_now() - timedelta(hours=1)).isoformat()
    for body, status in (
        ({"note": "督办"}, 400),
        ({"note": "督办", "deadline": "2026-12-40"}, 400),
        ({"note": "督办", "deadline": "2026-12-10T10:00:00"}, 400),  # no offset
        ({"note": "", "deadline": past}, 400),
        ({"note": "督办", "deadline": past}, 409),
    ):
        response = await client.post(f"/api/v1/appeals/{no}/supervise", json=body, headers=auth)
        assert response.status == status, (body, await response.text())
    response = await client.post("/api/v1/appeals/BB20991231999999/supervise", json={}, headers=auth)
    assert response.status in (400, 404)


async def test_personal_data_is_not_shown_when_the_audit_cannot_be_written(staff: Staff) -> None:
    no = await _appeal(staff)
    assert staff.gw.runtime.records is not None
    async with staff.gw.runtime.records.engine.begin() as conn:
        await conn.execute(text("DROP TABLE audit"))  # the audit's table is gone: nothing can be written
    status, body = await _get(staff, "wang.li", f"/api/v1/appeals/{no}")
    assert status == 503 and "audit" in body["error"]["message"]
    _no_personal_data(body)

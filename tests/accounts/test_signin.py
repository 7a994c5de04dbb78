"""Signing in to the workbench over HTTP (the sample city's gateway, recording into SQLite): a
session cookie that scripts cannot read, a CSRF token that every state-changing request must send
back, the same answer for a wrong password and an unknown name, slowed and alerted failures, a
disabled account signed out at once, and every action in the audit log with who did it."""

from __future__ import annotations

from typing import Any

from tests.accounts.conftest import Staff
from tests.conftest import OPERATOR_TOKEN, eventually

PASSWORD = "correct horse battery"
UNCLEAR = "龙子湖区东风街道 医院 学校 公交车 社保"  # four categories at once: to the manual queue


async def _sign_in(staff: Staff, name: str = "wang.li", password: str = PASSWORD) -> tuple[int, Any, Any]:
    response = await staff.gw.client.post("/api/v1/session", json={"name": name, "password": password})
    return response.status, await response.json(), response


async def _signed_in(staff: Staff, name: str = "wang.li") -> str:
    await staff.store.set_password(name, PASSWORD, staff.gw.runtime.clock())
    status, body, _ = await _sign_in(staff, name)
    assert status == 200, body
    csrf: str = body["csrf"]
    return csrf


async def test_signing_in_sets_an_httponly_strict_cookie_and_answers_who_and_the_csrf_token(
    staff: Staff,
) -> None:
    await staff.store.set_password("wang.li", PASSWORD, staff.gw.runtime.clock())
    status, body, response = await _sign_in(staff)
    assert status == 200
    assert body["name"] == "wang.li" and body["role"] == "operator" and len(body["csrf"]) >= 32
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("hotline_session=")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/api/v1/" in cookie
    assert "Secure" not in cookie  # plain HTTP on loopback; Secure is set when served over TLS
    me = await staff.gw.client.get("/api/v1/session")
    assert (await me.json())["name"] == "wang.li"
    out = await staff.gw.client.delete("/api/v1/session", headers={"X-CSRF-Token": body["csrf"]})
    assert out.status == 200
    assert (await staff.gw.client.get("/api/v1/session")).status == 401


async def test_a_wrong_password_and_an_unknown_name_get_the_same_answer(staff: Staff) -> None:
    await staff.store.set_password("wang.li", PASSWORD, staff.gw.runtime.clock())
    wrong = await _sign_in(staff, "wang.li", "not the password")
    unknown = await _sign_in(staff, "nobody.here", "not the password")
    no_password = await _sign_in(staff, "chen", "not the password")  # an account without a password
    assert wrong[0] == unknown[0] == no_password[0] == 401
    assert wrong[1] == unknown[1] == no_password[1]


async def test_a_state_changing_request_without_the_csrf_token_is_refused(staff: Staff) -> None:
    csrf = await _signed_in(staff)
    no = await staff.gw.post_appeal(description=UNCLEAR)
    await staff.gw.wait_state(no, "manual")
    path = f"/api/v1/appeals/{no}/assign"
    refused = await staff.gw.client.post(path, json={"unit": "human-resources"})
    assert refused.status == 403 and (await refused.json())["error"]["code"] == "csrf"
    forged = await staff.gw.client.post(path, json={"unit": "human-resources"}, headers={"X-CSRF-Token": "x"})
    assert forged.status == 403
    assert (await staff.gw.runtime.appeals.get(no)).state.value == "manual"  # type: ignore[union-attr]
    done = await staff.gw.client.post(path, json={"unit": "human-resources"}, headers={"X-CSRF-Token": csrf})
    assert done.status == 200, await done.text()
    record = await staff.gw.wait_state(no, "dispatched")
    assert record.unit == "human-resources"
    history = await staff.gw.runtime.appeals.history(no)
    assert any(e["type"] == "dispatched" and e["actor"] == "wang.li" for e in history)
    audit = await staff.gw.client.get(
        "/api/v1/audit", params={"actor": "wang.li"}, headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"}
    )
    actions = [(r["action"], r["appeal_no"]) for r in (await audit.json())["items"]]
    assert ("assign", no) in actions and ("sign_in", None) in actions


async def test_a_disabled_account_is_signed_out_at_once(staff: Staff) -> None:
    await _signed_in(staff)
    assert (await staff.gw.client.get("/api/v1/dispatch-queue")).status == 200
    await staff.store.disable("wang.li", staff.gw.runtime.clock())
    assert (await staff.gw.client.get("/api/v1/dispatch-queue")).status == 401
    assert (await staff.gw.client.get("/api/v1/session")).status == 401


async def test_failing_to_sign_in_again_and_again_is_slowed_and_alerted(staff: Staff) -> None:
    await staff.store.set_password("wang.li", PASSWORD, staff.gw.runtime.clock())
    statuses = [(await _sign_in(staff, "wang.li", f"guess {i}"))[0] for i in range(4)]
    assert statuses == [401, 401, 401, 401]
    status, _body, response = await _sign_in(staff)  # the right password, but it must wait now
    assert status == 429 and int(response.headers["Retry-After"]) >= 1
    alerts = await staff.gw.client.get(
        "/api/v1/alerts", headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"}
    )
    active = (await alerts.json())["active"]
    assert any(a["kind"] == "signin_failures" and a["account"] == "wang.li" for a in active)


async def test_the_overview_counts_appeals_per_channel_and_ranks_the_units(staff: Staff) -> None:
    no = await staff.gw.post_appeal(description="龙子湖区东风街道小区门口垃圾没人清运，臭味很大")
    await staff.gw.wait_state(no, "dispatched")
    auth = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
    unit = (await staff.gw.runtime.appeals.get(no)).unit  # type: ignore[union-attr]

    async def counted() -> Any:  # the recorder writes the record within a second or so
        body = await (await staff.gw.client.get("/api/v1/overview", headers=auth)).json()
        ranked = any(row["unit"] == unit and row["appeals"] >= 1 for row in body["league"])
        return body if ranked and sum(body["hourly"].get("portal-bengbu", [0])) >= 1 else None

    body = await eventually(counted)
    assert len(body["hours"]) == 24 and len(body["days"]) == 30
    assert body["hourly"]["portal-bengbu"][-1] >= 1 and body["daily"]["portal-bengbu"][-1] >= 1


async def test_appeals_about_to_miss_their_deadline_are_listed_before_they_miss_it(staff: Staff) -> None:
    no = await staff.gw.post_appeal(description="龙子湖区东风街道小区门口垃圾没人清运，臭味很大")
    await staff.gw.wait_state(no, "dispatched")
    auth = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
    soon = await staff.gw.client.get("/api/v1/due-soon", params={"within_minutes": "10080"}, headers=auth)
    (item,) = [i for i in (await soon.json())["items"] if i["appeal_no"] == no]
    assert item["waits_on"] == "sign_by" and item["left_minutes"] > 0
    none = await staff.gw.client.get("/api/v1/due-soon", params={"within_minutes": "1"}, headers=auth)
    assert no not in [i["appeal_no"] for i in (await none.json())["items"]]
    bad = await staff.gw.client.get("/api/v1/due-soon", params={"within_minutes": "nan"}, headers=auth)
    assert bad.status == 400

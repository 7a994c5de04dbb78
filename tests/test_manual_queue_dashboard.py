"""The manual queue says why and offers the candidates: in the API and on the dashboard (a real
headless browser: Debian's chromium driven by playwright)."""

from __future__ import annotations

import pytest

from tests.conftest import OPERATOR_TOKEN, Gateway
from tests.health.test_dashboard_browser import ARGS, CHROMIUM

UNCLEAR = "龙子湖区东风街道 医院 学校 公交车 社保"  # four categories at once: the centre decides


async def test_a_manual_queue_entry_carries_three_candidates_with_reasons(gateway: Gateway) -> None:
    appeal_no = await gateway.post_appeal(description=UNCLEAR)
    await gateway.wait_state(appeal_no, "manual")
    response = await gateway.client.get(
        "/api/v1/dispatch-queue", headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"}
    )
    (item,) = [i for i in (await response.json())["items"] if i["appeal_no"] == appeal_no]
    assert [c["unit"] for c in item["candidates"]] == ["human-resources", "bus-group", "health-commission"]
    first = item["candidates"][0]
    assert first["name"] == "蚌埠市人力资源和社会保障局"
    assert first["reason"].startswith("劳动和社会保障 scored ") and "社保(" in first["reason"]
    assert "too low: manual dispatch" in item["explanation"]


@pytest.mark.slow
@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed (`make test-deps`)")
async def test_the_dashboard_shows_the_candidates_and_why(gateway: Gateway) -> None:
    from playwright.async_api import async_playwright

    appeal_no = await gateway.post_appeal(description=UNCLEAR)
    await gateway.wait_state(appeal_no, "manual")
    base = str(gateway.client.make_url("")).rstrip("/")
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = await browser.new_page()
            await page.goto(f"{base}/dashboard")
            await page.fill("#token", OPERATOR_TOKEN)
            await page.click("#signin-form button[type=submit]")
            row = page.locator("#manual tbody tr", has_text=appeal_no)
            await row.wait_for()
            candidates = row.locator(".candidate")
            assert await candidates.count() == 3
            text = await candidates.nth(0).inner_text()
            assert text.startswith("1. 蚌埠市人力资源和社会保障局") and "社保" in text
            assert "scored" in (await candidates.nth(0).get_attribute("title") or "")
        finally:
            await browser.close()

"""The dashboard in a real headless browser (Debian's chromium driven by playwright): sign in with the
operator token, see the channel tiles, see a channel turn red after forged posts."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import OPERATOR_TOKEN, Gateway
from tests.health.conftest import post_sms, settle, sms

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="Debian's chromium is not installed and could not be (`make test-deps` installs it)",
)


@pytest.mark.slow
async def test_a_channel_tile_turns_red_after_forged_posts(gateway: Gateway) -> None:
    from playwright.async_api import async_playwright

    base = str(gateway.client.make_url("")).rstrip("/")
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = await browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            await page.goto(f"{base}/dashboard")
            assert await page.title() == "12345 渠道网关 · 运行监控"

            await page.fill("#token", "wrong-token")
            await page.click("#signin-form button[type=submit]")
            await page.wait_for_selector("#signin-error:has-text('令牌无效')")

            await page.fill("#token", OPERATOR_TOKEN)
            await page.click("#signin-form button[type=submit]")
            tile = page.locator('[data-channel="sms-12345"]')
            await tile.wait_for()
            assert await page.locator(".tile").count() == 17
            assert await tile.get_attribute("data-status") != "down"
            assert "12345短信" in await tile.inner_text()
            assert await page.evaluate("sessionStorage.getItem('hotline.operatorToken')") == OPERATOR_TOKEN

            for _ in range(3):  # a provider whose token no longer matches: every push refused
                assert await post_sms(gateway, sms(1, "13912341234", "路灯坏了"), token="forged") == 401
            await page.wait_for_selector('[data-channel="sms-12345"][data-status="down"]', timeout=10_000)
            colour = await tile.evaluate("t => getComputedStyle(t).borderTopColor")
            assert colour == "rgb(198, 40, 40)"  # red
            assert "中断" in await tile.inner_text()
            assert await page.locator("#units tbody").count() == 1
            assert errors == []
        finally:
            await browser.close()
    await settle()

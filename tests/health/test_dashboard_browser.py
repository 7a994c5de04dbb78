"""The workbench's overview in a real headless browser (Debian's chromium driven by playwright): the
bootstrap admin signs in with ``OPERATOR_TOKEN`` as ``make run``'s first user does, sees the channel
tiles, and sees a channel turn red after forged posts."""

from __future__ import annotations

import pytest

from tests.conftest import OPERATOR_TOKEN, Gateway
from tests.health.conftest import post_sms, settle, sms
from tests.workbench.conftest import ARGS, CHROMIUM, Desk

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="Debian's chromium is not installed and could not be (`make test-deps` installs it)",
)


@pytest.mark.slow
async def test_a_channel_tile_turns_red_after_forged_posts(gateway: Gateway) -> None:
    from playwright.async_api import async_playwright

    assert gateway.runtime.records is not None
    await gateway.runtime.records.start(workers=False)  # sessions live in the record's database
    base = str(gateway.client.make_url("")).rstrip("/")
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            tab = Desk(await browser.new_page(), base)
            await tab.sign_in("operator", "wrong-token")
            await tab.page.wait_for_selector("#signin-error:has-text('用户名或密码错误')")
            await tab.sign_in("operator", OPERATOR_TOKEN)
            await tab.page.wait_for_selector("#me-name:has-text('管理员')")
            assert await tab.page.title() == "概览 · 12345 热线工作台"
            tile = tab.page.locator('[data-channel="sms-12345"]')
            await tile.wait_for()
            assert await tab.page.locator(".tile").count() == 17
            assert await tile.get_attribute("data-status") != "down"
            assert "12345短信" in await tile.inner_text()

            for _ in range(3):  # a provider whose token no longer matches: every push refused
                assert await post_sms(gateway, sms(1, "13912341234", "路灯坏了"), token="forged") == 401
            await tab.page.wait_for_selector('[data-channel="sms-12345"][data-status="down"]', timeout=10_000)
            colour = await tab.page.locator('[data-channel="sms-12345"]').evaluate(
                "t => getComputedStyle(t).borderLeftColor"
            )
            assert colour == "rgb(179, 38, 30)"  # red
            assert "中断" in await tab.page.locator('[data-channel="sms-12345"]').inner_text()
            assert tab.errors == []
        finally:
            await browser.close()
    await settle()

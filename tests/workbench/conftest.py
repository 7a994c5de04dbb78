"""The workbench in Debian's chromium (driven by playwright) against the sample city's gateway with
an account of each role; each person signs in with a password as the centre's staff would."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.accounts.conftest import Staff, database_url, empty_postgres, engine, postgres_url, staff

__all__ = ["database_url", "empty_postgres", "engine", "postgres_url", "staff"]

CHROMIUM = Path("/usr/bin/chromium")
HAVE_CHROMIUM = CHROMIUM.exists()
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "correct horse battery"
NUMBERS = r"[A-Z]{2}-\d{8}-\d{6}"  # appeal numbers: identifiers, not words


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    if not HAVE_CHROMIUM:
        pytest.skip("Debian's chromium is not installed (`make test-deps` installs it)")
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        launched = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield launched
        finally:
            await launched.close()


class Desk:
    """One person's browser tab on the workbench."""

    def __init__(self, page: Any, base: str) -> None:
        self.page = page
        self.base = base
        self.errors: list[str] = []
        page.on("pageerror", lambda e: self.errors.append(str(e)))

    async def sign_in(self, name: str, password: str = PASSWORD) -> None:
        await self.page.goto(f"{self.base}/dashboard")
        await self.page.get_by_test_id("login-username").fill(name)
        await self.page.get_by_test_id("login-password").fill(password)
        await self.page.get_by_test_id("login-submit").click()

    async def go(self, hash_: str) -> None:
        await self.page.evaluate("h => { location.hash = h; }", hash_)

    async def english(self, *allowed: str) -> list[str]:
        """English words in the page's visible text (appeal numbers and ``allowed`` names aside)."""
        found: list[str] = await self.page.evaluate(
            """([numbers, allowed]) => {
                let text = document.body.innerText.replace(new RegExp(numbers, "g"), "");
                for (const a of allowed) text = text.split(a).join("");
                return text.match(/[A-Za-z]{2,}/g) || [];
            }""",
            [NUMBERS, list(allowed)],
        )
        return found


@pytest.fixture
async def desk(browser: Any, staff: Staff) -> AsyncIterator[Any]:
    """A tab for the operator ``wang.li`` (its password set), and a way to open more."""
    now = staff.gw.runtime.clock()
    for name in staff.tokens:
        await staff.store.set_password(name, PASSWORD, now)
    base = str(staff.gw.client.make_url("")).rstrip("/")

    async def open_desk(viewport: dict[str, int] | None = None) -> Desk:
        context = await browser.new_context(viewport=viewport or {"width": 1280, "height": 900})
        return Desk(await context.new_page(), base)

    yield open_desk

"""The screenshots of docs/operations.md: the workbench of a gateway served as ``make run`` serves it
(embedded stores in a fresh data directory), with the sample history loaded (``demo history``), a few
live appeals (one in the manual queue, one supervised) and one account of each role, photographed in
Debian's chromium at a desk's 1440x900 and a phone's 390x844.

    python -m bench.screenshots docs/img
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

import aiohttp
from aiohttp import web

from bench._common import ROOT, serve_on_loopback
from gateway.runtime import shanghai_now

CLI = [sys.executable, "-m", "gateway"]
TOKEN = "screenshot-operator-token"
PASSWORD = "correct horse battery"
CHROMIUM = "/usr/bin/chromium"
APPEALS = [
    "龙子湖区东风街道 医院 学校 公交车 社保",  # four categories at once: to the manual queue
    "龙子湖区东风街道小区门口垃圾没人清运，臭味很大，请尽快处理",
    "蚌山区宏业村街道某小区楼道里电动车乱停，堵住消防通道，多次反映无人管",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    done = subprocess.run([*CLI, *args], env=env, input=stdin, capture_output=True, text=True, check=True)
    return done.stdout


def _serve(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen([*CLI, "serve", "--config", str(ROOT / "config"), "--port", str(port)], env=env)


async def _wait_ready(base: str) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(300):
            try:
                async with http.get(f"{base}/readyz") as r:
                    if r.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit("the gateway did not become ready")


async def _live(base: str) -> list[str]:
    numbers = []
    auth = {"Authorization": f"Bearer {TOKEN}"}
    async with aiohttp.ClientSession() as http:
        for text in APPEALS:
            data = {"api_key": "demo-portal-key", "service_code": "complaint", "description": text}
            async with http.post(f"{base}/open311/v2/requests.json", data=data) as r:
                numbers.append((await r.json())[0]["service_request_id"])
        await asyncio.sleep(1.5)  # the dispatcher routes them (a bench, not a test: a pause will do)
        deadline = (shanghai_now() + timedelta(days=2)).isoformat()
        body = {"note": "蚌埠日报督办：请三日内办结并答复市民", "deadline": deadline}
        async with http.post(f"{base}/api/v1/appeals/{numbers[2]}/supervise", json=body, headers=auth) as r:
            assert r.status == 200, await r.text()
    return numbers


async def _shoot(base: str, out: Path, numbers: list[str]) -> None:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox"])
        for name, size in (
            ("desk", {"width": 1440, "height": 900}),
            ("phone", {"width": 390, "height": 844}),
        ):
            context = await browser.new_context(viewport=size, device_scale_factor=1, locale="zh-CN")
            page = await context.new_page()
            await page.goto(f"{base}/dashboard")
            if name == "desk":
                await page.screenshot(path=str(out / "workbench-signin.png"))
            await page.get_by_test_id("login-username").fill("wang.li")
            await page.get_by_test_id("login-password").fill(PASSWORD)
            await page.get_by_test_id("login-submit").click()
            await page.wait_for_selector("#me-name")
            views = [("overview", "#/overview"), ("queue", "#/queue"), ("appeal", f"#/appeal/{numbers[1]}")]
            if name == "desk":
                views += [("search", "#/search?q=垃圾"), ("reports", "#/reports")]
            for view, hash_ in views:
                await page.evaluate("h => { location.hash = h; }", hash_)
                await page.wait_for_load_state("networkidle")
                await page.wait_for_timeout(1200)  # the charts' entry animation
                full = view != "overview"
                await page.screenshot(path=str(out / f"workbench-{view}-{name}.png"), full_page=full)
        context = await browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
        page = await context.new_page()
        await page.goto(f"{base}/dashboard")
        await page.get_by_test_id("login-username").fill("media.bengbu")
        await page.get_by_test_id("login-password").fill(PASSWORD)
        await page.get_by_test_id("login-submit").click()
        await page.wait_for_selector("#me-name")
        await page.evaluate("h => { location.hash = h; }", f"#/appeal/{numbers[2]}")
        await page.wait_for_load_state("networkidle")
        await page.screenshot(path=str(out / "workbench-supervisor-desk.png"), full_page=True)
        await browser.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--months", type=int, default=2)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    receiver = web.Application()
    receiver.router.add_post("/{tail:.*}", lambda request: web.Response(status=204))
    runner, units = await serve_on_loopback(receiver)
    with tempfile.TemporaryDirectory() as data:
        env = os.environ | {"HOTLINE_DATA_DIR": data, "OPERATOR_TOKEN": TOKEN, "UNIT_WEBHOOK_BASE": units}
        env.pop("DATABASE_URL", None)
        env.pop("REDIS_URL", None)
        port = _free_port()
        _run(env, "db", "upgrade")
        _run(env, "demo", "history", "--months", str(args.months))
        for name, role in (("wang.li", "operator"), ("media.bengbu", "supervisor")):
            _run(env, "accounts", "add", name, "--role", role)
            _run(env, "accounts", "password", name, stdin=PASSWORD + "\n")
        served = _serve(env, port)
        try:
            base = f"http://127.0.0.1:{port}"
            await _wait_ready(base)
            await _shoot(base, args.out, await _live(base))
        finally:
            served.terminate()
            served.wait(30)
    await runner.cleanup()
    print(f"screenshots in {args.out}")


if __name__ == "__main__":
    asyncio.run(main())

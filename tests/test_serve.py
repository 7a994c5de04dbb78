"""The gateway as an operator runs it: ``hotline-gateway serve`` on the embedded store, in its own
process, with the CLI beside it. Includes kill -9 while deliveries fail, then a restart."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from standardwebhooks import Webhook

from tests.conftest import CONFIG_DIR, UnitReceiver, eventually

OPERATOR = "serve-operator-token"
PORTAL = "serve-portal-key"
READY_TIMEOUT = 60.0  # seconds for a gateway (or N) to start: generous, a loaded CI machine is slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Served:
    def __init__(self, tmp: Path, receiver_url: str) -> None:
        self.config = tmp / "config"
        shutil.copytree(CONFIG_DIR, self.config)
        text = (self.config / "gateway.yaml").read_text(encoding="utf-8")
        text = text.replace(
            "retry_schedule: [0, 10, 60, 300, 900, 1800, 3600]",
            "retry_schedule: [0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]",
        )
        (self.config / "gateway.yaml").write_text(text, encoding="utf-8")
        self.env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL",)} | {
            "HOTLINE_DATA_DIR": str(tmp / "var"),
            "UNIT_WEBHOOK_BASE": receiver_url,
            "OPERATOR_TOKEN": OPERATOR,
            "PORTAL_API_KEY": PORTAL,
        }
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def cli(self, *args: str) -> str:
        out = subprocess.run(
            [sys.executable, "-m", "gateway", *args, "--config", str(self.config)],
            env=self.env,
            capture_output=True,
            timeout=60,
            check=True,
        )
        return out.stdout.decode()

    async def start(self, *more: str) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gateway",
                "serve",
                "--port",
                str(self.port),
                "--config",
                str(self.config),
                *more,
            ],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + READY_TIMEOUT
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                try:
                    async with session.get(f"{self.url}/readyz") as r:
                        if r.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                assert self.process.poll() is None, self.process.stdout.read().decode()  # type: ignore[union-attr]
                await asyncio.sleep(0.05)
        raise AssertionError("the gateway did not become ready")

    def stop(self, sig: int = signal.SIGTERM) -> bytes:
        assert self.process is not None
        self.process.send_signal(sig)
        out, _ = self.process.communicate(timeout=30)
        return out


@pytest.fixture
async def served(tmp_path: Path, receiver: UnitReceiver) -> AsyncIterator[Served]:
    s = Served(tmp_path, receiver.url)
    yield s
    if s.process is not None:
        if s.process.poll() is None:
            s.stop()
        else:
            s.process.communicate(timeout=30)  # closes its output pipe


async def post(url: str, **fields: str) -> str:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{url}/open311/v2/requests.json", data={"api_key": PORTAL, "service_code": "complaint"} | fields
        ) as r,
    ):
        assert r.status == 201, await r.text()
        return str((await r.json())[0]["service_request_id"])


async def post_until_accepted(session: aiohttp.ClientSession, url: str, i: int, key: str) -> str:
    """A citizen's client: posts appeal ``i`` until it is accepted, with the same idempotency key
    while the gateway is down or a connection breaks; the appeal's number."""
    fields = {"api_key": PORTAL, "service_code": "complaint", "description": f"第{i}号楼燃气泄漏，煤气味很重"}
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        try:
            async with session.post(
                f"{url}/open311/v2/requests.json", data=fields, headers={"Idempotency-Key": key}
            ) as r:
                if r.status in (200, 201):  # 200: stored before a kill cut its first answer off
                    return str((await r.json())[0]["service_request_id"])
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.05)
    raise AssertionError(f"appeal {i} was never accepted")


async def test_serve_delivers_signed_and_the_cli_prints_the_same_credentials(
    served: Served, receiver: UnitReceiver
) -> None:
    await served.start()
    appeal_no = await post(served.url, description="小区燃气泄漏，煤气味很重", phone="13912341234")
    (delivery,) = await receiver.wait_for(1, timeout=3)
    creds = json.loads(served.cli("units", "credentials", delivery.unit))
    Webhook(creds["webhook_secret"]).verify(delivery.body, delivery.headers)
    assert creds == json.loads(served.cli("units", "credentials", delivery.unit))  # stable
    async with aiohttp.ClientSession() as session:
        headers = {"Authorization": f"Bearer {creds['api_token']}"}
        async with session.post(
            f"{served.url}/api/v1/units/{delivery.unit}/appeals/{appeal_no}/events",
            json={"type": "signed"},
            headers=headers,
        ) as r:
            assert r.status == 200
        async with session.get(
            f"{served.url}/api/v1/appeals/{appeal_no}", headers={"Authorization": f"Bearer {OPERATOR}"}
        ) as r:
            assert (await r.json())["state"] == "signed"
        async with session.get(f"{served.url}/healthz") as r:
            assert r.status == 200
    logs = served.stop()
    assert b"13912341234" not in logs and creds["webhook_secret"].encode() not in logs
    lines = [json.loads(line) for line in logs.decode().splitlines() if line.startswith("{")]
    dispatched = [e for e in lines if e.get("event") == "appeal.dispatched"]
    assert (
        dispatched and dispatched[0]["appeal_no"] == appeal_no and dispatched[0]["channel"] == "portal-bengbu"
    )


async def test_kill_9_while_deliveries_fail_then_restart_delivers_everything_once(
    served: Served, receiver: UnitReceiver
) -> None:
    await served.start()
    receiver.statuses["gas-supply"] = [500] * 1000
    numbers = [await post(served.url, description=f"第{i}号楼燃气泄漏，煤气味很重") for i in range(5)]
    await receiver.wait_for(5, timeout=5)
    served.stop(signal.SIGKILL)
    ids_before = {r.headers["webhook-id"] for r in receiver.received}
    receiver.statuses["gas-supply"] = []
    await served.start()

    async def all_delivered() -> bool:
        return {r.json()["subject"] for r in receiver.received} >= set(numbers)

    await eventually(all_delivered, 10)
    assert {r.headers["webhook-id"] for r in receiver.received} == ids_before  # one id per appeal
    assert len(ids_before) == 5


async def test_two_processes_share_the_work_and_a_kill_9_of_one_loses_nothing(
    served: Served, receiver: UnitReceiver
) -> None:
    import psutil

    text = (served.config / "gateway.yaml").read_text(encoding="utf-8")
    text = text.replace("claim_idle_seconds: 30", "claim_idle_seconds: 1")
    # a delivery the dead process had claimed is due again after its lease (total timeout + 30 s)
    text = text.replace("connect_timeout_seconds: 3", "connect_timeout_seconds: 1")
    text = text.replace("total_timeout_seconds: 10", "total_timeout_seconds: 1")
    (served.config / "gateway.yaml").write_text(text, encoding="utf-8")
    await served.start("--workers", "2")
    assert served.process is not None
    supervisor = psutil.Process(served.process.pid)
    await eventually(lambda: _true(len(supervisor.children()) == 2))
    first_pids = {c.pid for c in supervisor.children()}

    async def post_retrying(i: int) -> str:
        async with aiohttp.ClientSession() as session:
            return await post_until_accepted(session, served.url, i, f"serve-{i}")

    numbers = list(await asyncio.gather(*(post_retrying(i) for i in range(20))))
    os.kill(sorted(first_pids)[0], signal.SIGKILL)  # one process dies with whatever it held
    numbers += await asyncio.gather(*(post_retrying(i) for i in range(20, 40)))
    assert len(set(numbers)) == 40  # one appeal per idempotency key

    async def all_delivered() -> bool:
        return {r.json()["subject"] for r in receiver.received} >= set(numbers)

    await eventually(all_delivered, 60)
    ids: dict[str, set[str]] = {}
    for r in receiver.received:
        ids.setdefault(r.json()["subject"], set()).add(r.headers["webhook-id"])
    assert all(len(one) == 1 for one in ids.values())  # each appeal delivered under one id

    def living() -> set[int]:
        pids = set()
        for child in supervisor.children():
            with contextlib.suppress(psutil.NoSuchProcess):
                if child.status() != psutil.STATUS_ZOMBIE:
                    pids.add(child.pid)
        return pids

    # the dead one was replaced (a killed child shows as a zombie until the supervisor reaps it)
    await eventually(lambda: _true(len(living()) == 2 and living() != first_pids), 30)


async def _true(value: bool) -> bool:
    return value

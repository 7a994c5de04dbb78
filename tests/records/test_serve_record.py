"""``hotline-gateway serve`` with the record: appeals through the loop with a kill -9 in the middle
end in the database exactly once; a database it cannot migrate stops start-up with a clear message."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select

from gateway.records.db import make_engine
from gateway.records.migrate import head
from gateway.records.schema import appeal_events, appeals
from tests.conftest import UnitReceiver, eventually
from tests.test_serve import OPERATOR, Served, post


@pytest.fixture
async def served(tmp_path: Path, receiver: UnitReceiver) -> AsyncIterator[Served]:
    s = Served(tmp_path, receiver.url)
    s.env |= {"HOTLINE_RECORDER_CLAIM_SECONDS": "0.5"}
    yield s
    if s.process is not None and s.process.poll() is None:
        s.stop()


async def _sign(
    served: Served, unit: str, token: str, appeal_no: str, session: aiohttp.ClientSession
) -> None:
    async with session.post(
        f"{served.url}/api/v1/units/{unit}/appeals/{appeal_no}/events",
        json={"type": "signed"},
        headers={"Authorization": f"Bearer {token}"},
    ) as r:
        assert r.status == 200, await r.text()


async def test_kill_9_in_the_middle_leaves_every_appeal_and_event_in_postgres_once(
    served: Served, receiver: UnitReceiver, empty_postgres: str
) -> None:
    served.env["DATABASE_URL"] = empty_postgres
    await served.start()
    numbers = [await post(served.url, description=f"第{i}号楼燃气泄漏，煤气味很重") for i in range(12)]
    await receiver.wait_for(12, timeout=10)
    served.stop(signal.SIGKILL)
    await served.start()
    numbers += [await post(served.url, description=f"第{i}号楼燃气泄漏，煤气味很重") for i in range(12, 20)]
    await receiver.wait_for(20, timeout=10)
    token = json.loads(served.cli("units", "credentials", "gas-supply"))["api_token"]
    async with aiohttp.ClientSession() as session:
        for no in numbers[::2]:  # half of them signed: one more event each
            await _sign(served, "gas-supply", token, no, session)
        histories: dict[str, list[Any]] = {}
        for no in numbers:
            async with session.get(
                f"{served.url}/api/v1/appeals/{no}", headers={"Authorization": f"Bearer {OPERATOR}"}
            ) as r:
                histories[no] = (await r.json())["history"]
    engine = make_engine(empty_postgres)
    try:

        async def all_recorded() -> bool:
            async with engine.connect() as conn:
                events = await conn.scalar(select(func.count()).select_from(appeal_events))
            return events == sum(len(h) for h in histories.values())

        await eventually(all_recorded, timeout=15)
        async with engine.connect() as conn:
            rows = (await conn.execute(select(appeals.c.appeal_no, appeals.c.state))).all()
            recorded = (
                await conn.execute(select(appeal_events.c.appeal_no, appeal_events.c.event).order_by("id"))
            ).all()
    finally:
        await engine.dispose()
    assert sorted(no for no, _ in rows) == sorted(numbers)  # every appeal, once
    assert {no: state for no, state in rows} == {
        no: "signed" if i % 2 == 0 else "dispatched" for i, no in enumerate(numbers)
    }
    for no in numbers:  # every event, once, in order
        assert [e for n, e in recorded if n == no] == histories[no]


def test_a_database_it_cannot_migrate_stops_start_up_with_a_clear_message(
    served: Served, tmp_path: Path
) -> None:
    database = tmp_path / "newer.db"
    with sqlite3.connect(database) as conn:  # made by a newer release: a revision we do not know
        conn.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
        conn.execute("INSERT INTO alembic_version VALUES ('9999')")
    served.env["DATABASE_URL"] = f"sqlite+aiosqlite:///{database}"
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "gateway",
            "serve",
            "--port",
            str(served.port),
            "--config",
            str(served.config),
        ],
        env=served.env,
        capture_output=True,
        timeout=60,
    )
    assert out.returncode == 2
    assert f"the database migration to revision {head()} failed; the schema was left".encode() in out.stderr
    assert b"Traceback" not in out.stderr

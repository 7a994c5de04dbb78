"""The record from the command line: ``db upgrade|current``, ``appeals search``, ``appeals export``
(the citizen's contact only with ``--with-contact``, and that use logged without the data), and
``records rebuild`` replaying what Redis holds."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import redis.asyncio as aioredis
import structlog
from sqlalchemy import func, select

from gateway.cli import main
from gateway.config import Config
from gateway.records.db import make_engine
from gateway.records.hot import Context
from gateway.records.migrate import head, upgrade
from gateway.records.rebuild import rebuild
from gateway.records.schema import appeal_events, appeals
from gateway.registry import Registry
from gateway.store import Keys
from tests.conftest import UnitReceiver, start_gateway
from tests.records.seed import appeal_hash, seed
from tests.records.test_search import T0

PHONE = "13912341234"


@pytest.fixture
def sqlite_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'record.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    return url


def _seeded(url: str) -> None:
    async def run() -> None:
        engine = make_engine(url)
        await upgrade(engine)
        hashes = [
            appeal_hash(
                f"BB-20261102-{i:06d}",
                content=f"第{i}号楼燃气泄漏，煤气味很重",
                phone=PHONE,
                name="张三",
                received_at=T0 + timedelta(days=i),
            )
            for i in range(1, 4)
        ]
        await seed(engine, hashes)
        await engine.dispose()

    asyncio.run(run())


def test_db_upgrade_then_current(sqlite_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "current"]) == 1  # nothing made yet
    assert main(["db", "upgrade"]) == 0
    assert f"empty -> {head()}" in capsys.readouterr().out
    assert main(["db", "current"]) == 0
    assert f"revision {head()}" in capsys.readouterr().out


def test_db_backup_copies_the_sqlite_record(sqlite_env: str, tmp_path: Path) -> None:
    _seeded(sqlite_env)
    copy = tmp_path / "copy.db"
    assert main(["db", "backup", str(copy)]) == 0
    import sqlite3

    with sqlite3.connect(copy) as conn:
        assert conn.execute("SELECT count(*) FROM appeals").fetchone() == (3,)
        assert conn.execute(
            "SELECT count(*) FROM appeals_fts WHERE appeals_fts MATCH '2号楼'"
        ).fetchone() == (1,)


def test_search_from_the_command_line(sqlite_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    _seeded(sqlite_env)
    assert main(["appeals", "search", "2号楼燃气", "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["total"] == 1 and body["items"][0]["appeal_no"] == "BB-20261102-000002"
    assert main(["appeals", "search", "--phone", "1234", "--per-page", "2"]) == 0
    out = capsys.readouterr()
    assert out.out.splitlines()[0].startswith("BB-20261102-000003") and "3 found" in out.err
    assert main(["appeals", "search", "--state", "lost"]) == 2
    assert "state" in capsys.readouterr().err


@pytest.fixture
def logs_reset() -> Iterator[None]:
    """The export configures logging for its process: put the defaults back after it."""
    yield
    structlog.reset_defaults()


def test_export_leaves_the_contact_out_unless_asked(
    sqlite_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], logs_reset: None
) -> None:
    _seeded(sqlite_env)
    out = tmp_path / "archive.csv"
    assert main(["appeals", "export", "--from", "2026-11-03", "--to", "2026-11-04", "--format", "csv",
                 "--output", str(out)]) == 0  # fmt: skip
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert [r["appeal_no"] for r in rows] == ["BB-20261102-000001", "BB-20261102-000002"]
    assert "phone" not in rows[0] and PHONE not in out.read_text() and "张三" not in out.read_text()
    assert "2 appeals exported" in capsys.readouterr().err

    assert main(["appeals", "export", "--from", "2026-11-01", "--to", "2026-11-30", "--format", "jsonl"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert (
        len(lines) == 3
        and "citizen" not in lines[0]["appeal"]
        and lines[0]["history"][0]["type"] == "accepted"
    )

    assert main(["appeals", "export", "--from", "2026-11-01", "--to", "2026-11-30", "--with-contact",
                 "--format", "csv"]) == 0  # fmt: skip
    captured = capsys.readouterr()
    rows = list(csv.DictReader(io.StringIO(captured.out)))
    assert rows[0]["phone"] == "+86" + PHONE and rows[0]["citizen_name"] == "张三"
    logged = [json.loads(line) for line in captured.err.splitlines() if line.startswith("{")]
    assert [e["event"] for e in logged] == ["records.export_with_contact"]
    assert PHONE not in captured.err and "张三" not in captured.err
    assert main(["appeals", "export", "--from", "soon", "--to", "2026-11-30"]) == 2


async def test_rebuild_replays_what_redis_holds_once(
    config: Config,
    redis: aioredis.Redis,
    keys: Keys,
    registry: Registry,
    receiver: UnitReceiver,
    database_url: str,
) -> None:
    gw = await start_gateway(config, redis, keys, registry, receiver)  # no record configured
    try:
        numbers = [await gw.post_appeal(description=f"第{i}号楼燃气泄漏，煤气味很重") for i in range(3)]
        for no in numbers:
            await gw.wait_state(no, "dispatched")
        histories = [await gw.runtime.appeals.history(no) for no in numbers]
    finally:
        await gw.client.close()
    engine = make_engine(database_url)
    try:
        await upgrade(engine)
        ctx = Context(redis, keys, engine, lambda _a: None, gw.runtime.clock)
        first, again = await rebuild(ctx), await rebuild(ctx)
        async with engine.connect() as conn:
            rows = (await conn.execute(select(appeals.c.appeal_no, appeals.c.state))).all()
            events = await conn.scalar(select(func.count()).select_from(appeal_events))
    finally:
        await engine.dispose()
    assert (first.appeals, first.events) == (again.appeals, again.events) == (3, sum(map(len, histories)))
    assert sorted(rows) == sorted((no, "dispatched") for no in numbers)
    assert events == sum(map(len, histories))

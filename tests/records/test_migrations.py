"""Migrations: made at start-up and by ``db upgrade``, all or nothing, and in step with the tables
the queries use."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Connection, inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.records.db import make_engine
from gateway.records.migrate import MIGRATIONS, MigrationFailed, alembic_config, current, head, upgrade
from gateway.records.rows import appeal_row
from gateway.records.schema import appeals, metadata
from gateway.records.search import parse_query, search
from normalizer import SHANGHAI
from tests.records.seed import appeal_hash

FAILING = '''"""A migration that fails half-way."""
import sqlalchemy as sa
from alembic import op

revision = "0099"
down_revision = "{down}"


def upgrade() -> None:
    op.create_table("half_done", sa.Column("id", sa.Integer, primary_key=True))
    op.add_column("appeals", sa.Column("half_done", sa.Integer))
    op.execute("SELECT * FROM no_such_table")
'''


async def _tables(engine: AsyncEngine) -> dict[str, set[str]]:
    async with engine.connect() as conn:
        return await conn.run_sync(
            lambda c: {
                t: {col["name"] for col in inspect(c).get_columns(t)} for t in inspect(c).get_table_names()
            }
        )


async def test_the_schema_is_made_once_and_matches_the_tables_the_queries_use(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        first = await upgrade(engine)
        assert first[1] == head() and await current(engine) == head()
        assert await upgrade(engine) == (head(), head())  # nothing pending: nothing done
        tables = await _tables(engine)
        for table in metadata.sorted_tables:
            assert tables[table.name] == {c.name for c in table.columns}, table.name
    finally:
        await engine.dispose()


async def test_a_failing_migration_leaves_the_schema_as_it_was(database_url: str, tmp_path: Path) -> None:
    scripts = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    engine = make_engine(database_url)
    try:
        await upgrade(engine)
        (scripts / "versions" / "0099_failing.py").write_text(FAILING.format(down=head()))
        with pytest.raises(MigrationFailed, match="migration to revision 0099 failed; the schema was left"):
            await upgrade(engine, scripts)
        tables = await _tables(engine)
        assert "half_done" not in tables and "half_done" not in tables["appeals"]
        assert await current(engine) == head()
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT count(*) FROM appeals"))).scalar() == 0
    finally:
        await engine.dispose()


async def test_a_failing_first_migration_leaves_an_empty_database(tmp_path: Path) -> None:
    scripts = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    (scripts / "versions" / "0099_failing.py").write_text(FAILING.format(down=head()))
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'record.db'}")
    try:
        with pytest.raises(MigrationFailed):
            await upgrade(engine, scripts)
        assert await _tables(engine) == {}
    finally:
        await engine.dispose()


async def test_appeals_recorded_before_the_bigrams_are_found_by_two_character_words(
    database_url: str,
) -> None:
    """0005 fills the bigrams of the appeals already recorded, a batch of 1,000 at a time."""
    engine = make_engine(database_url)

    def back_to_0004(connection: Connection) -> None:
        cfg = alembic_config()
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, "0004_sessions")

    t0 = datetime(2026, 11, 2, 9, 0, tzinfo=SHANGHAI)
    rows = []
    for i in range(1003):  # one batch and a bit
        h = appeal_hash(
            f"BB-20261102-{i + 1:06d}",
            content=f"第{i}号楼{'噪音扰民' if i % 2 == 0 else '夜里施工'}",
            received_at=t0 + timedelta(minutes=i),
        )
        row = appeal_row(h, lambda _a: None, t0)
        del row["bigrams"], row["minhash"]  # as 0004's recorder wrote it
        rows.append(row)
    try:
        await upgrade(engine)
        async with engine.begin() as conn:
            await conn.run_sync(back_to_0004)
        assert "bigrams" not in (await _tables(engine))["appeals"]
        async with engine.begin() as conn:
            await conn.execute(appeals.insert(), rows)
        assert await upgrade(engine) == ("0004_sessions", head())
        noise = await search(engine, parse_query({"q": ["噪音"], "per_page": ["1"]}))
        assert (noise["total"], noise["items"][0]["appeal_no"]) == (502, "BB-20261102-001003")
        works = await search(engine, parse_query({"q": ["施工"], "per_page": ["1"]}))
        assert (works["total"], works["items"][0]["appeal_no"]) == (501, "BB-20261102-001002")
        assert (await search(engine, parse_query({"q": ["噪音 施工"]})))["total"] == 0
    finally:
        async with engine.begin() as conn:
            await conn.execute(appeals.delete())
        await engine.dispose()

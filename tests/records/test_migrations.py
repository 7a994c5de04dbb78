"""Migrations: made at start-up and by ``db upgrade``, all or nothing, and in step with the tables
the queries use."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.records.db import make_engine
from gateway.records.migrate import MIGRATIONS, MigrationFailed, current, head, upgrade
from gateway.records.schema import metadata

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

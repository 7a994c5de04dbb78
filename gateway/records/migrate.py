"""Alembic migrations, run in one transaction: all pending revisions apply, or none does."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.errors import HotlineError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class MigrationFailed(HotlineError):
    code = "migration_failed"


def alembic_config(script_location: Path = MIGRATIONS) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(script_location))
    return cfg


def head(script_location: Path = MIGRATIONS) -> str:
    revision = ScriptDirectory.from_config(alembic_config(script_location)).get_current_head()
    assert revision is not None
    return revision


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def current(engine: AsyncEngine) -> str | None:
    async with engine.connect() as conn:
        return await conn.run_sync(_current)


async def upgrade(engine: AsyncEngine, script_location: Path = MIGRATIONS) -> tuple[str | None, str]:
    """Bring the schema to the newest revision; returns (revision before, revision now). Raises
    :class:`MigrationFailed` (the schema left as it was) when a migration fails."""
    cfg = alembic_config(script_location)
    target = head(script_location)

    def run(connection: Connection) -> str | None:
        before = _current(connection)
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")
        return before

    try:
        async with engine.begin() as conn:
            before = await conn.run_sync(run)
    except Exception as e:
        raise MigrationFailed(
            f"the database migration to revision {target} failed; the schema was left as it was "
            f"({type(e).__name__}: {e})"
        ) from e
    return before, target

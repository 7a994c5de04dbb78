"""Two writers of the record at once (the recorder and retention, the API's audit and sessions):
each waits for the other, neither fails. On SQLite a transaction that had read before it wrote
failed at once with "database is locked" when another connection wrote meanwhile, and the recorder
then reported its database down."""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.records.db import writing


async def test_a_writer_that_read_first_is_not_refused_by_another(engine: AsyncEngine) -> None:
    async with writing(engine) as conn:
        await conn.execute(text("CREATE TABLE IF NOT EXISTS writers_probe (who TEXT)"))
    read = asyncio.Event()

    async def first() -> None:
        async with writing(engine) as conn:
            await conn.execute(text("SELECT count(*) FROM writers_probe"))  # its snapshot
            read.set()
            await asyncio.wait([other], timeout=0.5)  # the other writes meanwhile, or waits for us
            await conn.execute(text("INSERT INTO writers_probe VALUES ('first')"))

    async def second() -> None:
        await read.wait()
        async with writing(engine) as conn:
            await conn.execute(text("INSERT INTO writers_probe VALUES ('second')"))

    other = asyncio.create_task(second())
    await asyncio.gather(first(), other)
    async with engine.connect() as conn:
        found = (await conn.execute(text("SELECT who FROM writers_probe ORDER BY who"))).scalars().all()
    assert found == ["first", "second"]

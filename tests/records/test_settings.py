"""The record's settings from the environment: a bad value stops start-up naming the variable."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path

import pytest

from gateway.errors import ConfigError
from gateway.records.db import SQLITE_CONNECTIONS, make_engine
from gateway.records.service import retention_days, sqlite_cache_mb, sqlite_mmap_mb


def test_the_sqlite_cache_is_64_mib_unless_set() -> None:
    assert sqlite_cache_mb({}) == 64
    assert sqlite_cache_mb({"HOTLINE_SQLITE_CACHE_MB": "8"}) == 8


@pytest.mark.parametrize("value", ["0", "-1", "8.5", "²", "", "99999"])
def test_a_bad_sqlite_cache_names_its_variable(value: str) -> None:
    with pytest.raises(ConfigError, match="HOTLINE_SQLITE_CACHE_MB"):
        sqlite_cache_mb({"HOTLINE_SQLITE_CACHE_MB": value})


def test_the_sqlite_memory_map_is_1_gib_unless_set() -> None:
    assert sqlite_mmap_mb({}) == 1024
    assert sqlite_mmap_mb({"HOTLINE_SQLITE_MMAP_MB": "0"}) == 0


@pytest.mark.parametrize("mib", [0, 16])
async def test_the_record_maps_as_much_of_its_file_as_set(tmp_path: Path, mib: int) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'r.db'}", sqlite_mmap_mb=mib)
    try:
        async with engine.connect() as conn:
            assert (await conn.exec_driver_sql("PRAGMA mmap_size")).scalar() == mib * 2**20
    finally:
        await engine.dispose()


async def test_the_sqlite_pool_shares_one_cache_and_never_opens_more_connections(tmp_path: Path) -> None:
    """The page cache of each connection is in the heap: a burst of sessions waits for one of the
    pool's connections instead of opening more, and the connections split the set cache."""
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'r.db'}", sqlite_cache_mb=40)
    try:
        async with contextlib.AsyncExitStack() as held:
            conns = [await held.enter_async_context(engine.connect()) for _ in range(SQLITE_CONNECTIONS)]
            assert (await conns[0].exec_driver_sql("PRAGMA cache_size")).scalar() == -8 * 1024
            one_more = asyncio.ensure_future(engine.connect().__aenter__())
            done, _ = await asyncio.wait([one_more], timeout=0.5)
            assert not done  # all five are taken: the sixth session waits
            await conns[0].close()
            extra = await asyncio.wait_for(one_more, 10)  # and gets the one given back
            await extra.close()
        assert engine.pool.checkedin() == SQLITE_CONNECTIONS  # type: ignore[attr-defined]
    finally:
        await engine.dispose()


@pytest.mark.parametrize("value", ["-1", "0.5", "many", "nan"])
def test_a_bad_sqlite_memory_map_names_its_variable(value: str) -> None:
    with pytest.raises(ConfigError, match="HOTLINE_SQLITE_MMAP_MB"):
        sqlite_mmap_mb({"HOTLINE_SQLITE_MMAP_MB": value})


@pytest.mark.parametrize("value", ["-1", "a month", "nan", "inf"])
def test_a_bad_retention_names_its_variable(value: str) -> None:
    with pytest.raises(ConfigError, match="HOTLINE_RETENTION_DAYS"):
        retention_days({"HOTLINE_RETENTION_DAYS": value})


def _readers() -> dict[str, Callable[[dict[str, str]], object]]:
    from gateway.briefing import lookup_seconds
    from gateway.records.links import LinkPolicy

    return {
        "HOTLINE_DUPLICATE_HOURS": LinkPolicy.from_env,
        "HOTLINE_REPEAT_WINDOW_DAYS": LinkPolicy.from_env,
        "HOTLINE_DUPLICATE_THRESHOLD": LinkPolicy.from_env,
        "HOTLINE_REPEAT_LOOKUP_SECONDS": lookup_seconds,
        "HOTLINE_SQLITE_CACHE_MB": sqlite_cache_mb,
        "HOTLINE_SQLITE_MMAP_MB": sqlite_mmap_mb,
    }


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("HOTLINE_DUPLICATE_HOURS", "nan"),
        ("HOTLINE_REPEAT_WINDOW_DAYS", "-3"),
        ("HOTLINE_DUPLICATE_THRESHOLD", "1.5"),
        ("HOTLINE_REPEAT_LOOKUP_SECONDS", "nan"),
        ("HOTLINE_SQLITE_CACHE_MB", "inf"),
        ("HOTLINE_SQLITE_MMAP_MB", "inf"),
    ],
)
def test_number_settings_refuse_nan_and_out_of_range_values(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        _readers()[name]({name: value})

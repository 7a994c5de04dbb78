"""The record's settings from the environment: a bad value stops start-up naming the variable."""

from __future__ import annotations

import pytest

from gateway.errors import ConfigError
from gateway.records.service import retention_days, sqlite_cache_mb


def test_the_sqlite_cache_is_64_mib_unless_set() -> None:
    assert sqlite_cache_mb({}) == 64
    assert sqlite_cache_mb({"HOTLINE_SQLITE_CACHE_MB": "8"}) == 8


@pytest.mark.parametrize("value", ["0", "-1", "8.5", "²", "", "99999"])
def test_a_bad_sqlite_cache_names_its_variable(value: str) -> None:
    with pytest.raises(ConfigError, match="HOTLINE_SQLITE_CACHE_MB"):
        sqlite_cache_mb({"HOTLINE_SQLITE_CACHE_MB": value})


@pytest.mark.parametrize("value", ["-1", "a month", "nan", "inf"])
def test_a_bad_retention_names_its_variable(value: str) -> None:
    with pytest.raises(ConfigError, match="HOTLINE_RETENTION_DAYS"):
        retention_days({"HOTLINE_RETENTION_DAYS": value})

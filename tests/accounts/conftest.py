"""Accounts against both databases (the record's fixtures), and the sample city's gateway with one
account of each role."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from gateway.accounts import AccountStore
from gateway.runtime import shanghai_now
from tests.conftest import Gateway
from tests.records.conftest import database_url, empty_postgres, engine, postgres_url

__all__ = ["database_url", "empty_postgres", "engine", "postgres_url"]


@dataclass
class Staff:
    gw: Gateway
    store: AccountStore
    tokens: dict[str, str]

    def auth(self, name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[name]}"}


@pytest.fixture
async def staff(gateway: Gateway) -> AsyncIterator[Staff]:
    """Operator ``wang.li``, supervisor ``media.bengbu`` (the city's newspaper) and admin ``chen``."""
    assert gateway.runtime.records is not None
    await gateway.runtime.records.start(workers=False)  # migrated before the first account is added
    store = AccountStore(gateway.runtime.records.engine)
    now = shanghai_now()
    roles = {"wang.li": "operator", "media.bengbu": "supervisor", "chen": "admin"}
    tokens = {name: await store.add(name, role, now) for name, role in roles.items()}
    yield Staff(gateway, store, tokens)

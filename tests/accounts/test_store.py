"""The accounts table, on SQLite and PostgreSQL: tokens kept only as hashes, unknown roles refused,
a disabled account and a replaced token refused at once, passwords hashed with argon2."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.accounts import AccountStore, Role
from gateway.errors import BadRequest, Conflict, NotFound
from gateway.records.schema import accounts
from gateway.runtime import shanghai_now


async def test_an_account_has_a_token_kept_only_as_its_hash(engine: AsyncEngine) -> None:
    store, now = AccountStore(engine), shanghai_now()
    token = await store.add("wang.li", "operator", now)
    assert token.startswith("hlk_") and len(token) > 40
    assert await store.by_token(token) == ("wang.li", Role.operator, False)
    async with engine.connect() as conn:
        row = (await conn.execute(select(accounts))).one()
    assert token not in str(tuple(row))
    assert await store.by_token(token + "x") is None


async def test_bad_names_roles_and_duplicates_are_refused(engine: AsyncEngine) -> None:
    store, now = AccountStore(engine), shanghai_now()
    with pytest.raises(BadRequest, match="unknown role 'boss'"):
        await store.add("zhao", "boss", now)
    with pytest.raises(BadRequest, match="cannot name an account"):
        await store.add("operator", "admin", now)  # the bootstrap admin's name in histories
    await store.add("zhao", "supervisor", now)
    with pytest.raises(Conflict):
        await store.add("zhao", "operator", now)
    with pytest.raises(NotFound):
        await store.disable("nobody", now)


async def test_disabling_and_a_new_token_take_effect_at_once(engine: AsyncEngine) -> None:
    store, now = AccountStore(engine), shanghai_now()
    old = await store.add("li", "admin", now)
    new = await store.new_token("li", now)
    assert await store.by_token(old) is None
    assert await store.by_token(new) == ("li", Role.admin, False)
    await store.disable("li", now)
    assert await store.by_token(new) == ("li", Role.admin, True)
    (listed,) = await store.list()
    assert (listed.name, listed.disabled, listed.has_password) == ("li", True, False)


async def test_passwords_are_argon2_hashes_and_a_wrong_one_looks_like_no_account(engine: AsyncEngine) -> None:
    store, now = AccountStore(engine), shanghai_now()
    await store.add("sun", "operator", now)
    with pytest.raises(BadRequest, match="at least 8"):
        await store.set_password("sun", "short", now)
    await store.set_password("sun", "长江大桥-2026", now)
    async with engine.connect() as conn:
        stored = (await conn.execute(select(accounts.c.password_hash))).scalar_one()
    assert stored.startswith("$argon2id$") and "长江大桥" not in stored
    assert await store.check_password("sun", "长江大桥-2026") is Role.operator
    assert await store.check_password("sun", "wrong-password") is None
    assert await store.check_password("nobody", "长江大桥-2026") is None
    await store.disable("sun", now)
    assert await store.check_password("sun", "长江大桥-2026") is None

"""The ``accounts`` table. A personal API token (``hlk_`` + 43 random characters) is shown once and
kept only as its SHA-256 (a random token needs no slow hash); a password is kept as an argon2id hash
(argon2-cffi's defaults)."""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.errors import BadRequest, Conflict, NotFound
from gateway.records.db import writing
from gateway.records.schema import accounts, sessions

TOKEN_PREFIX = "hlk_"
BOOTSTRAP = "operator"  # the actor of OPERATOR_TOKEN in histories; no account may take the name
_NAME = re.compile(r"^[\w.@-]{1,64}$")
_hasher = PasswordHasher()


class Role(StrEnum):
    operator = "operator"  # works appeals
    supervisor = "supervisor"  # joint supervisors: read-only, supervised appeals, no personal data
    admin = "admin"  # everything, incl. the audit


def role_of(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        known = ", ".join(r.value for r in Role)
        raise BadRequest(f"unknown role {value!r} (one of {known})", field="role") from None


def token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


@dataclass(frozen=True)
class Account:
    name: str
    role: Role
    disabled: bool
    has_password: bool
    created_at: datetime
    updated_at: datetime


class AccountStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def add(self, name: str, role: str, now: datetime) -> str:
        """A new account; its token (shown once)."""
        if not _NAME.match(name) or name == BOOTSTRAP:
            raise BadRequest(
                f"{name!r} cannot name an account (letters, digits, . _ @ -; not {BOOTSTRAP!r})", field="name"
            )
        found = role_of(role)
        token = new_token()
        row = {
            "name": name,
            "role": found.value,
            "token_sha256": token_sha256(token),
            "password_hash": None,
            "disabled": False,
            "created_at": now,
            "updated_at": now,
        }
        try:
            async with writing(self.engine) as conn:
                await conn.execute(insert(accounts).values(row))
        except IntegrityError:
            raise Conflict(f"an account {name!r} exists already") from None
        return token

    async def list(self) -> list[Account]:
        async with self.engine.connect() as conn:
            rows = (await conn.execute(select(accounts).order_by(accounts.c.name))).all()
        return [
            Account(r.name, Role(r.role), r.disabled, r.password_hash is not None, r.created_at, r.updated_at)
            for r in rows
        ]

    async def _set(self, name: str, now: datetime, *, end_sessions: bool = False, **values: object) -> None:
        async with writing(self.engine) as conn:
            result = await conn.execute(
                update(accounts).where(accounts.c.name == name).values(updated_at=now, **values)
            )
            if end_sessions:
                await conn.execute(delete(sessions).where(sessions.c.account == name))
        if result.rowcount == 0:
            raise NotFound(f"no account {name!r}")

    async def disable(self, name: str, now: datetime) -> None:
        """Refused from the next request on (tokens are looked up on every request); its browser
        sessions end."""
        await self._set(name, now, end_sessions=True, disabled=True)

    async def enable(self, name: str, now: datetime) -> None:
        await self._set(name, now, disabled=False)

    async def new_token(self, name: str, now: datetime) -> str:
        """A new token for the account; the old one stops working at once."""
        token = new_token()
        await self._set(name, now, token_sha256=token_sha256(token))
        return token

    async def set_password(self, name: str, password: str, now: datetime) -> None:
        if len(password) < 8:
            raise BadRequest("a password has at least 8 characters", field="password")
        hashed = await asyncio.to_thread(_hasher.hash, password)
        await self._set(name, now, end_sessions=True, password_hash=hashed)  # signed in elsewhere: out

    async def by_token(self, token: str) -> tuple[str, Role, bool] | None:
        """(name, role, disabled) of the token's account; None for an unknown token."""
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    select(accounts.c.name, accounts.c.role, accounts.c.disabled).where(
                        accounts.c.token_sha256 == token_sha256(token)
                    )
                )
            ).first()
        return None if row is None else (row.name, Role(row.role), row.disabled)

    async def check_password(self, name: str, password: str) -> Role | None:
        """The role of an enabled account whose password this is; None otherwise (an unknown name,
        a wrong password and a disabled account look the same, for the browser sign-in)."""
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    select(accounts.c.role, accounts.c.password_hash, accounts.c.disabled).where(
                        accounts.c.name == name
                    )
                )
            ).first()
        if row is None or row.password_hash is None or row.disabled:
            await asyncio.to_thread(_hasher.hash, password)  # the same work: no timing difference
            return None
        try:
            await asyncio.to_thread(_hasher.verify, row.password_hash, password)
        except (VerificationError, InvalidHashError):
            return None
        return Role(row.role)

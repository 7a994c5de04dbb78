"""Browser sessions of the workbench (``sessions`` table). The cookie is a random token kept only as
its SHA-256; each session has its own CSRF token that every state-changing request sends back in the
``X-CSRF-Token`` header. A session is looked up with its account on every request, so disabling the
account (or a new password) ends its sessions at once. The bootstrap admin ``operator`` has no
account row: it signs in with ``OPERATOR_TOKEN`` as its password."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.accounts.store import BOOTSTRAP, Role, token_sha256
from gateway.records.db import writing
from gateway.records.schema import accounts, sessions

COOKIE = "hotline_session"
COOKIE_PATH = "/api/v1/"  # the operator APIs only: never sent to a channel's routes
LIFETIME = timedelta(hours=12)  # one shift; signing in again starts a new one


@dataclass(frozen=True)
class Session:
    name: str
    role: Role
    csrf: str
    expires_at: datetime


class SessionStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def open(self, name: str, role: Role, now: datetime) -> tuple[str, Session]:
        """A new session of the account: (the cookie's token, the session)."""
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        expires = now + LIFETIME
        async with writing(self.engine) as conn:
            await conn.execute(delete(sessions).where(sessions.c.expires_at <= now))
            await conn.execute(
                insert(sessions).values(
                    token_sha256=token_sha256(token),
                    account=name,
                    csrf=csrf,
                    created_at=now,
                    expires_at=expires,
                )
            )
        return token, Session(name, role, csrf, expires)

    async def find(self, token: str, now: datetime) -> Session | None:
        """The living session of an enabled account; None otherwise."""
        query = (
            select(
                sessions.c.account,
                sessions.c.csrf,
                sessions.c.expires_at,
                accounts.c.role,
                accounts.c.disabled,
            )
            .outerjoin(accounts, accounts.c.name == sessions.c.account)
            .where(sessions.c.token_sha256 == token_sha256(token), sessions.c.expires_at > now)
        )
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            return None
        if row.account == BOOTSTRAP:  # OPERATOR_TOKEN's admin has no row: its token is its password
            return Session(row.account, Role.admin, row.csrf, row.expires_at)
        if row.role is None or row.disabled:
            return None
        return Session(row.account, Role(row.role), row.csrf, row.expires_at)

    async def close(self, token: str) -> None:
        async with writing(self.engine) as conn:
            await conn.execute(delete(sessions).where(sessions.c.token_sha256 == token_sha256(token)))

"""Per-unit credentials: a Standard Webhooks secret (``whsec_...``) that signs the unit's deliveries
and an API token (``hlu_...``) the unit presents when it reports events.

Created on first use and kept in Redis, so they are stable across restarts and the same for every
gateway process (and the CLI) sharing the store. ``rotate`` issues new ones; the previous secret keeps
signing, and the previous token keeps working, for ``overlap`` seconds.
"""

from __future__ import annotations

import base64
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

import redis.asyncio as aioredis

from gateway.store import Keys, decode_hash


def new_webhook_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def new_api_token() -> str:
    return "hlu_" + secrets.token_urlsafe(32)


@dataclass(frozen=True)
class UnitCredentials:
    unit_id: str
    webhook_secret: str
    api_token: str
    previous_secret: str | None = None
    previous_token: str | None = None
    previous_until: float = 0.0

    def signing_secrets(self, now: float) -> list[str]:
        if self.previous_secret and now < self.previous_until:
            return [self.webhook_secret, self.previous_secret]
        return [self.webhook_secret]

    @classmethod
    def from_fields(cls, unit_id: str, fields: Mapping[str, str]) -> UnitCredentials | None:
        """None when the unit has no credentials yet (``CredentialStore.get`` creates them)."""
        if "webhook_secret" not in fields or "api_token" not in fields:
            return None
        return cls(
            unit_id=unit_id,
            webhook_secret=fields["webhook_secret"],
            api_token=fields["api_token"],
            previous_secret=fields.get("previous_secret"),
            previous_token=fields.get("previous_token"),
            previous_until=float(fields.get("previous_until", 0)),
        )

    def token_matches(self, token: str, now: float) -> bool:
        good = hmac.compare_digest(token.encode(), self.api_token.encode())
        if self.previous_token and now < self.previous_until:
            good |= hmac.compare_digest(token.encode(), self.previous_token.encode())
        return good


class CredentialStore:
    def __init__(self, redis: aioredis.Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys

    async def get(self, unit_id: str) -> UnitCredentials:
        key = self.keys.unit_credentials(unit_id)
        data = await self.redis.hgetall(key)
        if b"webhook_secret" not in data or b"api_token" not in data:
            # HSETNX: two processes creating at once agree on whichever came first.
            await self.redis.hsetnx(key, "webhook_secret", new_webhook_secret())
            await self.redis.hsetnx(key, "api_token", new_api_token())
            data = await self.redis.hgetall(key)
        found = UnitCredentials.from_fields(unit_id, decode_hash(data))
        assert found is not None
        return found

    async def rotate(self, unit_id: str, *, now: float, overlap: float) -> UnitCredentials:
        current = await self.get(unit_id)
        await self.redis.hset(
            self.keys.unit_credentials(unit_id),
            mapping={
                "webhook_secret": new_webhook_secret(),
                "api_token": new_api_token(),
                "previous_secret": current.webhook_secret,
                "previous_token": current.api_token,
                "previous_until": str(now + overlap),
            },
        )
        return await self.get(unit_id)

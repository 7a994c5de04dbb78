"""Operator alerts: raised once per condition (deduplicated by key), resolved with a recovery notice.

``hl:alerts:active`` hash: key -> the alert (JSON); ``hl:alerts:log`` list: raised and resolved
notices, newest first (capped). Every alert is also logged as ``alert.raised`` / ``alert.resolved``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import redis.asyncio as aioredis
import structlog

from gateway.store import Keys, text

LOG_LENGTH = 1000
log = structlog.get_logger("alerts")


class Alerts:
    def __init__(self, redis: aioredis.Redis, keys: Keys, clock: Callable[[], datetime]) -> None:
        self.redis = redis
        self.keys = keys
        self.clock = clock
        self.listeners: list[Callable[[dict[str, Any]], None]] = []

    async def raise_(self, key: str, kind: str, message: str, **detail: Any) -> bool:
        """Raise an alert unless one with ``key`` is active; True when it is new."""
        alert = {
            "key": key,
            "kind": kind,
            "message": message,
            "at": self.clock().isoformat(),
            "status": "raised",
            **detail,
        }
        body = json.dumps(alert, ensure_ascii=False)
        if not await self.redis.hsetnx(self.keys.alerts_active, key, body):
            return False
        await self._log(alert, body)
        log.warning("alert.raised", alert=kind, key=key, message=message, **detail)
        return True

    async def resolve(self, key: str, message: str) -> bool:
        """Resolve the alert ``key`` if active, with a recovery notice; True when it was active."""
        if not await self.redis.hdel(self.keys.alerts_active, key):
            return False
        notice = {"key": key, "message": message, "at": self.clock().isoformat(), "status": "resolved"}
        await self._log(notice, json.dumps(notice, ensure_ascii=False))
        log.info("alert.resolved", key=key, message=message)
        return True

    async def active(self) -> list[dict[str, Any]]:
        values = await self.redis.hvals(self.keys.alerts_active)
        return sorted((json.loads(text(v)) for v in values), key=lambda a: str(a["at"]))

    async def _log(self, alert: dict[str, Any], body: str) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.lpush(self.keys.alerts_log, body)
            pipe.ltrim(self.keys.alerts_log, 0, LOG_LENGTH - 1)
            await pipe.execute()
        for listener in self.listeners:
            listener(alert)

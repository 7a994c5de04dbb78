"""Operator alerts: raised once per condition (deduplicated by key), resolved with a recovery notice.

``hl:alerts:active`` hash: key -> the alert (JSON); ``hl:alerts:log`` list: raised and resolved
notices, newest first (capped). Raising or resolving changes both in one script: the log never
lacks a change the active set shows. Every alert is also logged as ``alert.raised`` /
``alert.resolved``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import redis.asyncio as aioredis
import structlog

from gateway.lua import Script
from gateway.store import Keys, text

LOG_LENGTH = 1000
log = structlog.get_logger("alerts")

# raise: set the alert unless one with its key is active, and log it; resolve: remove it, and log
_CHANGE = (
    ("active", "log"),
    ("op", "key", "body", "length"),
    """
local changed
if A.op == 'raise' then
  changed = redis.call('HSETNX', K.active, A.key, A.body)
else
  changed = redis.call('HDEL', K.active, A.key)
end
if changed == 1 then
  redis.call('LPUSH', K.log, A.body)
  redis.call('LTRIM', K.log, 0, tonumber(A.length) - 1)
end
return changed
""",
)


class Alerts:
    def __init__(self, redis: aioredis.Redis, keys: Keys, clock: Callable[[], datetime]) -> None:
        self.redis = redis
        self.keys = keys
        self.clock = clock
        self.listeners: list[Callable[[dict[str, Any]], None]] = []
        self._change = Script(redis, *_CHANGE)

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
        if not await self._changed("raise", alert):
            return False
        log.warning("alert.raised", alert=kind, key=key, message=message, **detail)
        return True

    async def resolve(self, key: str, message: str) -> bool:
        """Resolve the alert ``key`` if active, with a recovery notice; True when it was active."""
        notice = {"key": key, "message": message, "at": self.clock().isoformat(), "status": "resolved"}
        if not await self._changed("resolve", notice):
            return False
        log.info("alert.resolved", key=key, message=message)
        return True

    async def active(self) -> list[dict[str, Any]]:
        values = await self.redis.hvals(self.keys.alerts_active)
        return sorted((json.loads(text(v)) for v in values), key=lambda a: str(a["at"]))

    async def _changed(self, op: str, alert: dict[str, Any]) -> bool:
        """Raise or resolve ``alert`` with its notice logged, in one script; tell the listeners."""
        keys = {"active": self.keys.alerts_active, "log": self.keys.alerts_log}
        body = json.dumps(alert, ensure_ascii=False)
        args = {"op": op, "key": alert["key"], "body": body, "length": LOG_LENGTH}
        if not await self._change(keys, args):
            return False
        for listener in self.listeners:
            listener(alert)
        return True

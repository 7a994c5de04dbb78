"""Alerts posted to the operators' webhook: every raised alert and every recovery notice, once
(:class:`gateway.alerts.Alerts` deduplicates in Redis, so only the process that raised it posts).

The body is JSON ``{"type": "alert.raised" | "alert.resolved", "centre": ..., "alert": {...}}``;
with a ``secret`` it is signed as Standard Webhooks (``webhook-id``, ``webhook-timestamp``,
``webhook-signature``). A post is tried ``attempts`` times, then only logged.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import aiohttp
import structlog

from gateway.health.settings import AlertSettings

log = structlog.get_logger("alerts")
STOP_TIMEOUT = 5.0


class AlertPoster:
    def __init__(self, settings: AlertSettings, centre: str) -> None:
        self.settings = settings
        self.centre = centre
        self.sent: list[dict[str, Any]] = []  # what was posted (kept short; for tests and diagnosis)
        self._tasks: set[asyncio.Task[bool]] = set()

    def on_alert(self, alert: dict[str, Any]) -> None:
        """The :class:`Alerts` listener: post in the background."""
        if self.settings.webhook is None:
            return
        task = asyncio.create_task(self.post(alert), name=f"alert-{alert.get('key')}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def post(self, alert: dict[str, Any]) -> bool:
        url = str(self.settings.webhook)
        kind = "alert.resolved" if alert.get("status") == "resolved" else "alert.raised"
        body = json.dumps({"type": kind, "centre": self.centre, "alert": alert}, ensure_ascii=False)
        msg_id = (
            "alert_"
            + hashlib.sha256(f"{alert.get('key')}|{alert.get('at')}|{kind}".encode()).hexdigest()[:24]
        )
        now = datetime.now(UTC)
        headers = {
            "content-type": "application/json",
            "user-agent": "hotline-gateway",
            "webhook-id": msg_id,
            "webhook-timestamp": str(int(now.timestamp())),
        }
        if self.settings.secret is not None:
            from standardwebhooks import Webhook

            headers["webhook-signature"] = Webhook(self.settings.secret.get_secret_value()).sign(
                msg_id, now, body
            )
        timeout = aiohttp.ClientTimeout(total=self.settings.timeout_seconds)
        error = ""
        for attempt in range(self.settings.attempts):
            try:
                async with (
                    aiohttp.ClientSession(timeout=timeout) as session,
                    session.post(url, data=body.encode(), headers=headers) as response,
                ):
                    if response.status < 300:
                        self.sent = [*self.sent[-99:], {"type": kind, **alert}]
                        log.info("alert.posted", key=alert.get("key"), type=kind, status=response.status)
                        return True
                    error = f"HTTP {response.status}"
            except (aiohttp.ClientError, TimeoutError) as e:
                error = repr(e)[:200]
            await asyncio.sleep(0.5 * 2**attempt)
        log.error("alert.post_failed", key=alert.get("key"), type=kind, error=error)
        return False

    async def aclose(self) -> None:
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=STOP_TIMEOUT)

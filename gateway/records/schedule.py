"""Reports sent on a schedule: once a week (month) has ended, its report goes once to the configured
webhook (``HOTLINE_REPORT_WEBHOOK``: a POST of the JSON report) and/or e-mail address
(``HOTLINE_REPORT_EMAIL``, through ``HOTLINE_REPORT_SMTP`` host:port; the HTML page as the body and
the PDF attached). ``HOTLINE_REPORTS`` names which (``weekly,monthly`` by default).

Several gateway processes may run: a Redis ``SET NX`` per report (``{ns}:report-sent:<kind>:<period>``)
makes exactly one of them send it. A failed send is retried at the next check (the mark is removed).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from typing import Any

import aiohttp
import aiosmtplib
import redis.asyncio as aioredis
import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.env import env_number
from gateway.errors import ConfigError
from gateway.records import periods, render
from gateway.records.report import build
from gateway.store import Keys

log = structlog.get_logger("records")


@dataclass(frozen=True)
class Schedule:
    kinds: tuple[periods.Kind, ...]
    webhook: str | None
    email: str | None
    smtp: tuple[str, int]
    check_seconds: float

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Schedule | None:
        """None when no destination is configured."""
        webhook, email = env.get("HOTLINE_REPORT_WEBHOOK") or None, env.get("HOTLINE_REPORT_EMAIL") or None
        if webhook is None and email is None:
            return None
        names = [k.strip() for k in env.get("HOTLINE_REPORTS", "weekly,monthly").split(",") if k.strip()]
        unknown = [k for k in names if k not in periods.KINDS]
        if unknown:
            raise ConfigError([f"HOTLINE_REPORTS: unknown report {unknown[0]!r} (weekly, monthly)"])
        host, _, port = env.get("HOTLINE_REPORT_SMTP", "127.0.0.1:25").rpartition(":")
        if not port.isdigit():
            raise ConfigError(["HOTLINE_REPORT_SMTP: write it as host:port"])
        kinds = tuple(k for k in periods.KINDS if k in names)
        check = env_number(env, "HOTLINE_REPORT_CHECK_SECONDS", 300, 0.01, 86_400, "seconds")
        return cls(kinds, webhook, email, (host or "127.0.0.1", int(port)), check)


def due(kinds: tuple[periods.Kind, ...], now: datetime) -> list[periods.Period]:
    """Pure: the reports to send now, the last complete period of each kind."""
    return [periods.containing(kind, now).previous() for kind in kinds]


async def send(schedule: Schedule, report: dict[str, Any], names: Mapping[str, str] | None = None) -> None:
    if schedule.webhook:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session,
            session.post(schedule.webhook, json=report) as response,
        ):
            response.raise_for_status()
    if schedule.email:
        message = EmailMessage()
        title = render.TITLES.get(report["kind"], "12345热线报告")
        message["Subject"] = f"{title} {report['period']}"
        message["To"] = schedule.email
        message["From"] = "hotline-gateway@localhost"
        message.set_content(f"{title} {report['period']}：来件 {report['total']} 件（详见附件）")
        message.add_alternative(render.html(report, names), subtype="html")
        pdf = await asyncio.to_thread(render.pdf, report, names)
        message.add_attachment(
            pdf, maintype="application", subtype="pdf", filename=f"report-{report['period']}.pdf"
        )
        await aiosmtplib.send(message, hostname=schedule.smtp[0], port=schedule.smtp[1])


async def run_once(
    schedule: Schedule,
    redis: aioredis.Redis,
    keys: Keys,
    engine: AsyncEngine,
    now: datetime,
    names: Mapping[str, str] | None = None,
) -> list[str]:
    """Send what is due and not yet sent (by any process); the names sent."""
    sent = []
    for period in due(schedule.kinds, now):
        mark = keys.k("report-sent", period.kind, period.name)
        if not await redis.set(mark, now.isoformat(), nx=True, ex=400 * 86400):
            continue
        try:
            await send(schedule, await build(engine, period, now), names)
        except (aiohttp.ClientError, aiosmtplib.SMTPException, OSError, TimeoutError) as e:
            await redis.delete(mark)
            log.warning(
                "records.report_not_sent", report=period.kind, period=period.name, error=type(e).__name__
            )
            continue
        log.info("records.report_sent", report=period.kind, period=period.name)
        sent.append(f"{period.kind}:{period.name}")
    return sent

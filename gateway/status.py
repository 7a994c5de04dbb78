"""``hotline-gateway status``: channels and units as a terminal table, read from the same Redis a
serving gateway uses, through the same reports as ``GET /api/v1/channels`` and
``GET /api/v1/units/health``."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import redis.asyncio as aioredis
import structlog
from rich.console import Console
from rich.table import Table

from adapters.base import Adapter, AdapterContext
from gateway.config import Config
from gateway.delivery.health import UnitHealthStore
from gateway.health.report import channel_reports, unit_reports
from gateway.health.store import HealthStore
from gateway.loop import Intake
from gateway.registry import Registry
from gateway.store import Keys

COLOURS = {
    "healthy": "green",
    "degraded": "yellow",
    "silent": "magenta",
    "down": "bold red",
    "disabled": "dim",
}
LABELS = {"healthy": "正常", "degraded": "降级", "silent": "静默", "down": "中断", "disabled": "未启用"}


async def poller_health(
    config: Config, registry: Registry, redis: aioredis.Redis, keys: Keys, now: datetime
) -> dict[str, dict[str, Any]]:
    """Ask each enabled channel's adapter for its own health. Adapters do no I/O when made, and
    ``health()`` reads their state from Redis, so this answers beside a serving gateway."""
    appeals = Intake(
        redis,
        keys,
        prefix=config.gateway.centre.appeal_no_prefix,
        network=lambda: config.network,
        channel_kinds={c.id: c.kind for c in config.channels},
        clock=lambda: now,
    )
    context = AdapterContext(
        intake=appeals,
        clock=lambda: now,
        log=structlog.get_logger("status"),
        max_body_bytes=config.gateway.intake.max_body_bytes,
        redis=redis,
        keys=keys,
    )
    found: dict[str, dict[str, Any]] = {}
    for channel in config.channels:
        kind = registry.kinds.get(channel.kind)
        if not channel.enabled or channel.settings is None or kind is None:
            continue
        adapter: Adapter[Any] = kind(channel.id, channel.settings, context)
        try:
            found[channel.id] = dict(await adapter.health())
        except Exception as e:  # one broken hook must not hide the rest
            found[channel.id] = {"state": "unknown", "error": repr(e)[:200]}
    return found


async def collect(
    config: Config, registry: Registry, redis: aioredis.Redis, keys: Keys, now: datetime
) -> dict[str, Any]:
    store = HealthStore(redis, keys)
    pollers = await poller_health(config, registry, redis, keys, now)
    return {
        "at": now.isoformat(),
        "channels": await channel_reports(config, store, pollers, now),
        "units": await unit_reports(
            config, store, UnitHealthStore(redis, keys, config.gateway.delivery), redis, keys, now
        ),
    }


def _status(value: str) -> str:
    return f"[{COLOURS.get(value, 'white')}]{LABELS.get(value, value)} {value}[/]"


def _time(value: str | None) -> str:
    return value[5:19].replace("T", " ") if value else "—"


def render(report: dict[str, Any], console: Console, *, all_units: bool = False) -> None:
    channels = Table(title=f"Channels 渠道 · {_time(report['at'])}", title_justify="left")
    for column in ("channel", "kind", "status", "5m recv/acc/rej/fail", "1h recv", "last message", "why"):
        channels.add_column(column)
    for c in report["channels"]:
        five = c["last_5m"]
        channels.add_row(
            f"{c['id']}\n[dim]{c['name']}[/]",
            c["kind"],
            _status(c["status"]),
            f"{five['received']}/{five['accepted']}/{five['rejected']}/{five['failed']}",
            str(c["last_1h"]["received"]),
            _time(c["last_message_at"]),
            "; ".join(c["reasons"]) if c["status"] != "disabled" else "",
        )
    console.print(channels)
    units = Table(title="Units 承办单位投递", title_justify="left")
    for column in (
        "unit",
        "status",
        "1h ok/attempts",
        "failures",
        "breaker",
        "pending",
        "oldest pending",
        "last success",
    ):
        units.add_column(column)
    shown = [
        u
        for u in report["units"]
        if all_units or u["status"] != "healthy" or u["pending"] or u["last_24h"]["attempts"]
    ]
    for u in shown:
        units.add_row(
            f"{u['id']}\n[dim]{u['name']}[/]",
            _status(u["status"]),
            f"{u['last_1h']['ok']}/{u['last_1h']['attempts']}",
            str(u["consecutive_failures"]),
            u["breaker"],
            str(u["pending"]),
            _time(u["oldest_pending_at"]),
            _time(u["last_success_at"]),
        )
    console.print(units)
    quiet = len(report["units"]) - len(shown)
    if quiet:
        console.print(f"[dim]{quiet} more units healthy and idle (--all shows them)[/]")


def print_report(report: dict[str, Any], *, as_json: bool, all_units: bool) -> None:
    if as_json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        render(report, Console(), all_units=all_units)


def exit_code(report: dict[str, Any]) -> int:
    """0 all well, 1 when a channel is down or silent or a unit down (for scripts and cron)."""
    bad = any(c["status"] in ("down", "silent") for c in report["channels"])
    return 1 if bad or any(u["status"] == "down" for u in report["units"]) else 0

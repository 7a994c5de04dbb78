"""Channel and unit health through the operator API, /metrics and alerts, against real Redis."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest
import redis.asyncio as aioredis
from standardwebhooks import Webhook

from gateway.config import Config
from gateway.health.rules import hour_of
from gateway.registry import Registry
from gateway.status import exit_code
from gateway.store import Keys
from normalizer import SHANGHAI
from tests.adapters.sms.standin import SmsStandIn, sms_env
from tests.conftest import FakeClock, Gateway, UnitReceiver, eventually, start_gateway
from tests.health.conftest import (
    ALERT_SECRET,
    AUTH,
    AlertReceiver,
    channels,
    forged_wechat,
    post_sms,
    settle,
    sms,
    with_alerts,
)

MONDAY_1030 = datetime(2026, 11, 30, 10, 30, tzinfo=SHANGHAI)
STATUSES = {"healthy", "degraded", "silent", "down", "disabled"}


async def test_bar_channels_metrics_health_and_dashboard(gateway: Gateway, config: Config) -> None:
    """After SMS traffic and a forged WeChat post: 17 channels with status and moved counts,
    per-channel series in /metrics including the rejection, /healthz, /readyz, /dashboard."""
    for i, phone in enumerate(("13912341234", "13912345678", "13800001111")):
        assert await post_sms(gateway, sms(i + 1, phone, f"小区路灯坏了第{i}处")) == 200
    assert await post_sms(gateway, sms(1, "13912341234", "小区路灯坏了第0处")) == 200  # a provider retry
    assert await forged_wechat(gateway) == 401

    found = await channels(gateway)
    assert len(found) == len(config.channels) == 17
    assert {c["status"] for c in found.values()} <= STATUSES
    assert all({"id", "kind", "status", "counts"} <= c.keys() for c in found.values())
    sms_channel, wechat = found["sms-12345"], found["wechat-official"]
    assert sms_channel["kind"] == "sms"
    assert sms_channel["counts"] == {"received": 4, "accepted": 3, "duplicate": 1, "rejected": 0, "failed": 0}
    assert sms_channel["last_5m"]["received"] == 4
    assert sms_channel["hourly"]["received"][-1] == 4 and len(sms_channel["hourly"]["received"]) == 24
    assert sms_channel["last_message_at"] is not None
    assert sms_channel["status"] == "healthy"
    assert wechat["counts"]["rejected"] == 1 and wechat["counts"]["received"] == 1
    assert wechat["last_error"].startswith("HTTP 401")
    assert found["phone-12345"]["counts"]["received"] == 0

    metrics = await (await gateway.client.get("/metrics")).text()
    assert 'hotline_channel_received_total{channel="sms-12345"} 4.0' in metrics
    assert 'hotline_channel_messages_total{channel="sms-12345",outcome="accepted"} 3.0' in metrics
    assert 'hotline_channel_messages_total{channel="sms-12345",outcome="duplicate"} 1.0' in metrics
    assert 'hotline_channel_messages_total{channel="wechat-official",outcome="rejected"} 1.0' in metrics
    assert 'hotline_channel_status{channel="sms-12345",status="healthy"} 1.0' in metrics
    assert 'hotline_queue_depth{queue="intake"}' in metrics
    assert 'hotline_queue_depth{queue="manual"}' in metrics
    assert "process_resident_memory_bytes" in metrics and "python_info{" in metrics
    families = {line.split()[2] for line in metrics.splitlines() if line.startswith("# TYPE hotline_")}
    assert not any(f.startswith(("hotline_channel_accepted", "hotline_channel_failed")) for f in families)

    assert (await gateway.client.get("/healthz")).status == 200
    ready = await gateway.client.get("/readyz")
    assert ready.status == 200, await ready.text()
    page = await gateway.client.get("/dashboard")
    assert page.status == 200 and page.content_type == "text/html"
    assert "12345 热线工作台" in await page.text()
    assert (await gateway.client.get("/dashboard/app.js")).status == 200
    assert (await gateway.client.get("/api/v1/channels")).status == 401
    await settle()


async def test_several_processes_report_one_truth(
    gateway: Gateway,
    config: Config,
    redis: aioredis.Redis,
    keys: Keys,
    registry: Registry,
    receiver: UnitReceiver,
) -> None:
    other = await start_gateway(config, redis, keys, registry, receiver, workers=False)
    try:
        assert await post_sms(gateway, sms(1, "13912341234", "噪音扰民")) == 200
        assert await post_sms(other, sms(2, "13912345678", "噪音扰民二")) == 200
        assert await forged_wechat(other) == 401
        # each process counts in memory and flushes each second: within a flush both see both
        for gw in (gateway, other):

            async def both_counted(gw: Gateway = gw) -> bool:
                found = await channels(gw)
                return (
                    found["sms-12345"]["counts"]["accepted"] == 2
                    and found["wechat-official"]["counts"]["rejected"] == 1
                )

            await eventually(both_counted, timeout=3.0)
    finally:
        await settle()
        await other.client.close()


@pytest.fixture
async def alerting(
    config: Config,
    redis: aioredis.Redis,
    keys: Keys,
    registry: Registry,
    receiver: UnitReceiver,
    alert_receiver: AlertReceiver,
) -> AsyncIterator[Gateway]:
    configured = with_alerts(config, webhook=alert_receiver.url, secret=ALERT_SECRET, evaluate_seconds=0.05)
    gw = await start_gateway(configured, redis, keys, registry, receiver)
    yield gw
    await settle()
    await gw.client.close()


async def test_forged_posts_take_a_channel_down_then_it_recovers_with_notices(
    alerting: Gateway, alert_receiver: AlertReceiver
) -> None:
    key = "channel:sms-12345:down"
    for _ in range(3):
        assert await post_sms(alerting, sms(1, "13912341234", "路灯坏了"), token="forged") == 401
    found = await channels(alerting)
    assert found["sms-12345"]["status"] == "down"
    assert "refused" in found["sms-12345"]["reasons"][0]
    raised = await eventually(lambda: _async(alert_receiver.of("alert.raised", key)))
    assert len(raised) == 1 and raised[0]["alert"]["channel"] == "sms-12345"
    _payload, headers, body = next(p for p in alert_receiver.posts if p[0]["type"] == "alert.raised")
    Webhook(ALERT_SECRET).verify(body, headers)  # signed as Standard Webhooks

    await asyncio.sleep(0.2)  # judged again several times: still one alert
    assert len(alert_receiver.of("alert.raised", key)) == 1
    assert (await alerting.client.get("/api/v1/alerts", headers=AUTH)).status == 200

    assert await post_sms(alerting, sms(2, "13912341234", "路灯坏了")) == 200  # the provider fixed its token
    resolved = await eventually(lambda: _async(alert_receiver.of("alert.resolved", key)))
    assert "again" in resolved[0]["alert"]["message"]
    assert (await channels(alerting))["sms-12345"]["status"] == "degraded"  # 3 of 4 refused in 5 min


async def _async(value: Any) -> Any:
    return value


async def test_storage_failures_count_as_failed(
    config: Config, keys: Keys, registry: Registry, receiver: UnitReceiver, standin: SmsStandIn
) -> None:
    dead = aioredis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    down = await start_gateway(config, dead, keys, registry, receiver, workers=False)
    try:
        for i in range(3):
            assert await post_sms(down, sms(i, "13912341234", "停水了")) == 503
        registry = down.runtime.health.metrics.registry  # this process's counters; Redis is down
        failed = {"channel": "sms-12345", "outcome": "failed"}
        assert registry.get_sample_value("hotline_channel_messages_total", failed) == 3
        assert registry.get_sample_value("hotline_channel_received_total", {"channel": "sms-12345"}) == 3
    finally:
        await down.client.close()
        await dead.aclose()


async def _seed_office_rhythm(redis: aioredis.Redis, gw: Gateway, channel: str, now: datetime) -> None:
    """Three weeks of traffic every working hour (Monday-Friday 08-18), ten messages an hour."""
    store = gw.runtime.health.store
    fields: dict[str, Any] = {"since": (now - timedelta(weeks=3, hours=2)).timestamp()}
    for day in range(5):
        for hour in range(8, 18):
            fields[f"{day}:{hour}:hours"] = 3
            fields[f"{day}:{hour}:messages"] = 30
    await redis.hset(store.rhythm_key(channel), mapping=fields)


async def test_a_channel_quiet_at_a_busy_hour_is_silent_and_alerted(
    config: Config,
    redis: aioredis.Redis,
    keys: Keys,
    registry: Registry,
    receiver: UnitReceiver,
    alert_receiver: AlertReceiver,
) -> None:
    clock = FakeClock(MONDAY_1030)
    configured = with_alerts(config, webhook=alert_receiver.url)
    gw = await start_gateway(configured, redis, keys, registry, receiver, clock=clock)
    try:
        await _seed_office_rhythm(redis, gw, "sms-12345", MONDAY_1030)
        reports = {c["id"]: c for c in await gw.runtime.health.evaluate()}
        sms_channel = reports["sms-12345"]
        assert sms_channel["status"] == "silent", sms_channel
        assert sms_channel["usual_now"]["per_hour"] == 10.0
        assert reports["phone-12345"]["status"] != "silent"  # no rhythm learnt yet: never silent
        assert await redis.hexists(keys.alerts_active, "channel:sms-12345:silent")
        await eventually(lambda: _async(alert_receiver.of("alert.raised", "channel:sms-12345:silent")))

        assert await post_sms(gw, sms(1, "13912341234", "井盖丢了")) == 200
        assert (await channels(gw))["sms-12345"]["status"] == "healthy"
        await gw.runtime.health.evaluate()
        await eventually(lambda: _async(alert_receiver.of("alert.resolved", "channel:sms-12345:silent")))

        clock.now = MONDAY_1030.replace(hour=3)  # 03:00: quiet by habit
        assert (await channels(gw))["sms-12345"]["status"] == "healthy"
    finally:
        await settle()
        await gw.client.close()


async def test_unit_delivery_health(gateway: Gateway) -> None:
    first = await gateway.post_appeal(
        description="小区燃气管道漏气，气味很大，请尽快处理", address_string="蚌山区"
    )
    (delivered,) = await gateway.receiver.wait_for(1)
    unit = delivered.unit
    gateway.receiver.statuses[unit] = [500]
    second = await gateway.post_appeal(
        description="小区燃气管道漏气，气味很大，请尽快处理！", address_string="蚌山区"
    )
    assert first != second
    await gateway.receiver.wait_for(2)

    async def failed_once() -> Any:
        response = await gateway.client.get("/api/v1/units/health", headers=AUTH)
        units = {u["id"]: u for u in (await response.json())["items"]}
        return units[unit] if units[unit]["consecutive_failures"] == 1 else None

    health = await eventually(failed_once)
    assert health["last_1h"] == {"attempts": 2, "ok": 1, "failed": 1}
    assert health["success_rate_1h"] == 0.5
    assert health["last_success_at"] is not None
    assert health["breaker"] == "closed"
    assert health["status"] == "degraded"
    assert health["pending"] == 1 and health["oldest_pending_at"] is not None
    metrics = await (await gateway.client.get("/metrics")).text()
    assert f'hotline_delivery_attempts_total{{outcome="ok",unit="{unit}"}} 1.0' in metrics
    assert f'hotline_delivery_latency_seconds_count{{unit="{unit}"}} 2.0' in metrics
    assert f'hotline_unit_pending_deliveries{{unit="{unit}"}} 1.0' in metrics


async def test_overdue_appeals_are_listed(
    config: Config, redis: aioredis.Redis, keys: Keys, registry: Registry, receiver: UnitReceiver
) -> None:
    clock = FakeClock(MONDAY_1030)
    gw = await start_gateway(config, redis, keys, registry, receiver, clock=clock)
    try:
        appeal_no = await gw.post_appeal(description="小区燃气管道漏气，气味很大", address_string="蚌山区")
        await gw.wait_state(appeal_no, "dispatched")
        await eventually(lambda: redis.zscore(gw.runtime.health.deadlines.key, appeal_no))
        response = await gw.client.get("/api/v1/overdue", headers=AUTH)
        assert (await response.json())["count"] == 0
        clock.advance(30 * 86400)
        items = (await (await gw.client.get("/api/v1/overdue", headers=AUTH)).json())["items"]
        assert [(i["appeal_no"], i["missed"]) for i in items] == [(appeal_no, "sign_by")]
        assert items[0]["overdue_minutes"] > 0
        assert (await gw.client.get("/api/v1/overdue?limit=x", headers=AUTH)).status == 400
    finally:
        await gw.client.close()


async def test_status_cli_tells_the_same_truth(
    gateway: Gateway, redis_url: str, keys: Keys, receiver: UnitReceiver, standin: SmsStandIn
) -> None:
    assert await post_sms(gateway, sms(1, "13912341234", "路面塌陷")) == 200
    assert await forged_wechat(gateway) == 401
    env = (
        os.environ
        | sms_env(receiver.url, standin)
        | {"REDIS_URL": redis_url, "HOTLINE_REDIS_NAMESPACE": keys.ns}
    )
    cli = [sys.executable, "-m", "gateway", "status"]
    proc = await asyncio.create_subprocess_exec(
        *cli, "--json", env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await proc.communicate()
    report = json.loads(out)
    # 1 once a channel is down: the sample feeds pull from nowhere, and after enough failed pulls
    # (a slow run) they are rightly down
    assert proc.returncode == exit_code(report), err.decode()
    api = await channels(gateway)
    assert len(report["channels"]) == 17
    for channel in report["channels"]:
        assert channel["status"] == api[channel["id"]]["status"]
        assert channel["counts"] == api[channel["id"]]["counts"]
    assert report["units"]
    proc = await asyncio.create_subprocess_exec(
        *cli, env=env | {"COLUMNS": "200"}, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await proc.communicate()
    assert proc.returncode in (0, 1), err.decode()
    table = out.decode()
    assert "sms-12345" in table and "wechat-official" in table and "Units" in table
    await settle()


def test_hour_buckets_are_epoch_hours() -> None:
    assert hour_of(MONDAY_1030) == int(MONDAY_1030.timestamp() // 3600)

"""The workbench shows the gateway's English reasons in Chinese through one phrase table
(gateway/dashboard/static/zh.json, applied by the page): every explanation and candidate reason the
router gives on the public messages, and every health, alert and delivery reason the gateway writes,
come out with no English word left (ids are shown by their names, as the page does)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from gateway.config import Config, load_config
from gateway.registry import load_kinds
from router import route
from tests.router.conftest import CONFIG_DIR, DATA_DIR, ROOT

TABLE = json.loads((ROOT / "gateway/dashboard/static/zh.json").read_text(encoding="utf-8"))["phrases"]
ENGLISH = re.compile(r"[A-Za-z]{2,}")
APPEAL_NO = re.compile(r"\b[A-Z]{2}-\d{8}-\d{6}\b")
ISO_TIME = re.compile(r"\d{4}-\d\d-\d\dT[\d:.]+(?:[+-]\d\d:\d\d|Z)?")


def zh(text: str, names: dict[str, str]) -> str:
    """What the page does (app.js ``zh()``): the phrases in order, then ids by their names."""
    for pattern, replacement in TABLE:
        text = re.sub(pattern, re.sub(r"\$(\d)", r"\\g<\1>", replacement), text)
    for ident, name in names.items():
        text = re.sub(rf"(?<![\w-]){re.escape(ident)}(?![\w-])", name, text)
    return text


def leftover(text: str, quoted: str = "") -> list[str]:
    """English words left, but for the citizen's own (a keyword such as KTV or APP quoted from the text)."""
    return [w for w in ENGLISH.findall(ISO_TIME.sub("", APPEAL_NO.sub("", text))) if w not in quoted]


@pytest.fixture(scope="module")
def sample() -> Config:
    return load_config(CONFIG_DIR, kinds=load_kinds(strict=False).kinds)


@pytest.fixture(scope="module")
def names(sample: Config) -> dict[str, str]:
    units = {u.id: u.name for u in sample.network.units.values()}
    return units | {c.id: c.name for c in sample.channels}


def _messages() -> list[dict[str, Any]]:
    """The labelled messages and every fourth of the hot ones (about 1,600: the suite's budget)."""
    found = []
    for name, step in (("messages-labelled.jsonl", 1), ("messages-hot.jsonl", 4)):
        path = DATA_DIR / name
        if path.exists():
            found += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()[::step]]
    return found


@pytest.mark.skipif(not _messages(), reason="shared/data is not present")
def test_every_explanation_of_the_public_messages_reads_in_chinese(
    sample: Config, names: dict[str, str]
) -> None:
    left: dict[str, str] = {}
    for m in _messages():
        subject, content = m.get("title") or "", m.get("text") or ""
        decision = route(sample.router, subject=subject, content=content)
        for text in [decision.explanation, *(c.reason for c in decision.candidates)]:
            shown = zh(text, names)
            if words := leftover(shown, subject + content):
                left.setdefault(" ".join(words), f"{text}\n  -> {shown}")
    assert not left, "\n".join(list(left.values())[:5])


REASONS = [
    "not enabled in the configuration",
    "poller reconnecting: IMAP 127.0.0.1:143: "
    "ConnectionRefusedError(111, \"Connect call failed ('127.0.0.1', 143)\")",
    "poller auth_failed: the platform refused our credentials (HTTP 401)",
    "poller degraded: the platform is unreachable: ClientConnectorError",
    "poller last reported 95 s ago",
    "3 failures in 5 min and nothing accepted",
    "4 of 9 messages refused in 5 min and nothing accepted",
    "2 failures in 5 min",
    "1 of 20 messages refused in 5 min",
    "no message for 75 min where about 12.5 an hour usually come (limit 60 min)",
    "7 consecutive failures; breaker open",
    "3 consecutive failures",
    "40% of deliveries succeeded in the last hour",
    "HTTP 410 Gone at 2026-12-02T10:00:00+08:00",
    "HTTP 503",
    "ClientConnectorError",
    "ServerTimeoutError",
    "蚌埠12345微信公众号 (wechat-official) is down: 3 failures in 5 min and nothing accepted",
    "蚌埠12345微信公众号 (wechat-official) is healthy again",
    "蚌埠市供水有限公司 answered 410 Gone: its endpoint is disabled until re-enabled",
    "蚌埠市供水有限公司 has failed every delivery for 12 min",
    "蚌埠市供水有限公司 answers again",
    "BB-20261202-000042 missed its sign_by deadline at water-supply",
    "BB-20261202-000042 missed its reply_by deadline at the centre",
    "BB-20261202-000042 is no longer overdue",
    "supervised appeal BB-20261202-000042: reply_by is due at 2026-12-03T10:00:00+08:00",
    "supervised appeal BB-20261202-000042: supervision was due at 2026-12-03T10:00:00+08:00",
    "5 failed sign-ins for account wang.li within 15 min",
]


@pytest.mark.parametrize("reason", REASONS)
def test_every_health_alert_and_delivery_reason_reads_in_chinese(reason: str, names: dict[str, str]) -> None:
    shown = zh(reason, names | {"wang.li": "王丽"})
    assert not leftover(shown), shown

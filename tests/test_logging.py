"""Logs are JSON, carry appeal number and channel, and never a full phone number, ID number or secret."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import pytest
import structlog

from gateway import logging as gateway_logging


@pytest.fixture
def logs() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    gateway_logging.configure("INFO", stream)
    yield stream
    structlog.reset_defaults()


def test_personal_data_and_secrets_are_masked(logs: io.StringIO) -> None:
    log = structlog.get_logger("t").bind(appeal_no="BB-20261129-000001", channel="sms-12345")
    log.info(
        "appeal.received",
        phone="+8613912341234",
        text="我的电话13912341234，身份证340302199001011234，请回电",
        api_token="hlu_abcdef",
        detail={"password": "hunter2", "note": "secret whsec_QUJDREVGR0g="},
    )
    line = json.loads(logs.getvalue())
    assert line["appeal_no"] == "BB-20261129-000001" and line["channel"] == "sms-12345"
    assert line["phone"] == "139****1234"
    assert "13912341234" not in logs.getvalue()
    assert "340302199001011234" not in logs.getvalue() and "3403**********1234" in line["text"]
    assert line["api_token"] == "***" and line["detail"]["password"] == "***"
    assert "whsec_" not in logs.getvalue()

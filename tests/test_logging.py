"""Logs are JSON, carry appeal number and channel, and never a full phone number, ID number or secret."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from datetime import datetime

import pytest
import structlog
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

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


def test_every_line_has_an_iso_8601_time_with_its_offset(logs: io.StringIO) -> None:
    structlog.get_logger("t").info("something.happened")
    stamp = json.loads(logs.getvalue())["timestamp"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+08:00", stamp), stamp
    assert datetime.fromisoformat(stamp).utcoffset() is not None


async def test_the_access_log_is_structured_and_masks_query_secrets(logs: io.StringIO) -> None:
    app = web.Application()

    async def hello(request: web.Request) -> web.Response:
        return web.Response(text="hi")

    app.router.add_get("/hello", hello)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server(  # as serve starts it
        access_log_class=gateway_logging.AccessLogger, access_log=logging.getLogger("hotline.access")
    )
    async with TestClient(server) as client:
        query = "token=abc123&api_key=k-999&msg_signature=s1&sign=s2&echostr=e3&page=2&phone=13912341234"
        assert (await client.get(f"/hello?{query}")).status == 200
        lines = [json.loads(line) for line in logs.getvalue().splitlines()]
    (access,) = [line for line in lines if line["event"] == "http.access"]
    assert access["method"] == "GET" and access["path"] == "/hello" and access["status"] == 200
    assert access["query"].startswith("token=***&api_key=***&msg_signature=***&sign=***&echostr=***&page=2")
    assert access["client"] == "127.0.0.0/24" and access["duration_ms"] >= 0 and access["bytes_sent"] > 2
    for secret in ("abc123", "k-999", "s1", "s2", "e3", "13912341234"):
        assert secret not in logs.getvalue()

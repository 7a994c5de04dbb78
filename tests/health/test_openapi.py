"""The OpenAPI description is generated and honest: valid OpenAPI 3.1, every mounted route in it, its
bounds enforced; a schemathesis run against the app on 127.0.0.1 finds no 5xx."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import OpenAPIV31SpecValidator

from gateway.api.declare import operation_of
from gateway.cli import main
from tests.conftest import CONFIG_DIR, OPERATOR_TOKEN, Gateway

METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}
AUTH = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}


async def served(gateway: Gateway) -> Any:
    response = await gateway.client.get("/openapi.json")
    assert response.status == 200
    return await response.json()


async def test_the_document_is_valid_openapi_3_1(gateway: Gateway) -> None:
    document = await served(gateway)
    assert document["openapi"] == "3.1.0"
    errors = [e.message for e in OpenAPIV31SpecValidator(document).iter_errors()]
    assert errors == []


async def test_the_cli_prints_the_document_the_app_serves(
    gateway: Gateway, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["openapi", "--config", str(CONFIG_DIR)]) == 0
    out = capsys.readouterr().out  # the gateway's own log lines may come first
    printed, _ = json.JSONDecoder().raw_decode(out[out.index('{\n  "openapi"') :])
    assert printed["paths"].keys() == (await served(gateway))["paths"].keys()


async def test_every_mounted_route_is_described_and_nothing_else(gateway: Gateway) -> None:
    app = gateway.client.server.app
    assert app is not None
    mounted = {
        (route.method.lower(), route.resource.canonical)
        for route in app.router.routes()
        if route.method in METHODS and route.resource is not None
    }
    document = await served(gateway)
    described = {(method, path) for path, item in document["paths"].items() for method in item}
    assert mounted == described
    channel_ids = {c.id for c in gateway.runtime.config.channels if c.enabled}
    assert {p.split("/")[2] for _, p in mounted if p.startswith("/channels/")} == channel_ids - {
        c.id for c in gateway.runtime.config.channels if c.kind in ("mailbox", "portal")
    }
    for route in app.router.routes():  # the channels' routes too: each describes its models
        path = route.resource.canonical if route.resource is not None else ""
        if route.method in METHODS:
            assert operation_of(route.handler) is not None, f"{route.method} {path} declares nothing"


def parameters(operation: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(p["in"], p["name"]): p for p in operation.get("parameters", [])}


def body_schema(document: dict[str, Any], operation: dict[str, Any], content_type: str) -> dict[str, Any]:
    ref = operation["requestBody"]["content"][content_type]["schema"]["$ref"]
    return document["components"]["schemas"][ref.rsplit("/", 1)[1]]  # type: ignore[no-any-return]


async def test_channel_routes_show_their_declared_query_headers_and_body(gateway: Gateway) -> None:
    """An integrator reads each channel's parameters and body fields from the document."""
    document = await served(gateway)
    wechat = document["paths"]["/channels/wechat-official"]
    push = parameters(wechat["post"])
    assert {"signature", "timestamp", "nonce", "encrypt_type", "msg_signature"} <= {n for _, n in push}
    assert push[("query", "encrypt_type")]["schema"]["enum"] == ["raw", "aes"]
    assert push[("query", "signature")]["required"] and not push[("query", "msg_signature")]["required"]
    assert "echostr" not in {n for _, n in push}
    assert parameters(wechat["get"])[("query", "echostr")]["required"]
    assert "PicUrl" in body_schema(document, wechat["post"], "application/xml")["properties"]

    sms = document["paths"]["/channels/sms-12345/uplink"]["post"]
    assert ("query", "token") in parameters(sms)
    aliyun = sms["requestBody"]["content"]["application/json"]["schema"]  # the sample's provider
    assert aliyun == {"$ref": "#/components/schemas/AliyunPush"}

    feed = document["paths"]["/channels/governor-hotline"]["post"]
    signed = parameters(feed)
    assert {n for w, n in signed if w == "header"} == {"X-App-Key", "X-Timestamp", "X-Nonce", "X-Signature"}
    assert signed[("header", "X-Timestamp")]["schema"]["pattern"] == "^[0-9]{1,12}$"

    phone = document["paths"]["/channels/phone-12345/events"]["post"]
    for content_type in ("application/json", "application/x-www-form-urlencoded"):
        assert "callId" in body_schema(document, phone, content_type)["properties"]
    weibo = document["paths"]["/channels/weibo-gov"]["post"]
    assert "sender_id" in body_schema(document, weibo, "application/json")["required"]

    create = document["paths"]["/open311/v2/requests.{fmt}"]["post"]
    assert parameters(create)[("path", "fmt")]["schema"]["enum"] == ["json", "xml"]
    assert ("header", "Idempotency-Key") in parameters(create)
    form = body_schema(document, create, "application/x-www-form-urlencoded")
    assert {"service_code", "description", "attribute[title]"} <= form["properties"].keys()
    listing = parameters(document["paths"]["/open311/v2/requests.{fmt}"]["get"])
    assert {"service_request_id", "service_code", "start_date", "end_date", "status"} <= {
        n for w, n in listing if w == "query"
    }


@pytest.mark.slow
async def test_schemathesis_finds_no_server_error(gateway: Gateway, tmp_path: Path) -> None:
    cli = shutil.which("schemathesis", path=str(Path(sys.executable).parent)) or shutil.which("st")
    assert cli is not None, "schemathesis is a dev dependency (pip install -e '.[dev]')"
    base = str(gateway.client.make_url("")).rstrip("/")
    proc = await asyncio.create_subprocess_exec(
        cli,
        "run",
        f"{base}/openapi.json",
        "--url",
        base,
        "--checks",
        "not_a_server_error",
        "--max-examples",
        "3",
        "--phases",
        "examples,fuzzing",
        "--mode",
        "all",
        "--seed",
        "12345",
        "--no-shrink",
        "--request-timeout",
        "10",
        "--max-time",
        "15",  # the suite's budget; `make fuzz` runs the long one (bench/fuzz_api.py)
        "--suppress-health-check",
        "all",
        "--header",
        f"Authorization: Bearer {OPERATOR_TOKEN}",
        "--exclude-path",
        "/api/v1/routing/reload",  # re-reads config/ from disk: covered by its own tests
        cwd=tmp_path,
        env=os.environ | {"NO_COLOR": "1", "SCHEMATHESIS_TELEMETRY": "false"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 90)
    report = out.decode(errors="replace")
    assert proc.returncode == 0, report[-6000:]
    assert "not_a_server_error" in report or "passed" in report.lower(), report[-3000:]

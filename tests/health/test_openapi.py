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
    for route in app.router.routes():
        path = route.resource.canonical if route.resource is not None else ""
        if route.method in METHODS and not path.startswith(("/channels/", "/open311/")):
            assert operation_of(route.handler) is not None, f"{route.method} {path} declares nothing"


async def test_the_bounds_it_describes_are_the_ones_enforced(gateway: Gateway) -> None:
    """Each numeric query parameter's maximum is described from its model and refused past it."""
    document = await served(gateway)
    checked = 0
    for path, item in document["paths"].items():
        for parameter in item.get("get", {}).get("parameters", []):
            maximum = parameter["schema"].get("maximum")
            if parameter["in"] != "query" or maximum is None:
                continue
            url = path.replace("{unit_id}", "gas-supply")
            for value in (maximum * 10, -1, "nan", "inf", "1" * 5000, "²"):
                response = await gateway.client.get(url, params={parameter["name"]: str(value)}, headers=AUTH)
                assert response.status == 400, (url, parameter["name"], value)
                assert (await response.json())["error"]["code"] == "bad_request"
            checked += 1
    assert checked >= 5


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
        "4",
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
        "40",
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

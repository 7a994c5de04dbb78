"""The OpenAPI description is honest: every registered route is in it; a schemathesis run against the
app on 127.0.0.1 finds no 5xx."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import sys
from pathlib import Path

import pytest

from gateway.openapi import SPEC
from tests.conftest import OPERATOR_TOKEN, Gateway

METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}


def templated(path: str, channel_ids: set[str]) -> str:
    """A route as the description names it: a mounted channel id becomes ``{channel_id}``."""
    match = re.match(r"^/channels/([^/]+)(.*)$", path)
    if match and match.group(1) in channel_ids:
        return "/channels/{channel_id}" + match.group(2)
    return path


async def test_every_route_is_described(gateway: Gateway) -> None:
    channel_ids = {c.id for c in gateway.runtime.config.channels}
    app = gateway.client.server.app
    assert app is not None
    registered = {
        (route.method.lower(), templated(route.resource.canonical, channel_ids))
        for route in app.router.routes()
        if route.method in METHODS and route.resource is not None
    }
    described = {(method, path) for path, item in SPEC["paths"].items() for method in item}
    assert registered - described == set(), "routes missing from gateway/openapi.yaml"
    assert described - registered == set(), "described routes the app does not have"
    served = await (await gateway.client.get("/openapi.json")).json()
    assert served["openapi"].startswith("3.") and served["paths"].keys() == SPEC["paths"].keys()


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

"""Shared by the router benches: the sample configuration and the public data."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from aiohttp import web

from gateway.config import Config, load_config
from gateway.registry import load_kinds

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("HOTLINE_DATA", ROOT.parent / "shared" / "data"))


def sample_config(directory: str | Path = ROOT / "config") -> Config:
    return load_config(directory, kinds=load_kinds(strict=False).kinds)


def read_jsonl(name: str) -> Iterator[dict[str, Any]]:
    with (DATA / name).open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


async def serve_on_loopback(app: web.Application) -> tuple[web.AppRunner, str]:
    """``app`` served on 127.0.0.1 on a free port; the runner (to clean up) and the base URL."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}"

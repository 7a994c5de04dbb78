"""``hotline-gateway serve --workers N``: N processes share the HTTP port (SO_REUSEPORT), the intake
stream's consumer group (each its own consumer name) and the delivery schedule (claims are
leased). The singletons run in the process holding their lease. The supervising process starts the
embedded store (when no ``REDIS_URL`` is given) so that all of them use one, restarts a process that
dies, and passes SIGTERM on.

What happens when one of them is killed (even with ``kill -9``): intake entries it had read are
taken over by another after ``claim_idle_seconds`` (XAUTOCLAIM); deliveries it had claimed are due
again when their lease runs out; its singletons' lease runs out after 10 s and another takes it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from types import FrameType

import structlog

from gateway.store import EmbeddedRedis

RESTART_DELAY = 1.0


def event_loop() -> asyncio.AbstractEventLoop | None:
    """uvloop's event loop when it is installed (about a fifth less CPU per appeal, measured in
    ``bench/throughput.py``); ``HOTLINE_UVLOOP=0``, or no uvloop: asyncio's own (None)."""
    if os.environ.get("HOTLINE_UVLOOP", "1") == "0":
        return None
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop()


def child_command(args: argparse.Namespace) -> list[str]:
    return [
        sys.executable,
        "-m",
        "gateway",
        "serve",
        "--config",
        str(args.config),
        "--host",
        args.host,
        "--port",
        str(args.port),
        "--role",
        args.role,
        "--workers",
        "1",
        "--reuse-port",
    ]


def supervise(args: argparse.Namespace, data_dir: os.PathLike[str]) -> int:
    log = structlog.get_logger("serve")
    env = dict(os.environ) | {"HOTLINE_WORKERS": str(args.workers)}
    embedded = None
    if not env.get("REDIS_URL"):
        from pathlib import Path

        embedded = EmbeddedRedis(Path(data_dir))
        env["REDIS_URL"] = f"unix://{embedded.socket_path}"
    stopping = False

    def stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    command = child_command(args)
    children = [subprocess.Popen(command, env=env) for _ in range(args.workers)]
    log.info("serve.processes", workers=args.workers, pids=[c.pid for c in children], role=args.role)
    try:
        while not stopping:
            time.sleep(0.2)
            for i, child in enumerate(children):
                if child.poll() is not None and not stopping:
                    log.warning("serve.process_exited", pid=child.pid, code=child.returncode)
                    time.sleep(RESTART_DELAY)
                    children[i] = subprocess.Popen(command, env=env)
                    log.info("serve.process_restarted", pid=children[i].pid)
    finally:
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        if embedded is not None:
            embedded.close()
    return 0

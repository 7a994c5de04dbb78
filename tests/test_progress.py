"""Long commands show progress on a terminal and nothing when piped; their output stays whole."""

from __future__ import annotations

import io
import json
import os
import pty
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from rich.console import Console

from gateway.progress import progress, track
from tests.conftest import CONFIG_DIR

ROOT = Path(__file__).resolve().parents[1]
LABELLED = ROOT.parent / "shared" / "data" / "messages-labelled.jsonl"
ITEMS = [
    {"title": "燃气泄漏", "text": "小区燃气泄漏，煤气味很重", "category": "城乡建设"},
    {"title": "", "text": "孩子入学学位不足，学校不接收", "category": "教育文体"},
] * 20
BAR_MARKS = ("\x1b[", "━", "routing", "counting words", "replaying", "composing", "reading, rendering")


def test_piped_output_gets_no_progress() -> None:
    out = io.StringIO()
    assert list(track(range(500), "routing", console=Console(file=out))) == list(range(500))
    with progress("replaying", console=Console(file=out)) as advance:
        advance(200)
    assert out.getvalue() == ""


def test_a_terminal_sees_the_bar_with_its_count() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=100)
    assert sum(track(iter(range(50)), "routing", total=50, console=console)) == sum(range(50))
    assert "routing" in out.getvalue() and "50/50" in out.getvalue()


def cli(
    *args: str, env: dict[str, str] | None = None, **streams: object
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        cwd=ROOT,
        env=os.environ | {"PYTHONPATH": str(ROOT), "TERM": "xterm-256color"} | (env or {}),
        timeout=120,
        check=True,
        **streams,  # type: ignore[call-overload]
    )


@pytest.fixture
def batch(tmp_path: Path) -> Path:
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps(i, ensure_ascii=False) + "\n" for i in ITEMS), encoding="utf-8")
    return path


def test_piped_commands_print_their_output_and_no_progress_noise(batch: Path, tmp_path: Path) -> None:
    """Standard output and standard error both piped (FORCE_COLOR as CI sets it): no bar anywhere."""
    env = {"FORCE_COLOR": "1", "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'record.db'}"}
    config = ("--config", str(CONFIG_DIR))
    routed = cli("route", "--batch", str(batch), *config, env=env, capture_output=True)
    lines = routed.stdout.decode().splitlines()
    assert [json.loads(line)["category"][0] for line in lines] == [i["category"] for i in ITEMS]
    suggested = cli("rules", "suggest", "--from", str(batch), *config, env=env, capture_output=True)
    runs = [routed, suggested]
    if LABELLED.exists():  # the shared data set beside the project
        loaded = cli(
            "demo", "history", "--months", "1", "--per-month", "20", *config, env=env, capture_output=True
        )
        assert b"appeals over 1 months" in loaded.stdout
        report = cli("report", "weekly", env=env, capture_output=True)
        assert json.loads(report.stdout)["total"] >= 0
        runs += [loaded, report]
    for run in runs:
        noise = [mark for mark in BAR_MARKS if mark in run.stderr.decode()]
        assert noise == [], (run.args, run.stderr.decode()[-500:])


def test_on_a_terminal_the_bar_goes_to_it_and_the_output_still_to_its_pipe(batch: Path) -> None:
    """``route --batch FILE > out.jsonl`` typed in a terminal: the bar on the terminal (standard
    error), every decision in the file, none of them on the terminal."""
    main, child = pty.openpty()
    seen = bytearray()

    def read_terminal() -> None:
        while True:
            try:
                chunk = os.read(main, 4096)
            except OSError:  # the child closed its end
                return
            if not chunk:
                return
            seen.extend(chunk)

    reader = threading.Thread(target=read_terminal)
    reader.start()
    try:
        routed = cli(
            "route", "--batch", str(batch), "--config", str(CONFIG_DIR), stdout=subprocess.PIPE, stderr=child
        )
    finally:
        os.close(child)
        reader.join(timeout=10)
        os.close(main)
    assert len(routed.stdout.decode().splitlines()) == len(ITEMS)
    terminal = seen.decode(errors="replace")
    assert "routing" in terminal
    assert '"category"' not in terminal

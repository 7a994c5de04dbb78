"""Long commands show progress on a terminal and nothing when piped."""

from __future__ import annotations

import io

from rich.console import Console

from gateway.progress import track


def test_piped_output_gets_no_progress() -> None:
    out = io.StringIO()
    assert list(track(range(500), "routing", console=Console(file=out))) == list(range(500))
    assert out.getvalue() == ""


def test_a_terminal_sees_the_bar_with_its_count() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=100)
    assert sum(track(iter(range(50)), "routing", total=50, console=console)) == sum(range(50))
    assert "routing" in out.getvalue() and "50/50" in out.getvalue()

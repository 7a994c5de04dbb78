"""Progress of long commands (``route --batch``, ``rules suggest``, rebuilds, reports, benches): a
rich progress bar on standard error when it is a terminal; nothing at all when it is piped or
redirected, so the command's output stays clean for the next program.

    for appeal in track(appeals, "routing", total=len(appeals)):
        ...
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator, Sized
from typing import TypeVar

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

T = TypeVar("T")


def track(
    items: Iterable[T], description: str, *, total: int | None = None, console: Console | None = None
) -> Iterator[T]:
    """Yield ``items``, advancing a progress bar per item when ``console`` (default: standard
    error) is a terminal. ``total`` defaults to ``len(items)`` where it has one."""
    console = console or Console(file=sys.stderr)
    if not console.is_terminal:
        yield from items
        return
    if total is None and isinstance(items, Sized):
        total = len(items)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(description, total=total)
        for item in items:
            yield item
            progress.advance(task)

"""Progress of long commands (``route --batch``, ``rules suggest``, ``records rebuild``, ``report``,
``demo history``, benches): a rich progress bar on standard error when it is a terminal; nothing at
all when it is piped or redirected, so the command's output stays clean for the next program.

    for appeal in track(appeals, "routing"):          # items with a length, or total=
        ...
    with progress("replaying") as advance:            # a count (total unknown: n/?)
        advance(200)

Standard output is never touched: what a command prints there reaches its pipe or file unchanged
while the bar runs on standard error (rich would otherwise redirect it into the bar's console,
i.e. to standard error). Only when standard output is a terminal too are its lines printed above
the bar. Library code takes a :class:`Track` (default :func:`quiet`) so only the CLI draws.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator, Sized
from contextlib import contextmanager
from typing import Protocol, TypeVar

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
Advance = Callable[[int], None]
"""Adds to the count of a running :func:`progress`."""


class Track(Protocol):
    """:func:`track`, or :func:`quiet` where nothing may be drawn."""

    def __call__(self, items: Iterable[T], description: str, *, total: int | None = None) -> Iterable[T]: ...


def quiet(items: Iterable[T], description: str, *, total: int | None = None) -> Iterable[T]:
    """The items, with no progress shown (the default of library functions)."""
    return items


def _ignore(n: int = 1) -> None:
    return None


def _is_terminal(stream: object) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty()) if callable(isatty) else False
    except ValueError:  # a closed stream
        return False


@contextmanager
def progress(
    description: str, *, total: int | None = None, console: Console | None = None
) -> Iterator[Advance]:
    """A bar on ``console`` (default: standard error) while the block runs, if it is a terminal;
    yields the function that advances it. ``total`` None: a count without an end (``n/?``)."""
    if console is None:  # a real terminal only: FORCE_COLOR and the like draw no bar into a pipe
        console = Console(file=sys.stderr) if _is_terminal(sys.stderr) else None
    if console is None or not console.is_terminal:
        yield _ignore
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    bar = Progress(*columns, console=console, transient=True, redirect_stdout=_is_terminal(sys.stdout))
    with bar:
        task = bar.add_task(description, total=total)

        def advance(n: int = 1) -> None:
            bar.advance(task, n)

        yield advance


def track(
    items: Iterable[T], description: str, *, total: int | None = None, console: Console | None = None
) -> Iterator[T]:
    """Yield ``items``, advancing a progress bar per item when ``console`` (default: standard
    error) is a terminal. ``total`` defaults to ``len(items)`` where it has one."""
    if total is None and isinstance(items, Sized):
        total = len(items)
    with progress(description, total=total, console=console) as advance:
        for item in items:
            yield item
            advance(1)

"""Pure: the periods of the weekly and monthly reports, in the city's time (Asia/Shanghai).

A weekly period is an ISO week (``2026-W48``: Monday 00:00 to the next Monday 00:00), a monthly period
a calendar month (``2026-11``). The bounds are ``[start, end)``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

from gateway.errors import BadRequest
from normalizer import SHANGHAI

Kind = Literal["weekly", "monthly"]
KINDS: tuple[Kind, ...] = ("weekly", "monthly")
_WEEK = re.compile(r"(\d{4})-W(\d{2})")
_MONTH = re.compile(r"(\d{4})-(\d{2})")


@dataclass(frozen=True)
class Period:
    kind: Kind
    name: str
    start: datetime
    end: datetime

    def previous(self) -> Period:
        return containing(self.kind, self.start - timedelta(days=1))


def _local_midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=SHANGHAI)


def containing(kind: Kind, at: datetime) -> Period:
    """The period of ``kind`` that ``at`` lies in."""
    day = at.astimezone(SHANGHAI).date()
    if kind == "weekly":
        year, week, _ = day.isocalendar()
        monday = day - timedelta(days=day.weekday())
        return Period(
            kind, f"{year}-W{week:02d}", _local_midnight(monday), _local_midnight(monday + timedelta(7))
        )
    first = day.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return Period(kind, f"{first.year}-{first.month:02d}", _local_midnight(first), _local_midnight(following))


def parse(kind: str, name: str | None, now: datetime) -> Period:
    """The named period, or the last complete one before ``now``; a 400 names what is unknown."""
    if kind not in KINDS:
        raise BadRequest(f"unknown report {kind!r}; known: weekly, monthly", field="kind")
    known: Kind = "weekly" if kind == "weekly" else "monthly"
    if name is None:
        return containing(known, now).previous()
    pattern, example = (_WEEK, "2026-W48") if known == "weekly" else (_MONTH, "2026-11")
    match = pattern.fullmatch(name)
    try:
        if match is None:
            raise ValueError
        year, number = int(match[1]), int(match[2])
        if known == "weekly":
            found = containing(known, _local_midnight(date.fromisocalendar(year, number, 1)))
        else:
            found = containing(known, _local_midnight(date(year, number, 1)))
    except ValueError:
        raise BadRequest(
            f"unknown period {name!r} for a {known} report (write it as {example})", field="period"
        ) from None
    return found

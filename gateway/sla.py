"""Time limits (时限) of the closed loop: deadlines of dispatch, signing and reply per urgency grade. Pure.

No I/O and no clock reads: the start time is an argument, ``config/sla.yaml`` arrives as a validated
:class:`SlaConfig` (loaded by :mod:`gateway.config`; :data:`DEFAULT_SLA` when the file is absent).

A limit is one of ``{minutes: N}``, ``{hours: N}`` or ``{working_days: N}``:

* **minutes / hours** are clock time, round the clock (the centre never closes): ``start + N``.
* **N working days** (N个工作日) end at **24:00 of the Nth working day after the start day**. The start
  day itself never counts, whether or not it is a working day, and whatever the hour (as the Civil
  Code, art. 201 and 203, counts periods in days: "开始的当日不计入", "最后一日的截止时间为二十四时").
  24:00 is written as 00:00 of the next calendar day, Asia/Shanghai, and the deadline is exclusive:
  in time means strictly before it. Example: accepted Friday 2024-09-27 at 20:00, 5 working days:
  Sun 09-29 (an adjusted working day, 调休上班) is the 1st, Mon 09-30 the 2nd, the National Day holiday
  10-01..10-07 does not count, 10-08 to 10-10 are the 3rd to 5th: ``reply_by`` is
  2024-10-11T00:00+08:00.

A working day is a day of the Chinese calendar on which people work: Monday to Friday except statutory
holidays, plus the adjusted working days (weekend days worked in exchange), from the kept library
``chinese-calendar``. ``sla.yaml``'s ``holidays`` and ``workdays`` override it date by date (a local
holiday, or next year's schedule published before the library knows it). The library only knows the
years it ships (:func:`calendar_years`); outside them a day is a working day when it is Monday to
Friday (or listed in ``workdays``) and not listed in ``holidays``, and the :class:`Deadlines` say so in
``notes``.

All three deadlines count from the same ``start`` (normally the appeal's acceptance time). An approved
extension (延期) adds working days to ``reply_by`` (:func:`extend`): the new deadline is 24:00 of the
Nth working day after the day the current ``reply_by`` falls in (the day that ends at it, when it is
24:00).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import date, datetime, timedelta

import chinese_calendar
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from normalizer import SHANGHAI, Urgency

MAX_WORKING_DAYS = 250  # about a working year; bounds the day-by-day count


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Limit(_Strict):
    """One time limit: exactly one of ``minutes``, ``hours`` (clock time) or ``working_days``."""

    minutes: int | None = Field(default=None, ge=1, le=60 * 24 * 30, examples=[10])
    hours: float | None = Field(default=None, gt=0, le=24 * 365, examples=[2, 24])
    working_days: int | None = Field(default=None, ge=1, le=MAX_WORKING_DAYS, examples=[1, 5, 15])

    @model_validator(mode="after")
    def _exactly_one(self) -> Limit:
        given = [n for n in ("minutes", "hours", "working_days") if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of minutes, hours or working_days")
        return self

    def describe(self) -> str:
        if self.minutes is not None:
            return f"{self.minutes} min"
        if self.hours is not None:
            return f"{self.hours:g} h"
        return f"{self.working_days} working days"


class GradeLimits(_Strict):
    """The limits of one grade: assign to a unit (派单), sign (签收), reply (答复)."""

    dispatch: Limit = Field(description="The centre assigns the appeal to a unit within this.")
    sign: Limit = Field(description="The unit signs for the assignment within this.")
    reply: Limit = Field(description="The unit replies within this.")


class Grades(_Strict):
    """One entry per urgency grade (the appeal's ``urgency``); every grade must be given."""

    emergency: GradeLimits
    urgent_utility: GradeLimits
    general: GradeLimits
    consultation: GradeLimits
    complex: GradeLimits

    def of(self, grade: Urgency | str) -> GradeLimits:
        limits: GradeLimits = getattr(self, Urgency(grade).value)
        return limits


class SlaConfig(_Strict):
    """The contents of ``config/sla.yaml``."""

    grades: Grades
    holidays: tuple[date, ...] = Field(default=(), description="Extra days off (override the calendar).")
    workdays: tuple[date, ...] = Field(default=(), description="Extra working days (override the calendar).")

    @model_validator(mode="after")
    def _disjoint(self) -> SlaConfig:
        both = sorted(set(self.holidays) & set(self.workdays))
        if both:
            raise ValueError(f"dates listed both as holidays and workdays: {[d.isoformat() for d in both]}")
        return self


class Deadlines(_Strict):
    """When each step is due (exclusive bounds, aware datetimes in Asia/Shanghai)."""

    grade: Urgency
    dispatch_by: AwareDatetime
    sign_by: AwareDatetime
    reply_by: AwareDatetime
    extended_days: int = Field(default=0, ge=0, description="Working days added by approved extensions.")
    notes: tuple[str, ...] = Field(
        default=(), description="How the calendar was counted where it had to guess (years it lacks)."
    )


def _limit(minutes: int | None = None, hours: float | None = None, working_days: int | None = None) -> Limit:
    return Limit(minutes=minutes, hours=hours, working_days=working_days)


DEFAULT_SLA = SlaConfig(
    grades=Grades(
        emergency=GradeLimits(dispatch=_limit(minutes=10), sign=_limit(minutes=30), reply=_limit(hours=24)),
        urgent_utility=GradeLimits(
            dispatch=_limit(minutes=10), sign=_limit(hours=1), reply=_limit(working_days=2)
        ),
        general=GradeLimits(
            dispatch=_limit(minutes=10), sign=_limit(working_days=1), reply=_limit(working_days=5)
        ),
        consultation=GradeLimits(
            dispatch=_limit(minutes=10), sign=_limit(working_days=1), reply=_limit(working_days=1)
        ),
        complex=GradeLimits(
            dispatch=_limit(minutes=10), sign=_limit(working_days=1), reply=_limit(working_days=15)
        ),
    )
)
"""The reference city's limits; ``config/sla.yaml`` writes the same values out."""


@functools.cache
def calendar_years() -> range:
    """The years ``chinese-calendar`` knows (statutory holidays and adjusted working days)."""
    known = chinese_calendar.holidays
    return range(min(known).year, max(known).year + 1)


def is_working_day(day: date, sla: SlaConfig = DEFAULT_SLA) -> bool:
    """Whether people work on ``day``: ``sla``'s overrides first, then the Chinese calendar, and
    Monday to Friday in years the calendar does not know."""
    if day in sla.holidays:
        return False
    if day in sla.workdays:
        return True
    if day.year in calendar_years():
        return _calendar_workday(day)
    return day.weekday() < 5


@functools.lru_cache(maxsize=4096)
def _calendar_workday(day: date) -> bool:
    """The Chinese calendar's answer, kept (it validates every date it is asked, ~20 µs a call)."""
    return bool(chinese_calendar.is_workday(day))


def _fallback_note(days: Iterable[date]) -> tuple[str, ...]:
    years = calendar_years()
    unknown = sorted({d.year for d in days if d.year not in years})
    if not unknown:
        return ()
    return (
        f"chinese-calendar knows {years.start}-{years.stop - 1} only: working days in "
        f"{', '.join(map(str, unknown))} counted as Monday to Friday plus sla.yaml's overrides",
    )


def _after_working_days(day: date, count: int, sla: SlaConfig, seen: list[date]) -> datetime:
    """24:00 of the ``count``-th working day after ``day`` (``day`` itself not counted)."""
    if not 1 <= count <= MAX_WORKING_DAYS:
        raise ValueError(f"working days must be 1..{MAX_WORKING_DAYS}, not {count}")
    counted = 0
    while counted < count:
        day += timedelta(days=1)
        seen.append(day)
        if is_working_day(day, sla):
            counted += 1
    following = day + timedelta(days=1)
    return datetime(following.year, following.month, following.day, tzinfo=SHANGHAI)


def _local(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("the time must be timezone-aware")
    return at.astimezone(SHANGHAI)


def _due(limit: Limit, start: datetime, sla: SlaConfig, seen: list[date]) -> datetime:
    if limit.minutes is not None:
        return start + timedelta(minutes=limit.minutes)
    if limit.hours is not None:
        return start + timedelta(hours=limit.hours)
    assert limit.working_days is not None
    return _after_working_days(start.date(), limit.working_days, sla, seen)


def deadlines(grade: Urgency | str, start: datetime, sla: SlaConfig = DEFAULT_SLA) -> Deadlines:
    """The deadlines of an appeal of ``grade`` whose clock starts at ``start`` (aware; usually the
    acceptance time). Raises ``ValueError`` for a naive ``start`` or an unknown grade."""
    local = _local(start)
    limits = sla.grades.of(grade)
    seen: list[date] = []
    return Deadlines(
        grade=Urgency(grade),
        dispatch_by=_due(limits.dispatch, local, sla, seen),
        sign_by=_due(limits.sign, local, sla, seen),
        reply_by=_due(limits.reply, local, sla, seen),
        notes=_fallback_note(seen),
    )


def extend(current: Deadlines, days: int, sla: SlaConfig = DEFAULT_SLA) -> Deadlines:
    """``current`` with ``days`` working days added to ``reply_by`` (an approved extension): 24:00 of
    the ``days``-th working day after the day ``reply_by`` falls in. Raises ``ValueError`` when
    ``days`` is not 1..MAX_WORKING_DAYS."""
    reply_by = _local(current.reply_by)
    last_day = (reply_by - timedelta(microseconds=1)).date()  # 24:00 belongs to the day it ends
    seen: list[date] = []
    new_reply_by = _after_working_days(last_day, days, sla, seen)
    notes = tuple(dict.fromkeys(current.notes + _fallback_note(seen)))
    return current.model_copy(
        update={"reply_by": new_reply_by, "extended_days": current.extended_days + days, "notes": notes}
    )

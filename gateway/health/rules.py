"""Channel and unit health, judged. Pure: counts, windows and times in, a status and its reasons out.

No I/O and no clock reads: ``now`` is an argument. The Redis side is :mod:`gateway.health.store`.

**Counts.** Each channel counts, per minute, messages *received* (every request on its routes, every
message its poller takes), *accepted* (stored as an appeal or merged into one), *duplicate* (a retry
of one already stored), *rejected* (4xx: a forged signature, malformed input) and *failed* (5xx: the
store unavailable, a bug). Windows of 5 minutes and 1 hour are sums of minute buckets.

**Rhythm.** For each (weekday, hour) slot a channel keeps how many of those hours had traffic and how
many messages came, since observation began. A slot is *usually busy* when at least
``min_observations`` such hours have passed and traffic came in at least ``busy_share`` of them.
Silence is judged only inside a run of usually busy slots: quiet at 03:00 is normal, quiet at 10:00
on a weekday is not. How long a quiet spell may last depends on the slot's usual traffic: with
``λ`` messages an hour, no message for ``t`` hours has probability ``exp(-λt)`` if the channel were
alive, so the channel is *silent* once that falls below ``silence_confidence`` (between
``min_quiet_minutes`` and ``max_quiet_minutes``).

**Status**, worst first: ``disabled`` (not enabled in config), ``down`` (its poller is refused or
stopped; or in the last 5 minutes nothing was accepted while at least ``down_failures`` requests
failed, or while (almost) everything received was rejected: a certificate expired, a platform
changed its format), ``silent`` (see above), ``degraded`` (failures, a rejection share of at least
``degraded_error_share``, a poller reconnecting or lagging), ``healthy``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from typing import Any, Literal, TypeVar

Status = Literal["healthy", "degraded", "silent", "down", "disabled"]
UnitStatus = Literal["healthy", "degraded", "down", "disabled"]
OUTCOMES = ("received", "accepted", "duplicate", "rejected", "failed")
UNIT_OUTCOMES = ("attempts", "ok", "failed")
Slot = tuple[int, int]  # (weekday 0=Monday, hour 0-23), local time
POLLER_DOWN = frozenset({"auth_failed", "stopped", "down"})
POLLER_DEGRADED = frozenset({"reconnecting", "degraded", "connecting"})


@dataclass(frozen=True)
class Thresholds:
    min_sample: int = 3
    """Messages in 5 minutes before shares of them are judged."""
    degraded_error_share: float = 0.2
    down_error_share: float = 0.9
    down_failures: int = 3
    busy_share: float = 0.5
    min_observations: int = 2
    silence_confidence: float = 0.01
    min_quiet_minutes: float = 15.0
    max_quiet_minutes: float = 180.0
    poller_lag_seconds: float = 900.0
    unit_degraded_success: float = 0.9
    unreachable_seconds: float = 600.0


T = TypeVar("T", bound="_Tally")


@dataclass(frozen=True)
class _Tally:
    """Named counters that read from a Redis hash and add up field by field."""

    @classmethod
    def of(cls: type[T], values: Mapping[str, Any]) -> T:
        return cls(**{f.name: int(values.get(f.name) or 0) for f in fields(cls)})

    def __add__(self: T, other: T) -> T:
        return type(self)(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class Counts(_Tally):
    received: int = 0
    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0
    failed: int = 0

    @property
    def errors(self) -> int:
        return self.rejected + self.failed

    @property
    def error_share(self) -> float:
        return self.errors / self.received if self.received else 0.0


@dataclass(frozen=True)
class UnitCounts(_Tally):
    attempts: int = 0
    ok: int = 0
    failed: int = 0

    @property
    def success_rate(self) -> float | None:
        return self.ok / self.attempts if self.attempts else None


C = TypeVar("C", "Counts", "UnitCounts")


def minute_of(at: datetime) -> int:
    return int(at.timestamp() // 60)


def hour_of(at: datetime) -> int:
    return int(at.timestamp() // 3600)


def window(buckets: Mapping[int, C], now: datetime, minutes: int, zero: C) -> C:
    """The sum of the minute buckets of the last ``minutes`` minutes (the current one included)."""
    last = minute_of(now)
    total = zero
    for minute in range(last - minutes + 1, last + 1):
        bucket = buckets.get(minute)
        if bucket is not None:
            total = total + bucket
    return total


def per_minute(count: int, minutes: int) -> float:
    return round(count / minutes, 3)


# --- rhythm -----------------------------------------------------------------------------------


def slot_of(at: datetime) -> Slot:
    return (at.weekday(), at.hour)


def observations(since: datetime, now: datetime, slot: Slot) -> int:
    """How many complete hours of ``slot`` (local wall-clock of ``now``) lie within [since, now)."""
    offset = (now.utcoffset() or timedelta(0)).total_seconds()
    first = math.ceil((since.timestamp() + offset) / 3600)  # local hour indices; hour 0 is a Thursday
    end = math.floor((now.timestamp() + offset) / 3600)
    weekday, hour = slot
    residue = ((weekday - 3) % 7) * 24 + hour
    if end <= first:
        return 0
    return (end - 1 - residue) // 168 - (first - 1 - residue) // 168


@dataclass(frozen=True)
class Rhythm:
    """A channel's long-term traffic by (weekday, hour), observed since ``since``."""

    since: datetime | None = None
    hours_with_traffic: Mapping[Slot, int] = field(default_factory=dict)
    messages: Mapping[Slot, int] = field(default_factory=dict)

    @classmethod
    def of(cls, values: Mapping[str, str], tz: Any) -> Rhythm:
        since = datetime.fromtimestamp(float(values["since"]), tz) if values.get("since") else None
        hours: dict[Slot, int] = {}
        messages: dict[Slot, int] = {}
        for name, value in values.items():
            parts = name.split(":")
            if len(parts) == 3 and parts[0].isdigit() and parts[1].isdigit():
                target = hours if parts[2] == "hours" else messages if parts[2] == "messages" else None
                if target is not None:
                    target[(int(parts[0]), int(parts[1]))] = int(value)
        return cls(since, hours, messages)


@dataclass(frozen=True)
class Usual:
    observed: int
    busy_share: float
    per_hour: float

    def busy(self, th: Thresholds) -> bool:
        return self.observed >= th.min_observations and self.busy_share >= th.busy_share

    def as_dict(self) -> dict[str, Any]:
        return {
            "observed_hours": self.observed,
            "busy_share": round(self.busy_share, 3),
            "per_hour": self.per_hour,
        }


def usual(rhythm: Rhythm, slot: Slot, now: datetime) -> Usual:
    if rhythm.since is None:
        return Usual(0, 0.0, 0.0)
    observed = observations(rhythm.since, now, slot)
    if not observed:
        return Usual(0, 0.0, 0.0)
    share = min(rhythm.hours_with_traffic.get(slot, 0) / observed, 1.0)
    return Usual(observed, share, round(rhythm.messages.get(slot, 0) / observed, 3))


def quiet_limit_minutes(per_hour: float, th: Thresholds) -> float:
    """How long no message may come before a usually busy slot counts as silent."""
    if per_hour <= 0:
        return th.max_quiet_minutes
    minutes = math.log(1 / th.silence_confidence) / per_hour * 60
    return min(max(minutes, th.min_quiet_minutes), th.max_quiet_minutes)


@dataclass(frozen=True)
class Silence:
    quiet_minutes: float
    limit_minutes: float
    usual_per_hour: float


def silence(rhythm: Rhythm, now: datetime, last_message: datetime | None, th: Thresholds) -> Silence | None:
    """A Silence when ``now`` lies in a run of usually busy slots and nothing came for too long."""
    current = usual(rhythm, slot_of(now), now)
    if not current.busy(th):
        return None
    run_start = now.replace(minute=0, second=0, microsecond=0)
    for _ in range(24):  # back to where the busy run began
        before = run_start - timedelta(hours=1)
        if not usual(rhythm, slot_of(before), now).busy(th):
            break
        run_start = before
    quiet_from = max(filter(None, (last_message, run_start, rhythm.since)))
    quiet = (now - quiet_from).total_seconds() / 60
    limit = quiet_limit_minutes(current.per_hour, th)
    if quiet < limit:
        return None
    return Silence(round(quiet, 1), round(limit, 1), current.per_hour)


# --- status -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Poller:
    """What a poller kind's ``health()`` says, reduced: its state and how long since it reported."""

    state: str = ""
    lag_seconds: float | None = None
    error: str = ""

    @classmethod
    def of(cls, values: Mapping[str, Any], now: datetime) -> Poller | None:
        if not values:
            return None
        lag = values.get("lag_seconds")
        if lag is None and values.get("at"):
            try:
                lag = max((now - datetime.fromisoformat(str(values["at"]))).total_seconds(), 0.0)
            except ValueError:
                lag = None
        return cls(
            str(values.get("state", "")),
            None if lag is None else round(float(lag), 1),
            str(values.get("error", "")),
        )


def channel_status(
    *,
    enabled: bool,
    last5: Counts,
    silent: Silence | None,
    poller: Poller | None,
    th: Thresholds,
) -> tuple[Status, list[str]]:
    """The channel's status and the reasons for it (most serious first)."""
    if not enabled:
        return "disabled", ["not enabled in the configuration"]
    down: list[str] = []
    degraded: list[str] = []
    if poller is not None and poller.state in POLLER_DOWN:
        down.append(f"poller {poller.state}: {poller.error}".rstrip(": "))
    elif poller is not None and poller.state in POLLER_DEGRADED:
        degraded.append(f"poller {poller.state}: {poller.error}".rstrip(": "))
    if poller is not None and poller.lag_seconds is not None and poller.lag_seconds > th.poller_lag_seconds:
        degraded.append(f"poller last reported {round(poller.lag_seconds)} s ago")
    nothing_taken = last5.accepted + last5.duplicate == 0
    if nothing_taken and last5.failed >= th.down_failures:
        down.append(f"{last5.failed} failures in 5 min and nothing accepted")
    elif nothing_taken and last5.received >= th.min_sample and last5.error_share >= th.down_error_share:
        down.append(f"{last5.errors} of {last5.received} messages refused in 5 min and nothing accepted")
    elif last5.failed:
        degraded.append(f"{last5.failed} failures in 5 min")
    elif last5.received >= th.min_sample and last5.error_share >= th.degraded_error_share:
        degraded.append(f"{last5.errors} of {last5.received} messages refused in 5 min")
    if down:
        return "down", down + degraded
    if silent is not None:
        return "silent", [
            f"no message for {round(silent.quiet_minutes)} min where about {silent.usual_per_hour:g} an hour "
            f"usually come (limit {round(silent.limit_minutes)} min)",
            *degraded,
        ]
    if degraded:
        return "degraded", degraded
    return "healthy", []


def unit_status(
    *,
    disabled: str,
    breaker: str,
    consecutive_failures: int,
    failing_seconds: float,
    last_hour: UnitCounts,
    th: Thresholds,
) -> tuple[UnitStatus, list[str]]:
    if disabled:
        return "disabled", [disabled]
    if breaker == "open" or failing_seconds >= th.unreachable_seconds:
        return "down", [f"{consecutive_failures} consecutive failures; breaker {breaker}"]
    reasons = []
    if consecutive_failures:
        reasons.append(f"{consecutive_failures} consecutive failures")
    rate = last_hour.success_rate
    if rate is not None and last_hour.attempts >= th.min_sample and rate < th.unit_degraded_success:
        reasons.append(f"{round(rate * 100)}% of deliveries succeeded in the last hour")
    return ("degraded", reasons) if reasons else ("healthy", [])

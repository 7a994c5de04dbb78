"""The pure health rules, table-driven, the clock passed in."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from gateway.health.rules import (
    Counts,
    Poller,
    Rhythm,
    Silence,
    Thresholds,
    UnitCounts,
    channel_status,
    minute_of,
    observations,
    quiet_limit_minutes,
    silence,
    slot_of,
    unit_status,
    usual,
    window,
)
from normalizer import SHANGHAI

TH = Thresholds()
MONDAY_10 = datetime(2026, 11, 30, 10, 0, tzinfo=SHANGHAI)  # a Monday


@pytest.mark.parametrize(
    ("since", "now", "slot", "expected"),
    [
        (MONDAY_10, MONDAY_10, (0, 10), 0),
        (MONDAY_10, MONDAY_10 + timedelta(minutes=59), (0, 10), 0),  # not complete yet
        (MONDAY_10, MONDAY_10 + timedelta(hours=1), (0, 10), 1),
        (MONDAY_10 + timedelta(minutes=1), MONDAY_10 + timedelta(hours=1), (0, 10), 0),  # partly seen
        (MONDAY_10, MONDAY_10 + timedelta(weeks=3), (0, 10), 3),
        (MONDAY_10, MONDAY_10 + timedelta(weeks=3, hours=1), (0, 10), 4),
        (MONDAY_10, MONDAY_10 + timedelta(weeks=3), (6, 3), 3),  # Sunday 03:00
        (MONDAY_10, MONDAY_10 + timedelta(days=1), (1, 9), 1),  # Tuesday 09:00
        (MONDAY_10, MONDAY_10 + timedelta(days=1), (0, 9), 0),
        (MONDAY_10, MONDAY_10 - timedelta(hours=5), (0, 10), 0),
    ],
)
def test_observations_count_complete_hours_of_a_slot(
    since: datetime, now: datetime, slot: tuple[int, int], expected: int
) -> None:
    assert observations(since, now, slot) == expected


def test_observations_agree_with_walking_hour_by_hour() -> None:
    since = datetime(2026, 11, 3, 7, 30, tzinfo=SHANGHAI)
    now = since + timedelta(days=23, hours=5, minutes=12)
    walked: dict[tuple[int, int], int] = {}
    t = since.replace(minute=0) + timedelta(hours=1)
    while t + timedelta(hours=1) <= now:
        walked[slot_of(t)] = walked.get(slot_of(t), 0) + 1
        t += timedelta(hours=1)
    for weekday in range(7):
        for hour in range(24):
            assert observations(since, now, (weekday, hour)) == walked.get((weekday, hour), 0)


def office_rhythm(weeks: int, per_hour: int, now: datetime) -> Rhythm:
    """Traffic every working hour (Monday-Friday 08-18) for ``weeks`` weeks before ``now``."""
    busy = {(d, h): weeks for d in range(5) for h in range(8, 18)}
    return Rhythm(
        since=now - timedelta(weeks=weeks, hours=1),
        hours_with_traffic=busy,
        messages={s: n * per_hour for s, n in busy.items()},
    )


RHYTHM = office_rhythm(3, 10, MONDAY_10)


@pytest.mark.parametrize(
    ("now", "last_message", "silent"),
    [
        # 10:30 on a Monday, usually ~10 an hour: 30 min without a message is silence (limit ~28 min)
        (MONDAY_10 + timedelta(minutes=30), MONDAY_10, True),
        (MONDAY_10 + timedelta(minutes=20), MONDAY_10, False),
        # quiet since Friday evening: judged only from 08:00, when the busy run began
        (MONDAY_10.replace(hour=8, minute=10), MONDAY_10 - timedelta(days=3), False),
        (MONDAY_10.replace(hour=8, minute=40), MONDAY_10 - timedelta(days=3), True),
        # 03:00 is quiet by habit; so is Sunday 10:00
        (MONDAY_10.replace(hour=3), MONDAY_10 - timedelta(days=3), False),
        (MONDAY_10 - timedelta(days=1), MONDAY_10 - timedelta(days=3), False),
        # never a message at all: judged from the start of the run
        (MONDAY_10.replace(hour=9), None, True),
    ],
)
def test_silence_is_judged_against_the_channels_own_rhythm(
    now: datetime, last_message: datetime | None, silent: bool
) -> None:
    assert (silence(RHYTHM, now, last_message, TH) is not None) is silent


def test_no_silence_without_enough_history() -> None:
    young = office_rhythm(1, 10, MONDAY_10)
    assert not usual(young, (0, 10), MONDAY_10).busy(TH)
    assert silence(young, MONDAY_10 + timedelta(hours=2), MONDAY_10 - timedelta(days=3), TH) is None


def test_a_slot_with_traffic_only_now_and_then_is_not_usually_busy() -> None:
    sparse = Rhythm(
        since=MONDAY_10 - timedelta(weeks=4, hours=1),
        hours_with_traffic={(0, 10): 1},
        messages={(0, 10): 2},
    )
    assert usual(sparse, (0, 10), MONDAY_10).busy_share == 0.25
    assert silence(sparse, MONDAY_10 + timedelta(minutes=59), None, TH) is None


@pytest.mark.parametrize(
    ("per_hour", "minutes"), [(0, 180), (1, 180), (5, 55.3), (10, 27.6), (60, 15), (1000, 15)]
)
def test_quiet_limit_follows_the_usual_rate(per_hour: float, minutes: float) -> None:
    assert quiet_limit_minutes(per_hour, TH) == pytest.approx(minutes, abs=0.1)


def test_rhythm_is_read_from_its_redis_hash() -> None:
    rhythm = Rhythm.of(
        {"since": str(MONDAY_10.timestamp()), "0:10:hours": "3", "0:10:messages": "31", "junk": "1"}, SHANGHAI
    )
    assert rhythm.since == MONDAY_10
    assert rhythm.hours_with_traffic == {(0, 10): 3}
    assert rhythm.messages == {(0, 10): 31}


def test_window_sums_the_last_minutes() -> None:
    now = MONDAY_10 + timedelta(minutes=30, seconds=20)
    m = minute_of(now)
    buckets = {m: Counts(received=1), m - 4: Counts(received=2, rejected=2), m - 5: Counts(received=100)}
    assert window(buckets, now, 5, Counts()) == Counts(received=3, rejected=2)
    assert window(buckets, now, 60, Counts()).received == 103
    units = {m: UnitCounts(2, 1, 1)}
    assert window(units, now, 5, UnitCounts()).success_rate == 0.5


QUIET = Silence(40.0, 27.6, 10.0)


@pytest.mark.parametrize(
    ("enabled", "last5", "silent", "poller", "status"),
    [
        (False, Counts(), None, None, "disabled"),
        (True, Counts(), None, None, "healthy"),
        (True, Counts(received=10, accepted=10), None, None, "healthy"),
        (True, Counts(received=10, accepted=9, rejected=1), None, None, "healthy"),
        (True, Counts(received=10, accepted=7, rejected=3), None, None, "degraded"),
        (True, Counts(received=2, rejected=2), None, None, "healthy"),  # too few to judge
        (True, Counts(received=3, rejected=3), None, None, "down"),  # everything refused
        (True, Counts(received=20, rejected=19, accepted=0), None, None, "down"),
        (True, Counts(received=20, rejected=19, accepted=1), None, None, "degraded"),
        (True, Counts(received=1, failed=1), None, None, "degraded"),
        (True, Counts(received=3, failed=3), None, None, "down"),  # the store is down
        (True, Counts(received=4, failed=3, accepted=1), None, None, "degraded"),
        (True, Counts(), QUIET, None, "silent"),
        (True, Counts(received=3, failed=3), QUIET, None, "down"),
        (True, Counts(), None, Poller("auth_failed", 3.0, "login refused"), "down"),
        (True, Counts(), None, Poller("reconnecting", 3.0, "refused"), "degraded"),
        (True, Counts(), None, Poller("connected", 5000.0), "degraded"),
        (True, Counts(), None, Poller("connected", 30.0), "healthy"),
    ],
)
def test_channel_status(
    enabled: bool, last5: Counts, silent: Silence | None, poller: Poller | None, status: str
) -> None:
    got, reasons = channel_status(enabled=enabled, last5=last5, silent=silent, poller=poller, th=TH)
    assert got == status
    assert bool(reasons) is (status != "healthy")


@pytest.mark.parametrize(
    ("values", "state", "lag"),
    [
        ({}, None, None),
        ({"state": "connected", "at": "2026-11-30T09:58:00+08:00"}, "connected", 120.0),
        ({"state": "reconnecting", "lag_seconds": 7}, "reconnecting", 7.0),
        ({"state": "connected", "at": "not a time"}, "connected", None),
    ],
)
def test_poller_view(values: dict[str, object], state: str | None, lag: float | None) -> None:
    poller = Poller.of(values, MONDAY_10)
    assert (poller.state if poller else None) == state
    assert (poller.lag_seconds if poller else None) == lag


@pytest.mark.parametrize(
    ("disabled", "breaker", "failures", "failing", "hour", "status"),
    [
        ("", "closed", 0, 0.0, UnitCounts(), "healthy"),
        ("", "closed", 0, 0.0, UnitCounts(10, 10, 0), "healthy"),
        ("", "closed", 2, 30.0, UnitCounts(10, 8, 2), "degraded"),
        ("", "closed", 0, 0.0, UnitCounts(10, 8, 2), "degraded"),
        ("", "open", 5, 60.0, UnitCounts(5, 0, 5), "down"),
        ("", "half_open", 7, 700.0, UnitCounts(7, 0, 7), "down"),  # unreachable for 10 min
        ("HTTP 410 Gone", "closed", 0, 0.0, UnitCounts(), "disabled"),
    ],
)
def test_unit_status(
    disabled: str, breaker: str, failures: int, failing: float, hour: UnitCounts, status: str
) -> None:
    got, _ = unit_status(
        disabled=disabled,
        breaker=breaker,
        consecutive_failures=failures,
        failing_seconds=failing,
        last_hour=hour,
        th=TH,
    )
    assert got == status

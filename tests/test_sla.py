"""Time limits: deadlines by grade in clock time and in working days on the Chinese calendar.

Expected values are worked out by hand from the State Council's holiday notices: 2024 National Day
10-01..10-07 off, Sun 09-29 and Sat 10-12 worked; 2025 Spring Festival 01-28..02-04 off, Sun 01-26
and Sat 02-08 worked.
"""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from gateway.config import load_config
from gateway.errors import ConfigError
from gateway.registry import Registry
from gateway.sla import (
    DEFAULT_SLA,
    Deadlines,
    SlaConfig,
    calendar_years,
    deadlines,
    extend,
    is_working_day,
)
from normalizer import SHANGHAI, Urgency
from tests.conftest import CONFIG_DIR, sample_env


def at(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=SHANGHAI)


def sla_with(**overrides: object) -> SlaConfig:
    return SlaConfig.model_validate(DEFAULT_SLA.model_dump() | overrides)


# grade, start, dispatch_by, sign_by, reply_by (one row per case: kept as a table)
# fmt: off
CASES = [
    pytest.param("emergency", at(2024, 10, 1, 15), at(2024, 10, 1, 15, 10), at(2024, 10, 1, 15, 30),
                 at(2024, 10, 2, 15), id="hours-run-round-the-clock-even-on-a-holiday"),
    pytest.param("urgent_utility", at(2024, 11, 8, 23, 30), at(2024, 11, 8, 23, 40), at(2024, 11, 9, 0, 30),
                 at(2024, 11, 13), id="hours-cross-midnight;2-working-days-skip-the-weekend"),
    pytest.param("general", at(2024, 11, 8, 9), at(2024, 11, 8, 9, 10), at(2024, 11, 12),
                 at(2024, 11, 16), id="friday-5-working-days-across-a-weekend"),
    pytest.param("general", at(2024, 11, 9, 10), at(2024, 11, 9, 10, 10), at(2024, 11, 12),
                 at(2024, 11, 16), id="a-saturday-start-counts-from-monday"),
    pytest.param("general", at(2024, 11, 6, 0, 0), at(2024, 11, 6, 0, 10), at(2024, 11, 8),
                 at(2024, 11, 14), id="the-start-day-never-counts-even-from-midnight"),
    pytest.param("general", at(2024, 9, 27, 20), at(2024, 9, 27, 20, 10), at(2024, 9, 30),
                 at(2024, 10, 11), id="friday-evening-before-national-day-adjusted-sunday-then-holiday"),
    pytest.param("consultation", at(2024, 10, 11, 10), at(2024, 10, 11, 10, 10), at(2024, 10, 13),
                 at(2024, 10, 13), id="adjusted-working-saturday-counts"),
    pytest.param("complex", at(2025, 1, 24, 10), at(2025, 1, 24, 10, 10), at(2025, 1, 27),
                 at(2025, 2, 21), id="15-working-days-across-spring-festival"),
]
# fmt: on


@pytest.mark.parametrize(("grade", "start", "dispatch_by", "sign_by", "reply_by"), CASES)
def test_deadlines(
    grade: str, start: datetime, dispatch_by: datetime, sign_by: datetime, reply_by: datetime
) -> None:
    got = deadlines(grade, start, DEFAULT_SLA)
    assert (got.dispatch_by, got.sign_by, got.reply_by) == (dispatch_by, sign_by, reply_by)
    assert got.grade == Urgency(grade) and got.notes == ()
    for value in (got.dispatch_by, got.sign_by, got.reply_by):
        assert value.tzinfo == SHANGHAI


def test_a_start_in_another_zone_is_counted_in_shanghai() -> None:
    utc = datetime(2024, 9, 27, 12, 0, tzinfo=UTC)  # 20:00 in Shanghai
    got = deadlines(Urgency.general, utc)
    assert got.reply_by == at(2024, 10, 11)
    assert got.dispatch_by == at(2024, 9, 27, 20, 10) and got.dispatch_by.tzinfo == SHANGHAI


# overrides, start, grade, expected reply_by
# fmt: off
OVERRIDES = [
    pytest.param({"holidays": [date(2024, 11, 11)]}, at(2024, 11, 8, 9), "general", at(2024, 11, 19),
                 id="a-local-holiday-pushes-the-deadline"),
    pytest.param({"workdays": [date(2024, 11, 9)]}, at(2024, 11, 8, 9), "consultation", at(2024, 11, 10),
                 id="an-extra-working-saturday-counts"),
    pytest.param({"holidays": [date(2024, 10, 12)]}, at(2024, 10, 11, 10), "consultation", at(2024, 10, 15),
                 id="a-holiday-override-beats-the-calendar's-adjusted-day"),
    pytest.param({"workdays": [date(2024, 10, 7)]}, at(2024, 10, 4, 10), "consultation", at(2024, 10, 8),
                 id="a-workday-override-beats-the-calendar's-holiday"),
]
# fmt: on


@pytest.mark.parametrize(("overrides", "start", "grade", "reply_by"), OVERRIDES)
def test_overrides(overrides: dict[str, object], start: datetime, grade: str, reply_by: datetime) -> None:
    assert deadlines(grade, start, sla_with(**overrides)).reply_by == reply_by


def test_years_the_calendar_does_not_know_count_monday_to_friday_and_say_so() -> None:
    year = calendar_years().stop + 3
    friday = next(d for d in (date(year, 3, day) for day in range(1, 8)) if d.weekday() == 4)
    start = datetime(friday.year, friday.month, friday.day, 18, tzinfo=SHANGHAI)
    got = deadlines("general", start)
    assert got.reply_by == start.replace(hour=0) + timedelta(days=8)  # Mon..Fri of the next week
    assert len(got.notes) == 1 and str(year) in got.notes[0] and "Monday to Friday" in got.notes[0]
    monday = friday + timedelta(days=3)
    overridden = deadlines("general", start, sla_with(holidays=[monday]))
    assert overridden.reply_by == got.reply_by + timedelta(days=3)  # overrides still apply: next Monday
    assert deadlines("emergency", start).notes == ()  # clock-time limits need no calendar


def test_is_working_day_follows_the_calendar() -> None:
    assert is_working_day(date(2024, 9, 29))  # adjusted working Sunday
    assert not is_working_day(date(2024, 10, 1))
    assert not is_working_day(date(2024, 11, 9))  # an ordinary Saturday
    assert is_working_day(date(2024, 11, 11))
    assert 2024 in calendar_years() and 2025 in calendar_years()


# start deadlines (grade, start), days, expected reply_by
# fmt: off
EXTENSIONS = [
    pytest.param(("general", at(2024, 9, 27, 20)), 3, at(2024, 10, 15),
                 id="from-24:00-counts-after-the-day-that-ended"),
    pytest.param(("emergency", at(2024, 9, 30, 15)), 1, at(2024, 10, 9),
                 id="from-a-clock-time-counts-after-its-day-and-skips-the-holiday"),
]
# fmt: on


@pytest.mark.parametrize(("start", "days", "reply_by"), EXTENSIONS)
def test_extend(start: tuple[str, datetime], days: int, reply_by: datetime) -> None:
    before = deadlines(*start)
    after = extend(before, days)
    assert after.reply_by == reply_by
    assert after.extended_days == days
    assert (after.dispatch_by, after.sign_by) == (before.dispatch_by, before.sign_by)
    assert extend(after, 2).extended_days == days + 2


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        deadlines("general", datetime(2024, 11, 8, 9))
    with pytest.raises(ValueError, match="not a valid Urgency"):
        deadlines("whenever", at(2024, 11, 8))
    with pytest.raises(ValueError, match="working days must be"):
        extend(deadlines("general", at(2024, 11, 8)), 0)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"grades": {"general": {"dispatch": {"minutes": 10}}}}, "Field required"),
        ({"holidays": [date(2024, 11, 11)], "workdays": [date(2024, 11, 11)]}, "both as holidays"),
        ({"weekend": []}, "Extra inputs are not permitted"),
    ],
)
def test_the_model_refuses_bad_files(change: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        SlaConfig.model_validate(DEFAULT_SLA.model_dump() | change)


def test_a_limit_is_exactly_one_kind() -> None:
    data = DEFAULT_SLA.model_dump(exclude_none=True)
    data["grades"]["general"]["reply"] = {"hours": 2, "working_days": 5}
    with pytest.raises(ValidationError, match="exactly one"):
        SlaConfig.model_validate(data)
    data["grades"]["general"]["reply"] = {}
    with pytest.raises(ValidationError, match="exactly one"):
        SlaConfig.model_validate(data)


def test_deadlines_serialize_for_a_delivery() -> None:
    body = deadlines("general", at(2024, 9, 27, 20)).model_dump(mode="json")
    assert body["reply_by"] == "2024-10-11T00:00:00+08:00"
    assert Deadlines.model_validate(body).reply_by == at(2024, 10, 11)


# --- loading sla.yaml (gateway.config) ---


def test_the_sample_sla_yaml_is_the_reference_city_and_the_default(registry: Registry) -> None:
    config = load_config(CONFIG_DIR, kinds=registry.kinds, env=sample_env())
    assert config.sla == DEFAULT_SLA


@pytest.fixture
def config_copy(tmp_path: Path) -> Path:
    target = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, target)
    return target


def test_without_sla_yaml_the_defaults_apply(registry: Registry, config_copy: Path) -> None:
    (config_copy / "sla.yaml").unlink()
    assert load_config(config_copy, kinds=registry.kinds, env=sample_env()).sla == DEFAULT_SLA


def test_sla_yaml_takes_variables_and_overrides(registry: Registry, config_copy: Path) -> None:
    path = config_copy / "sla.yaml"
    text = path.read_text(encoding="utf-8")
    text = text.replace("reply: {working_days: 5}", "reply: {working_days: '${GENERAL_REPLY_DAYS:-5}'}")
    text = text.replace("holidays: []", "holidays: [2024-11-11]")
    path.write_text(text, encoding="utf-8")
    env = sample_env() | {"GENERAL_REPLY_DAYS": "3"}
    sla = load_config(config_copy, kinds=registry.kinds, env=env).sla
    assert sla.grades.general.reply.working_days == 3
    assert sla.holidays == (date(2024, 11, 11),)


def test_a_bad_sla_yaml_is_named_by_file_and_path(registry: Registry, config_copy: Path) -> None:
    path = config_copy / "sla.yaml"
    text = path.read_text(encoding="utf-8").replace("reply: {working_days: 15}", "reply: {weeks: 3}")
    path.write_text(text.replace("holidays: []", "holidays: [someday]"), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(config_copy, kinds=registry.kinds, env=sample_env())
    problems = caught.value.problems
    assert any(p.startswith("sla.yaml: grades.complex.reply.weeks: Extra inputs") for p in problems)
    assert any(p.startswith("sla.yaml: holidays[0]: ") for p in problems), problems

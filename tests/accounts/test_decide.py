"""The pure decision of supervision: reminders before a supervised step falls due, escalation to the
unit's parent unit and the centre once it is late."""

from __future__ import annotations

from datetime import datetime, timedelta

from gateway.config import Config
from gateway.loop import State
from gateway.supervision import SupervisedAppeal, decide, escalation_targets
from normalizer import SHANGHAI

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=SHANGHAI)


def _level(config: Config, level: int) -> str:
    return next(u.id for u in config.network.units.values() if u.level == level)


def test_a_level_3_unit_escalates_to_its_parent_and_the_centre(config: Config) -> None:
    network = config.network
    town = _level(config, 3)
    parent = network.units[town].parent
    assert parent is not None and network.units[parent].level == 2
    assert escalation_targets(network, town) == (parent, network.centre.id)
    assert escalation_targets(network, _level(config, 2)) == (network.centre.id,)
    assert escalation_targets(network, None) == (network.centre.id,)


def test_reminder_before_due_escalation_after_nothing_otherwise(config: Config) -> None:
    network, town = config.network, _level(config, 3)
    deadlines = {
        "sign_by": (NOW + timedelta(hours=2)).isoformat(),
        "reply_by": (NOW + timedelta(days=5)).isoformat(),
    }
    soon = SupervisedAppeal("A1", State.dispatched, town, deadlines, None)
    (reminder,) = decide([soon], NOW, network)
    assert (reminder.kind, reminder.step, reminder.to) == ("reminder", "sign_by", (town,))
    (late,) = decide([soon], NOW + timedelta(hours=3), network)
    assert (late.kind, late.step, late.to) == ("escalation", "sign_by", escalation_targets(network, town))
    signed = SupervisedAppeal("A1", State.signed, town, deadlines, None)
    assert decide([signed], NOW + timedelta(hours=3), network) == []  # reply_by is days away


def test_the_supervisions_own_deadline_counts_until_the_unit_replies(config: Config) -> None:
    network, town = config.network, _level(config, 3)
    due = NOW - timedelta(minutes=1)
    handling = SupervisedAppeal("A2", State.handling, town, None, due)
    (late,) = decide([handling], NOW, network)
    assert (late.kind, late.step, late.key) == (
        "escalation",
        "supervision",
        "supervision:A2:supervision:escalation",
    )
    assert decide([SupervisedAppeal("A2", State.replied, town, None, due)], NOW, network) == []
    manual = SupervisedAppeal("A3", State.manual, None, None, NOW + timedelta(hours=1))
    (reminder,) = decide([manual], NOW, network)
    assert reminder.to == (network.centre.id,)  # no unit yet: the centre is reminded

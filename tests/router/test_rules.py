"""Each rule condition and target, on the sample taxonomy and network with one rule at a time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from normalizer.schema import AppealType, Urgency
from router import route

WAGES = {"subject": "拖欠工资", "content": "公司拖欠工资三个月了，老板不发工资。"}
DEFAULT = "human-resources"  # the sector owner of the WAGES appeal


def rule(when: dict[str, Any], target: dict[str, Any] | None = None, **more: Any) -> dict[str, Any]:
    return {"id": "r", "when": when, "target": target or {"unit": "trade-unions"}, **more}


CONDITIONS = [
    # (when, route() arguments beyond WAGES, matches?)
    ({"category": ["劳动和社会保障"]}, {}, True),
    ({"category": ["劳动和社会保障/工资福利/工资发放"]}, {}, True),
    ({"category": ["教育文体"]}, {}, False),
    ({"keywords": {"any": ["老板", "校长"]}}, {}, True),
    ({"keywords": {"any": ["校长"]}}, {}, False),
    ({"keywords": {"all": ["老板", "工资"]}}, {}, True),
    ({"keywords": {"all": ["老板", "校长"]}}, {}, False),
    ({"category": ["劳动和社会保障"], "keywords": {"none": ["老板"]}}, {}, False),
    ({"category": ["劳动和社会保障"], "keywords": {"none": ["校长"]}}, {}, True),
    ({"area": ["340321000000"]}, {"address": "怀远县龙亢镇"}, True),
    ({"area": ["340321000000"]}, {"address": "五河县新集镇"}, False),
    ({"area": ["340321000000"]}, {}, False),
    ({"channel": ["sms-12345"]}, {"channel": "sms-12345"}, True),
    ({"channel": ["sms-12345"]}, {"channel": "mayor-mailbox"}, False),
    ({"appeal_type": ["report"]}, {"appeal_type": AppealType.report}, True),
    ({"appeal_type": ["report"]}, {"appeal_type": AppealType.complaint}, False),
    ({"urgency": ["complex"]}, {"urgency": Urgency.complex}, True),
    ({"urgency": ["complex"]}, {}, False),
    # 23:30 in Beijing is 15:30 UTC
    ({"time": {"from": "22:00", "to": "06:00"}}, {"at": datetime(2024, 3, 1, 15, 30, tzinfo=UTC)}, True),
    ({"time": {"from": "22:00", "to": "06:00"}}, {"at": datetime(2024, 3, 1, 4, 0, tzinfo=UTC)}, False),
    ({"time": {"from": "08:00", "to": "18:00"}},
     {"at": datetime(2024, 3, 1, 9, 0, tzinfo=timezone(timedelta(hours=8)))}, True),
    ({"time": {"from": "22:00", "to": "06:00"}}, {}, False),  # no time given: a time rule cannot match
]  # fmt: skip


@pytest.mark.parametrize(("when", "args", "matches"), CONDITIONS)
def test_condition(build: Any, when: dict[str, Any], args: dict[str, Any], matches: bool) -> None:
    config = build([rule(when)])
    d = route(config, **WAGES, **args)
    assert d.unit == ("trade-unions" if matches else DEFAULT), d.explanation
    assert (d.rule == "r") is matches


def test_priority_orders_rules(build: Any) -> None:
    when = {"category": ["劳动和社会保障"]}
    config = build(
        [
            {"id": "low", "priority": 10, "when": when, "target": {"unit": "trade-unions"}},
            {"id": "high", "priority": 90, "when": when, "target": {"unit": "labour-inspection"}},
        ]
    )
    d = route(config, **WAGES)
    assert (d.unit, d.rule) == ("labour-inspection", "high")  # a level-3 unit, because a rule names it
    d = route(config, **WAGES, exclude={"labour-inspection"})
    assert (d.unit, d.rule) == ("trade-unions", "low")
    d = route(config, **WAGES, exclude={"labour-inspection", "trade-unions"})
    assert d.unit == DEFAULT and (d.rule or "").startswith("sector:劳动和社会保障")


@pytest.mark.parametrize(
    ("level", "address", "unit"),
    [
        (2, "龙子湖区东风街道", "longzihu-district"),
        (3, "龙子湖区东风街道", "longzihu-dongfeng-street"),
        (3, "龙子湖区曹山街道", "longzihu-district"),  # no unit for that street: its district
        (3, "五河县城关镇", "wuhe-chengguan-town"),
        (2, "固镇县濠城镇垓下遗址", "guzhen-county"),
        (3, None, DEFAULT),  # no place: the rule does not apply
    ],
)
def test_territorial_target(build: Any, level: int, address: str | None, unit: str) -> None:
    config = build([rule({"category": ["劳动和社会保障"]}, {"territorial": level})])
    assert route(config, **WAGES, address=address).unit == unit


def test_territorial_exclude_falls_back_to_parent(build: Any) -> None:
    config = build([rule({"category": ["劳动和社会保障"]}, {"territorial": 3})])
    d = route(config, **WAGES, address="龙子湖区东风街道", exclude={"longzihu-dongfeng-street"})
    assert d.unit == "longzihu-district"


def test_sector_target_and_rule_urgency(build: Any) -> None:
    config = build([rule({"keywords": {"any": ["老板"]}}, {"sector": True}, urgency="complex")])
    d = route(config, **WAGES)
    assert (d.unit, d.rule, d.urgency) == (DEFAULT, "r", Urgency.complex)


def test_category_rule_waits_for_confidence(build: Any) -> None:
    config = build([rule({"category": ["教育文体"]})])
    d = route(config, subject="", content="学校 工资 小区 医院 公交 环保")
    assert d.unit is None  # unclear category: a category rule does not apply

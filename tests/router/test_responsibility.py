"""Sector, territorial and shared responsibility: where it happened decides local matters."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from router import RouterConfig, RoutingConfigError, UnitKind, route

PLACE_SET = Path(__file__).parent / "fixtures" / "place_set.jsonl"


def _inside(config: RouterConfig, unit_id: str | None, county: str) -> bool:
    unit = config.network.get(unit_id) if unit_id else None
    return (
        unit is not None
        and unit.kind is UnitKind.territorial
        and any(config.gazetteer.within(a, county) for a in unit.areas)
    )


def test_place_set_goes_inside_the_named_county(sample: RouterConfig) -> None:
    """36 appeals written for this test (not tuned on): local matters naming a town or street of
    Bengbu. At least 85% go to the county or district covering it (the issue's bar)."""
    items = [json.loads(line) for line in PLACE_SET.read_text(encoding="utf-8").splitlines()]
    assert len(items) >= 30
    decisions = [route(sample, subject=i["title"], content=i["text"]) for i in items]
    inside = [_inside(sample, d.unit, i["county"]) for d, i in zip(decisions, items, strict=True)]
    assert sum(inside) / len(items) >= 0.85
    for d, ok in zip(decisions, inside, strict=True):
        if ok:  # the town or street it may be passed to lies inside the chosen county
            assert d.rule is not None and (d.rule.startswith("territorial:") or d.rule.endswith("-local"))
            if d.pass_to is not None:
                assert sample.network.units[d.pass_to].parent == d.unit


def test_territorial_names_the_town_to_pass_down_to(sample: RouterConfig) -> None:
    d = route(sample, subject="", content="龙子湖区东风街道小区门口垃圾堆了一周没人清运")
    assert d.unit == "longzihu-district"
    assert d.pass_to == "longzihu-dongfeng-street"
    assert "环境卫生 is territorial" in d.explanation
    assert "it may pass it to 龙子湖区东风街道办事处" in d.explanation


def test_territorial_without_place_goes_to_the_sector_owner(sample: RouterConfig) -> None:
    d = route(sample, subject="", content="小区门口垃圾堆了一周没人清运，臭气熏天")
    assert d.unit == "urban-management" and d.pass_to is None
    assert "no place was found" in d.explanation


def test_shared_is_territorial_only_below_the_county(sample: RouterConfig) -> None:
    text = "路边的排水沟堵了，一下雨就积水，路面坑洼"  # 基础设施: shared
    county = route(sample, subject="", content="怀远县" + text)
    town = route(sample, subject="", content="怀远县龙亢镇" + text)
    assert county.unit == "urban-management"
    assert "no town or street was named" in county.explanation
    assert town.unit == "huaiyuan-county"


def test_sector_category_ignores_the_place(sample: RouterConfig) -> None:
    d = route(sample, subject="", content="龙子湖区东风街道，孩子上学的学校乱收费，教育收费不合理")
    assert d.unit == "education-bureau"
    assert d.area == "340302001000"


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("我住怀远县，在五河县上班，路边垃圾没人清运", "places contradict"),
        ("上海市浦东新区的小区垃圾没人清运", "no place was found"),
        ("A市A3区某小区垃圾没人清运", "no place was found"),
        ("垃圾没人清运" * 3000, "no place was found"),
    ],
)
def test_bad_places_route_without_error(sample: RouterConfig, text: str, why: str) -> None:
    d = route(sample, subject="", content=text)
    assert d.unit == "urban-management"
    assert why in d.explanation


def test_every_first_level_category_is_classified(sample: RouterConfig) -> None:
    for first in sample.taxonomy.level1:
        assert (first,) in sample.responsibility, first


def test_responsibility_path_must_be_in_the_taxonomy(build: Any) -> None:
    with pytest.raises(RoutingConfigError) as info:
        build([], responsibility={"城乡建设/没有这个": "territorial"})
    assert info.value.path == "responsibility.城乡建设/没有这个"


def test_responsibility_mode_is_one_of_three(build: Any) -> None:
    with pytest.raises(ValidationError, match="sector"):
        build([], responsibility={"城乡建设": "local"})


def test_manual_candidates_carry_reasons(sample: RouterConfig) -> None:
    d = route(sample, subject="", content="龙子湖区东风街道，想咨询一下")  # no category word
    assert d.unit is None
    assert [(c.unit, c.reason) for c in d.candidates] == [
        ("longzihu-district", "no category word was found; 蚌埠市龙子湖区人民政府 covers 龙子湖区/东风街道")
    ]
    d = route(sample, subject="", content="龙子湖区东风街道 医院 学校 公交车 社保")
    assert d.unit is None and len(d.candidates) == 3
    for c in d.candidates:
        assert c.reason.startswith("/".join(c.category)) and "by the words" in c.reason
    units = [c.unit for c in d.candidates]
    assert "human-resources" in units and "health-commission" in units
    assert route(sample, subject="", content="龙子湖区东风街道，医院门口的垃圾没人清运").candidates == ()


def test_uncovered_towns_are_listed(sample: RouterConfig) -> None:
    uncovered = sample.uncovered()
    assert "340302001000" not in uncovered  # 东风街道 has its own unit
    assert "340321101000" in uncovered  # 包集镇: no unit in the sample, 怀远县 handles it
    assert all(sample.gazetteer.areas[a].kind in {"street", "town", "township"} for a in uncovered)

"""Configuration errors name the file, the path and the problem."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from gateway.config import ConfigError, load_config
from gateway.registry import load_kinds
from router import RoutingConfigError
from tests.router.conftest import CONFIG_DIR


@pytest.mark.parametrize(
    ("rules", "path", "message"),
    [
        ([{"id": "a", "when": {}, "target": {"unit": "nobody"}}], "rules[0].target.unit", "not a unit"),
        ([{"id": "a", "when": {"category": ["不存在"]}, "target": {"sector": True}}],
         "rules[0].when.category[0]", "not in the taxonomy"),
        ([{"id": "a", "when": {"area": ["atlantis"]}, "target": {"sector": True}}],
         "rules[0].when.area[0]", "not an area"),
        ([{"id": "a", "target": {"sector": True}}, {"id": "a", "target": {"sector": True}}],
         "rules[1].id", "used twice"),
    ],
)  # fmt: skip
def test_rule_reference_errors(build: Any, rules: list[dict[str, Any]], path: str, message: str) -> None:
    with pytest.raises(RoutingConfigError, match=message) as info:
        build(rules)
    assert info.value.path == path


@pytest.mark.parametrize(
    "rule",
    [
        {"id": "a", "target": {}},  # no target
        {"id": "a", "target": {"unit": "centre", "sector": True}},  # two targets
        {"id": "a", "target": {"territorial": 4}},
        {"id": "a", "target": {"sector": True}, "when": {"keywords": {"some": ["x"]}}},  # misspelled key
        {"id": "a", "target": {"sector": True}, "when": {"time": {"from": "25:00", "to": "06:00"}}},
        {"id": "Bad Id", "target": {"sector": True}},
    ],
)
def test_malformed_rules(build: Any, rule: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        build([rule])


def test_duplicate_area_id(build: Any, places_yaml: dict[str, Any]) -> None:
    city = places_yaml["city"]
    twice = {"id": "340300000000", "name": "重复", "kind": "district"}
    bad = {"city": {**city, "children": [*city["children"], twice]}}
    with pytest.raises(RoutingConfigError, match="used twice") as info:
        build([], places=bad)
    assert info.value.path.startswith("(places.yaml) city.children[")


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, target)
    return target


def _problems(directory: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(directory, kinds=load_kinds(strict=False).kinds)
    problems: list[str] = info.value.problems
    return problems


def test_check_config_reports_file_path_problem(tmp_path: Path) -> None:
    directory = _copy(tmp_path)
    routing = yaml.safe_load((directory / "routing.yaml").read_text(encoding="utf-8"))
    routing["rules"][0]["target"] = {"unit": "nobody"}
    (directory / "routing.yaml").write_text(yaml.safe_dump(routing, allow_unicode=True), encoding="utf-8")
    assert any(p.startswith("routing.yaml: rules[0].target.unit: ") for p in _problems(directory))


def test_check_config_reports_places_problems(tmp_path: Path) -> None:
    directory = _copy(tmp_path)
    (directory / "places.yaml").write_text(
        "city: {id: bengbu, name: 蚌埠市, kind: planet}\n", encoding="utf-8"
    )
    assert any(p.startswith("places.yaml: city.kind: ") for p in _problems(directory))


def test_check_config_reports_unknown_unit_area(tmp_path: Path) -> None:
    directory = _copy(tmp_path)
    text = (directory / "units.yaml").read_text(encoding="utf-8")
    (directory / "units.yaml").write_text(
        text.replace("areas: ['340322000000']", "areas: ['340322999000']"), encoding="utf-8"
    )
    assert any(p.startswith("units.yaml: wuhe-county.areas: ") for p in _problems(directory))


@pytest.mark.parametrize(
    ("file", "old", "new", "expected"),
    [
        (
            "routing.yaml",
            "  环境保护: shared",
            "  环境保护: local",
            "routing.yaml: responsibility.环境保护: ",
        ),
        ("routing.yaml", "  环境保护: shared", "  环保: shared", "routing.yaml: responsibility.环保: "),
        ("learned.yaml", "  交通运输:", "  交通:", "learned.yaml: categories.交通: "),
        ("places.yaml", "name: 龙子湖区\n", "name: 龙\n", "places.yaml: city.children[0].name: "),
        (
            "units.yaml",
            "parent: yuhui-district\n",
            "parent: wuhe-county\n",
            "units.yaml: bengshan-weisi-street.areas: not inside",
        ),
    ],
)
def test_check_config_names_file_path_problem_of_responsibility_gazetteer_and_learned(
    tmp_path: Path, file: str, old: str, new: str, expected: str
) -> None:
    directory = _copy(tmp_path)
    text = (directory / file).read_text(encoding="utf-8")
    assert old in text
    (directory / file).write_text(text.replace(old, new, 1), encoding="utf-8")
    problems = _problems(directory)
    assert any(p.startswith(expected) for p in problems), problems

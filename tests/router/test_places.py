"""The gazetteer of Bengbu and the smallest-area resolver."""

from __future__ import annotations

from typing import Any

import pytest

from router import Gazetteer, build_gazetteer


@pytest.fixture(scope="module")
def gazetteer(places_yaml: dict[str, Any]) -> Gazetteer:
    return build_gazetteer(places_yaml)


@pytest.mark.parametrize(
    ("text", "area", "names"),
    [
        ("蚌埠市龙子湖区东风街道某小区", "340302001000", ("龙子湖区", "东风街道")),
        ("龙子湖区", "340302000000", ("龙子湖区",)),
        ("家住龙子湖附近", "340302000000", ("龙子湖区",)),  # alias
        ("小蚌埠这边的路坏了", "340311100000", ("淮上区", "小蚌埠镇")),  # alias of a town
        ("怀远县榴城镇", "340321100000", ("怀远县", "榴城镇")),
        ("五河县城关镇", "340322100000", ("五河县", "城关镇")),
        ("五河的城关镇菜市场", "340322100000", ("五河县", "城关镇")),  # shared name + county
        (
            "张巷村的路坏了",
            "340300000000",
            ("蚌埠市",),
        ),  # five villages: only the city is certain
        ("五河县张巷村的路坏了", "340322103204", ("五河县", "小溪镇", "张巷村")),  # told apart by the county
        ("我在张公山公园散步", "yuhui-zhanggongshan-park", ("禹会区", "张公山街道", "张公山公园")),
        ("固镇县濠城镇", "340323107000", ("固镇县", "濠城镇")),
        ("A市A3区某路口", None, ()),  # masked place names resolve to nothing
    ],
)
def test_resolve_smallest_area(
    gazetteer: Gazetteer, text: str, area: str | None, names: tuple[str, ...]
) -> None:
    place = gazetteer.resolve(None, text)
    assert (place.area if place else None) == area
    if place is not None:
        assert gazetteer.path_names(place.area) == names


def test_address_before_text(gazetteer: Gazetteer) -> None:
    place = gazetteer.resolve("蚌山区天桥街道", "我上班在禹会区")
    assert place is not None and place.area == "340303001000" and place.source == "address"
    place = gazetteer.resolve("", "我上班在禹会区")
    assert place is not None and place.source == "text"


def test_every_name_resolves_to_its_area(gazetteer: Gazetteer, places_yaml: dict[str, Any]) -> None:
    """Property: each unshared name and alias, alone, resolves to its own area."""
    seen: dict[str, list[str]] = {}

    def walk(node: dict[str, Any]) -> None:
        for name in (node["name"], *node.get("aliases", ())):
            seen.setdefault(name, []).append(node["id"])
        for child in node.get("children", ()):
            walk(child)

    walk(places_yaml["city"])
    for name, ids in seen.items():
        if len(ids) == 1:
            place = gazetteer.resolve(None, f"在{name}附近")
            assert place is not None and place.area == ids[0], name


def test_every_territorial_unit_area_is_in_the_gazetteer(sample: Any) -> None:
    for unit in sample.network.units.values():
        for area in unit.areas:
            assert area in sample.gazetteer


def test_empty_gazetteer() -> None:
    assert build_gazetteer(None).resolve("龙子湖区", "龙子湖区") is None

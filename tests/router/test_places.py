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
        ("蚌埠市龙子湖区东风街道某小区", "longzihu-dongfeng-street", ("龙子湖区", "东风街道")),
        ("龙子湖区", "longzihu-district", ("龙子湖区",)),
        ("家住龙子湖附近", "longzihu-district", ("龙子湖区",)),  # alias
        ("小蚌埠这边的路坏了", "huaishang-xiaobengbu-town", ("淮上区", "小蚌埠镇")),  # alias of a town
        ("怀远县城关镇", "huaiyuan-chengguan-town", ("怀远县", "城关镇")),
        ("五河县城关镇", "wuhe-chengguan-town", ("五河县", "城关镇")),
        ("五河的城关镇菜市场", "wuhe-chengguan-town", ("五河县", "城关镇")),  # shared name + county
        ("城关镇菜市场", "bengbu", ("蚌埠市",)),  # shared name alone: only the city is certain
        ("我在张公山公园散步", "yuhui-zhanggongshan-park", ("禹会区", "张公山街道", "张公山公园")),
        ("固镇县濠城镇", "guzhen-haocheng-town", ("固镇县", "濠城镇")),
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
    assert place is not None and place.area == "bengshan-tianqiao-street" and place.source == "address"
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

"""Generating places.yaml from division tables (jionlp's shape, the statistics' codes): pure parts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway.places_generate import build_places, dump, keep_hand_made, read_codes
from router import build_gazetteer

# jionlp's shape: county -> town -> village -> None, with _admin_code and _alias on counties.
TABLE: dict[str, Any] = {
    "_full_name": "蚌埠市",
    "_alias": ["蚌埠"],
    "_admin_code": "340300",
    "怀远县": {
        "_full_name": "怀远县",
        "_alias": "怀远",
        "_admin_code": "340321",
        "荆山镇": {"石山村": None},
        "虚构镇": {"某村": None},
    },
    "蚌埠市经济开发区": {
        "_full_name": "蚌埠市经济开发区",
        "_alias": "经开区",
        "_admin_code": "340372",
        "胜利街道": {"机场社区": None},
    },
    "蚌山区": {"_full_name": "蚌山区", "_alias": "蚌山", "_admin_code": "340303", "东风街道": {}},
}
STREETS = """code,name,areaCode,provinceCode,cityCode
340321113,"荆山镇",340321,34,3403
340321117,"长淮卫镇",340321,34,3403
340303010,"胜利街道",340303,34,3403
340303001,"东风街道",340303,34,3403
"""
VILLAGES = """code,name,streetCode,provinceCode,cityCode,areaCode
340321113201,"石山村村民委员会",340321113,34,3403,340321
340321113202,"街道社区居委会",340321113,34,3403,340321
340303010002,"机场社区居委会",340303010,34,3403,340303
"""


def _codes(tmp_path: Path) -> dict[str, list[tuple[str, str]]]:
    (tmp_path / "streets.csv").write_text(STREETS, encoding="utf-8")
    (tmp_path / "villages.csv").write_text(VILLAGES, encoding="utf-8")
    return read_codes([tmp_path / "streets.csv", tmp_path / "villages.csv"])


def _ids(node: dict[str, Any]) -> dict[str, tuple[str, str]]:
    out = {node["id"]: (node["name"], node["kind"])}
    for child in node.get("children", ()):
        out.update(_ids(child))
    return out


def test_divisions_get_12_digit_codes_and_a_valid_gazetteer(tmp_path: Path) -> None:
    places = build_places("蚌埠市", TABLE, _codes(tmp_path))
    ids = _ids(places["city"])
    assert ids["340321000000"] == ("怀远县", "county")
    assert ids["340321113000"] == ("荆山镇", "town")
    assert ids["340321113201"] == ("石山村", "village")  # office words taken off the name
    assert ids["340321117000"] == ("长淮卫镇", "town")  # in the statistics, not in jionlp: kept
    assert ids["340372000000"] == ("蚌埠市经济开发区", "zone")
    assert "虚构镇" not in {name for name, _ in ids.values()}  # no code: not vouched for
    assert "340321113202" not in ids  # 街道社区: an everyday phrase, it would be found everywhere
    gazetteer = build_gazetteer(yaml.safe_load(dump(places)))
    # jionlp files 胜利街道 under the development zone that manages it: it stays there
    assert gazetteer.lineage("340303010000")[1] == "340372000000"
    assert gazetteer.resolve(None, "怀远的长淮卫这边") is not None
    assert "长淮卫" in gazetteer.names  # a 3-character stem is an alias; 东风 (2) is not
    assert "东风" not in gazetteer.names


def test_hand_made_places_are_kept_under_their_area(tmp_path: Path) -> None:
    places = build_places("蚌埠市", TABLE, _codes(tmp_path))
    previous = {
        "city": {
            "id": "bengbu",
            "name": "蚌埠市",
            "kind": "city",
            "children": [
                {
                    "id": "huaiyuan-county",
                    "name": "怀远县",
                    "kind": "county",
                    "children": [
                        {"id": "huaiyuan-tushan", "name": "涂山风景区", "kind": "place"},
                        {"id": "huaiyuan-old-town", "name": "旧镇", "kind": "town"},  # a division: not kept
                    ],
                }
            ],
        }
    }
    assert keep_hand_made(places, previous) == 1
    gazetteer = build_gazetteer(yaml.safe_load(dump(places)))
    assert gazetteer.lineage("huaiyuan-tushan")[1] == "340321000000"
    assert "huaiyuan-old-town" not in gazetteer


def test_generate_reads_jionlps_table(tmp_path: Path) -> None:
    """With the optional extra installed: the real table of Bengbu, with two towns' codes."""
    pytest.importorskip("jionlp", reason="jionlp is the optional extra `places` (pip install -e '.[places]')")
    from gateway.places_generate import generate

    (tmp_path / "streets.csv").write_text(STREETS, encoding="utf-8")
    text, kept = generate("蚌埠市", "安徽省", [tmp_path / "streets.csv"], None)
    gazetteer = build_gazetteer(yaml.safe_load(text))
    counties = {a.name for a in gazetteer.areas.values() if a.depth == 1}
    assert {"龙子湖区", "蚌山区", "禹会区", "淮上区", "怀远县", "五河县", "固镇县"} <= counties
    assert gazetteer.areas["340321113000"].name == "荆山镇" and kept == 0

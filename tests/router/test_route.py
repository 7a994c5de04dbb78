"""Behaviour of the sample configuration on real kinds of appeals."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime

import pytest

from normalizer.schema import Urgency
from router import RouterConfig, route
from tests.router.conftest import DATA_DIR

CASES = [
    # (subject, content, address, unit, first-level category, urgency, rule)
    ("家里燃气泄漏", "厨房里闻到很浓的燃气味，燃气泄漏了，请燃气公司马上来人。", None,
     "gas-supply", "城乡建设", Urgency.emergency, "gas-leak"),
    # a lift is special equipment (商贸旅游/质监检验检疫): the learned 电梯 outweighs 小区 and 物业
    ("电梯困人", "我们小区3号楼的电梯突然停了，有人被困电梯里，物业电话打不通。", None,
     "market-regulation", "商贸旅游", Urgency.emergency, "lift-trapped"),
    ("小区停水", "我们小区从昨天晚上开始停水，到现在还没有恢复供水，自来水公司也没有通知。", None,
     "water-supply", "城乡建设", Urgency.urgent_utility, "water-outage"),
    ("拖欠工资", "公司拖欠我们农民工工资半年了，老板一直不发工资，请劳动监察部门帮忙讨薪。", None,
     "human-resources", "劳动和社会保障", None, None),
    ("孩子入学问题", "孩子今年上小学，学区划分不合理，学校说没有学位，请教育局解决入学问题。", None,
     "education-bureau", "教育文体", None, None),
    ("违章搭建", "邻居在楼顶违章搭建阳光房，私搭乱建严重，请有关部门拆违。", "蚌埠市龙子湖区东风街道",
     "longzihu-dongfeng-street", "城乡建设", None, "illegal-building-local"),
    ("征地补偿不到位", "村里征地补偿款一直没有发放，征地补偿标准太低，失地农民生活困难。", "怀远县榴城镇",
     "huaiyuan-county", "国土资源", None, "territorial:huaiyuan-county"),
]  # fmt: skip


@pytest.mark.parametrize(("subject", "content", "address", "unit", "first", "urgency", "rule"), CASES)
def test_sample_cases(
    sample: RouterConfig,
    subject: str,
    content: str,
    address: str | None,
    unit: str,
    first: str,
    urgency: Urgency | None,
    rule: str | None,
) -> None:
    d = route(sample, subject=subject, content=content, address=address)
    assert d.unit == unit, d.explanation
    assert d.category[0] == first
    assert d.urgency == urgency
    if rule is not None:
        assert d.rule == rule
        if not rule.startswith("territorial:"):
            assert f"rule {rule}" in d.explanation
    else:
        assert d.rule is not None and d.rule.startswith("sector:")
    assert d.matched, "the words that decided are listed"


def test_gas_leak_explains_words_and_urgency(sample: RouterConfig) -> None:
    d = route(sample, subject="燃气泄漏", content="楼道里有煤气味")
    assert d.unit == "gas-supply"
    assert "燃气泄漏" in d.explanation and "urgency emergency" in d.explanation


def test_territorial_without_place_falls_back_to_sector(sample: RouterConfig) -> None:
    d = route(sample, subject="违章搭建", content="邻居在楼顶违章搭建阳光房，私搭乱建严重。")
    assert d.unit == "urban-management"  # no place named: the category's owner
    assert d.area is None


def test_territorial_district_level(sample: RouterConfig) -> None:
    d = route(sample, subject="房屋征收补偿", content="老城区房屋征收补偿标准太低，安置房迟迟不交付。",
              address="蚌山区天桥街道")  # fmt: skip
    assert d.unit == "bengshan-district"  # level 2, although a street is named
    assert d.place == ("蚌山区", "天桥街道")


def test_level3_sector_owner_goes_to_parent_by_default(sample: RouterConfig) -> None:
    d = route(
        sample,
        subject="学校食堂",
        content="学校食堂卫生差，学生吃了拉肚子，食品安全没有保障，疾控中心应该检查。",
    )
    unit = sample.network.units[d.unit or ""]
    assert unit.level == 2


def test_exclude_reroutes(sample: RouterConfig) -> None:
    args = {"subject": "家里燃气泄漏", "content": "燃气泄漏，闻到燃气味"}
    first = route(sample, **args)
    second = route(sample, **args, exclude={first.unit or ""})
    assert second.unit not in (None, first.unit)
    third = route(sample, **args, exclude={first.unit or "", second.unit or ""})
    assert third.unit not in {first.unit, second.unit}


def test_exclude_every_owner_goes_manual(sample: RouterConfig) -> None:
    everyone = set(sample.network.units)
    d = route(sample, subject="拖欠工资", content="公司拖欠工资", exclude=everyone)
    assert d.unit is None
    assert "manual" in d.explanation


def test_manual_below_threshold_has_three_candidates(sample: RouterConfig) -> None:
    # words of three categories, equally: no category is clearly best
    d = route(sample, subject="", content="学校 工资 小区 医院 公交 环保")
    assert d.unit is None and d.rule is None
    assert len(d.candidates) == 3
    assert d.candidates[0].score >= d.candidates[1].score >= d.candidates[2].score
    assert all(c.unit for c in d.candidates)
    assert "too low" in d.explanation


def test_no_words_goes_manual(sample: RouterConfig) -> None:
    d = route(sample, subject="你好", content="谢谢")
    assert d.unit is None and d.candidates == () and d.confidence == 0


def test_keyword_rule_decides_even_when_category_is_unclear(sample: RouterConfig) -> None:
    d = route(sample, subject="", content="闻到燃气味")
    assert d.unit == "gas-supply" and d.rule == "gas-leak"


def test_never_returns_an_excluded_unit_property(sample: RouterConfig) -> None:
    """Property: over real texts and random exclusions, the unit is never excluded."""
    rng = random.Random(7)
    units = sorted(sample.network.units)
    lines = (DATA_DIR / "messages-hot.jsonl").read_text(encoding="utf-8").splitlines()[:300]
    for line in lines:
        m = json.loads(line)
        exclude = set(rng.sample(units, rng.randint(0, 30)))
        first = route(sample, subject=m["title"], content=m["text"])
        if first.unit is not None and rng.random() < 0.5:
            exclude.add(first.unit)
        d = route(sample, subject=m["title"], content=m["text"], exclude=exclude)
        assert d.unit is None or d.unit not in exclude
        assert 0 <= d.confidence <= 1
        assert len(d.candidates) <= 3


def test_decision_is_deterministic_and_time_free(sample: RouterConfig) -> None:
    args = {"subject": "小区停水", "content": "小区停水两天了"}
    at = datetime(2024, 5, 1, 3, 0, tzinfo=UTC)
    assert route(sample, **args) == route(sample, **args)
    assert route(sample, **args, at=at) == route(sample, **args, at=at)

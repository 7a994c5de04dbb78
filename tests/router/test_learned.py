"""Keyword weights learned from history: the learner, the file, and how they explain decisions."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from router import RouterConfig, RoutingConfigError, build_router_config, route
from router.evaluate import LearnSetup, Sources, _learned_config
from router.learned import category_from_reply, departments, grams, learn_weights
from router.suggest import Example


def _docs(category: str, *texts: str) -> list[tuple[str, str, frozenset[str], str]]:
    return [("", t, frozenset(grams(t)), category) for t in texts]


def test_a_word_telling_one_category_apart_gets_weight_for_it() -> None:
    labelled = _docs("教育文体", *[f"学校补课收费{i}" for i in range(6)], "学校放假")
    labelled += _docs("卫生计生", *[f"医院收费太贵{i}" for i in range(6)])
    weights = learn_weights(labelled, min_support=4)
    assert weights["教育文体"]["补课"] > 0.5 and weights["卫生计生"]["医院"] > 0.5
    assert "补课" not in weights["卫生计生"] and "医院" not in weights["教育文体"]
    # both categories use 收费: it tells little, and far less than the words that tell them apart
    assert weights["教育文体"].get("收费", 0) < weights["教育文体"]["补课"] / 2
    strongest = next(iter(weights["教育文体"]))  # largest first
    assert strongest in {"补课", "学校", "补课收", "学校补", "校补课", "校补"}


def test_weights_stay_small_with_a_larger_penalty_and_rare_words_get_none() -> None:
    labelled = _docs("教育文体", *[f"学校补课{i}" for i in range(8)], "学校晚自习", "学校晚自习")
    labelled += _docs("卫生计生", *[f"医院看病{i}" for i in range(8)])
    loose = learn_weights(labelled, min_support=2, l2=1e-4)
    tight = learn_weights(labelled, min_support=2, l2=1e-1)
    assert tight["教育文体"]["补课"] < loose["教育文体"]["补课"]
    assert "晚自习" not in learn_weights(labelled, min_support=3)["教育文体"]  # in 2 appeals only


def test_names_and_struck_out_words_are_never_learned() -> None:
    labelled = _docs("教育文体", *[f"胡书记，学校补课{i}" for i in range(6)])
    labelled += _docs("卫生计生", *[f"医院看病{i}" for i in range(6)])
    weights = learn_weights(labelled, min_support=4)
    assert "补课" in weights["教育文体"] and "胡书记" not in weights["教育文体"]  # a name with a title
    assert "补课" not in learn_weights(labelled, min_support=4, exclude={"补课"})["教育文体"]


def test_words_citizens_do_not_use_elsewhere_are_dropped() -> None:
    labelled = _docs("教育文体", *["学校补课"] * 6) + _docs("卫生计生", *["医院看病"] * 6)
    background = ["周末学校还在补课"] * 3 + ["医院"]  # inside longer text counts, as routing matches
    weights = learn_weights(labelled, background, min_support=4, min_background=3)
    assert set(weights) == {"教育文体"}  # 医院/看病 occur in fewer than 3 unlabelled texts
    assert set(weights["教育文体"]) <= {"补课", "学校", "学校补", "校补课", "校补", "学校补课"}
    assert {"补课", "学校"} <= set(weights["教育文体"])


def test_the_department_that_replied_names_the_category() -> None:
    words = departments([("蚌埠市教育局", "教育文体"), ("蚌埠市卫生健康委员会", "卫生计生")], "蚌埠市")
    assert words["教育局"] == "教育文体" and words["卫健委"] == "卫生计生"  # full name and abbreviation
    assert category_from_reply("网友您好，经市教育局调查核实……", words) == "教育文体"
    assert category_from_reply("经教育局与卫健委共同核实……", words) is None  # two: unclear, not used
    assert category_from_reply("您好，已转相关部门。", words) is None


def _with(
    sample: RouterConfig, routing: dict[str, Any], places: dict[str, Any], learned: Any
) -> RouterConfig:
    return build_router_config(routing, sample.taxonomy, sample.network, places, learned)


def test_a_decision_lists_the_learned_words_and_weights(
    sample: RouterConfig, routing_yaml: dict[str, Any], places_yaml: dict[str, Any]
) -> None:
    learned = {"scale": 1.0, "categories": {"教育文体": {"晚自习": 2.5}}}
    config = _with(sample, routing_yaml, places_yaml, learned)
    assert config.learned_count == 1
    d = route(config, subject="", content="高三晚自习上到十一点，晚自习太晚了")
    assert d.category[0] == "教育文体"
    assert "晚自习(2×2.5)" in d.explanation


def test_a_learned_file_naming_an_unknown_category_is_refused(
    sample: RouterConfig, routing_yaml: dict[str, Any], places_yaml: dict[str, Any]
) -> None:
    with pytest.raises(RoutingConfigError) as info:
        _with(sample, routing_yaml, places_yaml, {"categories": {"没有这类": {"某词": 1.0}}})
    assert info.value.path == "(learned.yaml) categories.没有这类"
    with pytest.raises(ValidationError):
        _with(sample, routing_yaml, places_yaml, {"categories": {"教育文体": {"某词": "heavy"}}})
    with pytest.raises(ValidationError):
        _with(sample, routing_yaml, places_yaml, {"scale": -1, "categories": {}})


def test_cross_validation_never_learns_from_the_held_out_appeals(
    sample: RouterConfig, routing_yaml: dict[str, Any], places_yaml: dict[str, Any]
) -> None:
    """The learned layer of a fold is built without the fold's own texts, and without the replied
    appeals that repeat one of them."""
    train = [Example("", f"学校晚自习{'甲乙丙丁戊'[i]}", "教育文体") for i in range(5)]
    held = [Example("", "医院蓝鲸号难办", "卫生计生")]
    replied = [("。医院蓝鲸号难办", "卫生计生")] * 5 + [("。医院病贵啊", "卫生计生")] * 5
    setup = LearnSetup(replied, (), 1.0, {"min_support": 4})
    base = Sources(routing_yaml, sample.taxonomy, sample.network, places_yaml)
    config = _learned_config(base, train, held, setup)
    learned = {k.word for k in config.keywords} - {k.word for k in sample.keywords}
    assert "蓝鲸" not in learned  # only the held-out appeal (and its copy among the replies) has it
    assert "病贵" in learned


def test_cross_validation_can_leave_out_the_keywords_only_the_held_out_appeals_contain(
    sample: RouterConfig, routing_yaml: dict[str, Any], places_yaml: dict[str, Any]
) -> None:
    """A hand-written keyword found in a held-out appeal and in no training appeal could only have
    been taken from the held-out one: the honest cross-validation does without it."""
    base = Sources(routing_yaml, sample.taxonomy, sample.network, places_yaml)
    train = [Example("", "孩子补课收费太高", "教育文体")]
    held = [Example("", "孩子补课，医院看病难", "卫生计生")]
    kept = base.keywords_seen_in(train, held)
    words = {w for c in kept.routing["categories"] for w in c["keywords"]}
    listed = {w for c in routing_yaml["categories"] for w in c["keywords"]}
    assert {"医院", "看病难"} & listed and not {"医院", "看病难"} & words  # only the held-out one has them
    assert "补课" in words  # the training appeal has it too
    assert len(listed - words) <= 3

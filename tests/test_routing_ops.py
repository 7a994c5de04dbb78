"""The centre's routing tools: route a file, compare two configurations, suggest keywords, and change
the routing configuration of a serving gateway without a restart."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from gateway.cli import main
from gateway.config import load_config
from gateway.registry import Registry
from gateway.store import Keys
from tests.conftest import CONFIG_DIR, OPERATOR_TOKEN, UnitReceiver, sample_env, start_gateway

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
LABELLED = DATA / "messages-labelled.jsonl"


def test_batch_writes_one_line_per_input_in_order(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    batch = tmp_path / "in.jsonl"
    items = [
        {"title": "燃气泄漏", "text": "小区燃气泄漏，煤气味很重"},
        {"title": "", "text": "你好"},
        {"title": "小孩上学", "text": "孩子入学学位不足，学校不接收", "channel": "portal-bengbu"},
    ]
    batch.write_text("\n".join(json.dumps(i, ensure_ascii=False) for i in items) + "\n", encoding="utf-8")
    assert main(["route", "--batch", str(batch)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines) == 3
    assert lines[0]["unit"] == "gas-supply" and lines[0]["category"][0] == "城乡建设"
    assert lines[1]["unit"] is None and len(lines[1]["candidates"]) <= 3
    assert lines[2]["category"][0] == "教育文体"
    for line in lines:
        assert {"unit", "category", "rule", "explanation"} <= set(line)


def test_compare_counts_changed_decisions(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    proposed = tmp_path / "proposed"
    shutil.copytree(CONFIG_DIR, proposed)
    routing = proposed / "routing.yaml"
    routing.write_text(
        routing.read_text(encoding="utf-8").replace("- 燃气泄漏", "- 燃气泄露", 1), encoding="utf-8"
    )
    batch = tmp_path / "in.jsonl"
    batch.write_text(
        json.dumps({"title": "", "text": "我想咨询社保缴费"}, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    assert main(["route", "--batch", str(batch), "--compare", str(CONFIG_DIR)]) == 0
    assert capsys.readouterr().out.startswith("0 of 1 decisions change")


@pytest.mark.skipif(not LABELLED.exists(), reason="the shared data set is not beside the project")
def test_rules_suggest_proposes_explainable_words(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "routing.yaml"
    assert main(["rules", "suggest", "--from", str(LABELLED), "--write", str(out)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed and all(": " in line and "appeals" in line for line in printed)
    assert "categories" in out.read_text(encoding="utf-8")


async def test_routing_changes_apply_without_restart_and_bad_ones_are_refused(
    tmp_path: Path, redis: aioredis.Redis, keys: Keys, registry: Registry, receiver: UnitReceiver
) -> None:
    directory = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, directory)
    config = load_config(directory, kinds=registry.kinds, env=sample_env(receiver.url))
    gw = await start_gateway(config, redis, keys, registry, receiver)
    headers = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
    try:
        routing = directory / "routing.yaml"
        original = routing.read_text(encoding="utf-8")
        routing.write_text(original + "\n  bad: [\n", encoding="utf-8")
        refused = await gw.client.post("/api/v1/routing/reload", headers=headers)
        assert refused.status == 422
        assert (await refused.json())["error"]["problems"][0].startswith("routing.yaml")
        routing.write_text(original.replace("  环境保护: shared", "  环境保护: local", 1), encoding="utf-8")
        refused = await gw.client.post("/api/v1/routing/reload", headers=headers)
        assert refused.status == 422
        assert (await refused.json())["error"]["problems"][0].startswith(
            "routing.yaml: responsibility.环境保护"
        )
        (directory / "learned.yaml").write_text("categories: {没有这类: {某词: 1}}\n", encoding="utf-8")
        routing.write_text(original, encoding="utf-8")
        refused = await gw.client.post("/api/v1/routing/reload", headers=headers)
        assert (await refused.json())["error"]["problems"] == [
            "learned.yaml: categories.没有这类: '没有这类' is not a first-level category"
        ]
        shutil.copy(CONFIG_DIR / "learned.yaml", directory / "learned.yaml")
        first = await gw.post_appeal(description="小区燃气泄漏，煤气味很重")
        assert (await gw.wait_state(first, "dispatched")).unit == "gas-supply"  # old one serves on

        changed = original.replace(
            "    target: {unit: gas-supply}\n    urgency: emergency",
            "    target: {unit: emergency-management}\n    urgency: emergency",
            1,
        )
        assert changed != original
        routing.write_text(changed, encoding="utf-8")
        applied = await gw.client.post("/api/v1/routing/reload", headers=headers)
        assert applied.status == 200, await applied.text()
        second = await gw.post_appeal(description="小区燃气泄漏，煤气味很重，快来人")
        assert (await gw.wait_state(second, "dispatched")).unit == "emergency-management"
    finally:
        await gw.client.close()


def _proposed_without_gas_company(tmp_path: Path) -> Path:
    """A configuration where a gas leak is no longer the gas company's (its rules and urgency gone)."""
    proposed = tmp_path / "proposed"
    shutil.copytree(CONFIG_DIR, proposed)
    routing = proposed / "routing.yaml"
    text = routing.read_text(encoding="utf-8")
    text = text.replace("target: {unit: gas-supply}", "target: {unit: housing-bureau}")
    routing.write_text(text, encoding="utf-8")
    return proposed


def test_compare_groups_moves_from_unit_to_unit_with_examples(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    batch = tmp_path / "in.jsonl"
    items = [
        {"title": "燃气泄漏", "text": "小区燃气泄漏，煤气味很重"},
        {"title": "闻到煤气味", "text": "楼道里闻到煤气味"},
        {"title": "", "text": "孩子入学学位不足，学校不接收"},
    ]
    batch.write_text("\n".join(json.dumps(i, ensure_ascii=False) for i in items) + "\n", encoding="utf-8")
    proposed = _proposed_without_gas_company(tmp_path)
    assert main(["route", "--batch", str(batch), "--compare", str(proposed), "--examples", "1"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "2 of 3 decisions change (66.7%)"
    assert out[1] == "  gas-supply -> housing-bureau: 2"
    assert out[2].startswith("      line 1 燃气泄漏: ")
    assert len(out) == 3  # one example per move, as asked


async def test_compare_reads_the_appeals_the_gateway_holds(
    tmp_path: Path,
    redis: aioredis.Redis,
    keys: Keys,
    registry: Registry,
    receiver: UnitReceiver,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from datetime import UTC, datetime, timedelta

    from gateway.cli_route import _compare, stored_items

    config = load_config(CONFIG_DIR, kinds=registry.kinds, env=sample_env(receiver.url))
    gw = await start_gateway(config, redis, keys, registry, receiver, workers=False)
    try:
        await gw.post_appeal(description="小区燃气泄漏，煤气味很重")
        await gw.post_appeal(description="孩子入学学位不足，学校不接收")
    finally:
        await gw.client.close()
    items = await stored_items(redis, keys, datetime.now(UTC) - timedelta(days=30))
    assert [item["text"] for _no, item in items] == [
        "小区燃气泄漏，煤气味很重",
        "孩子入学学位不足，学校不接收",
    ]
    assert await stored_items(redis, keys, datetime.now(UTC) + timedelta(minutes=1)) == []
    proposed = load_config(_proposed_without_gas_company(tmp_path), kinds=registry.kinds, env=sample_env())
    capsys.readouterr()  # the gateway's own log lines
    assert _compare(config, proposed, items, 3) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "1 of 2 decisions change (50.0%)"
    assert out[1] == "  gas-supply -> housing-bureau: 1"
    assert out[2].startswith(f"      {items[0][0]} ")  # the example names the appeal number


def test_rules_suggest_learn_writes_a_reviewable_learned_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import yaml

    from router.learned import LearnedFile

    labelled = tmp_path / "labelled.jsonl"
    replied = tmp_path / "replied.jsonl"
    rows = [{"title": "", "text": f"学校晚自习太晚，补课收费{i}", "category": "教育文体"} for i in range(6)]
    rows += [{"title": "", "text": f"医院挂号难，看病排队{i}", "category": "卫生计生"} for i in range(6)]
    labelled.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    answers = [
        {"title": "", "text": f"医院护士态度差{i}", "reply": "网友您好，经市卫健委调查核实……"}
        for i in range(5)
    ]
    replied.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in answers), encoding="utf-8")
    out = tmp_path / "learned.yaml"
    args = ["rules", "suggest", "--learn", "--from", str(labelled), "--replied", str(replied)]
    assert main([*args, "--write", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "教育文体:" in printed and "卫生计生:" in printed
    learned = LearnedFile.model_validate(yaml.safe_load(out.read_text(encoding="utf-8")))
    assert "补课" in learned.categories["教育文体"]
    assert "护士" in learned.categories["卫生计生"]  # from the replies naming 卫健委
    assert (
        "12 labelled appeals" in learned.source and "5 appeals labelled by the department" in learned.source
    )
    # a reviewer strikes 补课 out: learning again into the same file keeps it out
    reviewed = yaml.safe_load(out.read_text(encoding="utf-8"))
    out.write_text(yaml.safe_dump({**reviewed, "excluded": ["补课"]}, allow_unicode=True), encoding="utf-8")
    assert main([*args, "--write", str(out)]) == 0
    again = LearnedFile.model_validate(yaml.safe_load(out.read_text(encoding="utf-8")))
    assert "补课" not in again.categories["教育文体"] and again.excluded == ("补课",)
    assert main(["rules", "suggest", "--learn"]) == 2  # nothing to learn from

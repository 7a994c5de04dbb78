"""Configuration: the sample city loads; every mistake is named by file, path and problem."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from gateway.cli import main
from gateway.config import load_config
from gateway.errors import ConfigError
from gateway.registry import Registry
from router import UnitKind
from tests.conftest import CONFIG_DIR, sample_env

CHANNELS = {
    "phone-12345",
    "phone-voicemail",
    "phone-transfer",
    "mayor-mailbox",
    "sms-12345",
    "wechat-official",
    "wechat-miniprogram",
    "weibo-gov",
    "portal-bengbu",
    "app-client",
    "online-chat",
    "media-supervision",
    "governor-hotline",
    "people-daily-online",
    "state-council-supervision",
    "national-service-platform",
    "provincial-app",
}


def test_the_sample_city_has_17_channels_and_90_units_in_three_levels(registry: Registry) -> None:
    config = load_config(CONFIG_DIR, kinds=registry.kinds, env=sample_env("http://units.test"))
    assert {c.id for c in config.channels} == CHANNELS
    assert len(config.units) == 90
    levels = [u.level for u in config.units.values()]
    assert levels.count(1) == 1 and levels.count(2) > 20 and levels.count(3) > 20
    assert {u.kind for u in config.units.values()} == set(UnitKind)
    for unit in config.units.values():
        assert str(unit.webhook) == f"http://units.test/units/{unit.id}"
        assert unit.name and (unit.parent is None) == (unit.level == 1)
    portal = config.channel("portal-bengbu")
    assert portal is not None and portal.settings.api_key.get_secret_value() == "test-portal-key"  # type: ignore[union-attr]
    assert config.gateway.operator_token.get_secret_value() == "test-operator-token"


def test_defaults_apply_when_variables_are_unset_and_are_reported(registry: Registry) -> None:
    config = load_config(CONFIG_DIR, kinds=registry.kinds, env={})
    assert str(config.units["gas-supply"].webhook) == "http://127.0.0.1:8081/units/gas-supply"
    assert "OPERATOR_TOKEN" in config.demo_defaults and "PORTAL_API_KEY" in config.demo_defaults


@pytest.fixture
def config_copy(tmp_path: Path) -> Path:
    target = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, target)
    return target


def _problems(directory: Path, registry: Registry, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(directory, kinds=registry.kinds, env=env or {})
    return caught.value.problems


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_a_misspelled_key_names_file_and_path(config_copy: Path, registry: Registry) -> None:
    _edit(config_copy / "gateway.yaml", "  jitter: 0.1", "  jiter: 0.1")
    assert _problems(config_copy, registry) == [
        "gateway.yaml: delivery.jiter: Extra inputs are not permitted"
    ]


def test_a_missing_variable_without_default_is_an_error(config_copy: Path, registry: Registry) -> None:
    _edit(config_copy / "channels.yaml", "${PORTAL_API_KEY:-demo-portal-key}", "${PORTAL_API_KEY}")
    (problem,) = _problems(config_copy, registry)
    assert problem.startswith("channels.yaml: channels[7].settings.api_key: ${PORTAL_API_KEY} is not set")


def test_a_literal_secret_is_refused(config_copy: Path, registry: Registry) -> None:
    _edit(config_copy / "channels.yaml", "${PORTAL_API_KEY:-demo-portal-key}", "plain-text-key")
    _edit(config_copy / "gateway.yaml", "${OPERATOR_TOKEN:-demo-operator-token}", "hunter2")
    problems = _problems(config_copy, registry)
    assert "gateway.yaml: operator_token: a secret must be given by reference, e.g. ${MY_SECRET}" in problems
    assert any(p.startswith("channels.yaml: channels[7].settings.api_key: a secret must") for p in problems)


def test_an_unknown_kind_suggests_the_nearest(config_copy: Path, registry: Registry) -> None:
    _edit(config_copy / "channels.yaml", "kind: portal", "kind: portall")
    (problem,) = _problems(config_copy, registry)
    assert (
        problem == "channels.yaml: channels[7].kind: unknown adapter kind 'portall'; did you mean 'portal'?"
    )


def test_a_unit_with_a_missing_parent_is_named(config_copy: Path, registry: Registry) -> None:
    _edit(config_copy / "units.yaml", "parent: centre", "parent: nowhere")
    (problem,) = _problems(config_copy, registry)
    assert problem.startswith("units.yaml: units: unit ") and "parent 'nowhere' is not a unit" in problem


def test_broken_yaml_names_the_line(config_copy: Path, registry: Registry) -> None:
    (config_copy / "gateway.yaml").write_text("centre: [unclosed\n", encoding="utf-8")
    (problem,) = _problems(config_copy, registry)
    assert problem.startswith("gateway.yaml: line ")


def test_check_config_json_counts(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config", "--config", str(CONFIG_DIR), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["channels"], summary["units"]) == (17, 90)


def test_check_config_fails_with_the_problems(config_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _edit(config_copy / "gateway.yaml", "appeal_no_prefix: BB", "appeal_no_prefix: bb")
    assert main(["check-config", "--config", str(config_copy), "--json"]) == 2
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] is False
    assert out["problems"][0].startswith("gateway.yaml: centre.appeal_no_prefix:")

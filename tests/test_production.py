"""``serve`` in production refuses to start while a secret is on its demo default, and names each."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import structlog

from gateway.cli import main
from gateway.config import load_config
from gateway.registry import Registry
from tests.conftest import CONFIG_DIR

REAL = {"OPERATOR_TOKEN": "a-real-operator-token", "PORTAL_API_KEY": "a-real-portal-key"}


@pytest.fixture(autouse=True)
def logging_restored() -> Iterator[None]:
    """``serve`` configures logging onto the captured stdout: undo it for the tests after this one."""
    handlers = list(logging.getLogger().handlers)
    yield
    structlog.reset_defaults()
    logging.getLogger().handlers[:] = handlers


def demo_names(registry: Registry, env: dict[str, str]) -> tuple[str, ...]:
    return load_config(CONFIG_DIR, kinds=registry.kinds, env=env).demo_defaults


@pytest.mark.parametrize("how", ["env", "flag"])
def test_production_refuses_demo_secrets_naming_every_one(
    how: str, registry: Registry, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env = REAL | {"WECHAT_TOKEN": "demo-wechat-token"}  # set, but to the demo value itself
    names = demo_names(registry, env)
    assert "WECHAT_TOKEN" in names and "OPERATOR_TOKEN" not in names and len(names) > 10
    for name in names:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("HOTLINE_ENV", "production" if how == "env" else "development")
    args = ["serve", "--config", str(CONFIG_DIR), "--port", "1"] + (["--production"] if how == "flag" else [])
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "refusing to serve in production" in err
    for name in names:
        assert name in err
    assert "OPERATOR_TOKEN" not in err and "a-real" not in err


def test_outside_production_demo_secrets_are_only_warned_about(registry: Registry) -> None:
    names = demo_names(registry, {})
    assert {"OPERATOR_TOKEN", "PORTAL_API_KEY", "WECHAT_TOKEN"} <= set(names)
    real = {n: f"real-{n.lower()}" for n in names} | {"WECHAT_AES_KEY": "R" * 43}
    assert demo_names(registry, real) == ()

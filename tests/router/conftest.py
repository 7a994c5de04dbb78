"""The router's tests: plain values in, decisions out; no event loop, no I/O beyond reading config."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway.config import load_config
from gateway.registry import load_kinds
from router import RouterConfig, build_router_config

ROOT = Path(__file__).resolve().parents[2]
CONFIG_DIR = ROOT / "config"
DATA_DIR = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def sample() -> RouterConfig:
    """The full sample configuration, loaded the way the gateway loads it."""
    return load_config(CONFIG_DIR, kinds=load_kinds(strict=False).kinds).router


@pytest.fixture(scope="session")
def routing_yaml() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((CONFIG_DIR / "routing.yaml").read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="session")
def places_yaml() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((CONFIG_DIR / "places.yaml").read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="session")
def build(sample: RouterConfig, routing_yaml: dict[str, Any], places_yaml: dict[str, Any]) -> Any:
    """build(rules=[...], **overrides) -> a RouterConfig of the sample with these rules only."""

    def _build(
        rules: list[dict[str, Any]] | None = None, places: Any = places_yaml, **over: Any
    ) -> RouterConfig:
        data = {**routing_yaml, "rules": rules or [], **over}
        return build_router_config(data, sample.taxonomy, sample.network, places)

    return _build

"""Every registered adapter kind runs the conformance kit, and every skip carries its reason."""

from __future__ import annotations

import importlib
import pkgutil

import tests.adapters
from gateway.registry import Registry
from tests.conformance.kit import AdapterConformance


def _suites() -> list[type[AdapterConformance]]:
    for module in pkgutil.walk_packages(tests.adapters.__path__, "tests.adapters."):
        importlib.import_module(module.name)
    return [cls for cls in _subclasses(AdapterConformance) if hasattr(cls, "kind")]


def _subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found.append(sub)
        found.extend(_subclasses(sub))
    return found


def test_every_registered_kind_has_a_conformance_suite(registry: Registry) -> None:
    covered = {suite.kind for suite in _suites()}
    missing = set(registry.kinds) - covered
    assert not missing, f"adapter kinds without a conformance test: {sorted(missing)}"


def test_every_skip_has_a_reason() -> None:
    for suite in _suites():
        for check, reason in suite.skips.items():
            assert reason and len(reason.strip()) >= 10, f"{suite.__name__} skips {check!r} without a reason"


def test_every_registered_kind_has_settings_fixtures_and_a_docs_page(registry: Registry) -> None:
    """What STYLE.md asks of a kind, checked by machine: a settings model that forbids unknown keys,
    golden fixtures for its decoder, and a page in docs/channels/."""
    import inspect
    from pathlib import Path

    from pydantic import BaseModel

    root = Path(__file__).resolve().parents[2]
    for kind, cls in registry.kinds.items():
        assert issubclass(cls.Config, BaseModel), kind
        assert cls.Config.model_config.get("extra") == "forbid", f"{kind}: settings must forbid unknown keys"
        fixtures = Path(inspect.getfile(cls)).parent / "fixtures"
        assert fixtures.is_dir() and any(fixtures.iterdir()), f"{kind}: no golden fixtures in {fixtures}"
        assert (root / "docs" / "channels" / f"{kind}.md").is_file(), f"{kind}: no docs/channels/{kind}.md"

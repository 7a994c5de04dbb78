"""Packaging: every package the shipped code imports is a declared dependency, the build floor can
build the licence field, and ``make install`` installs from the constraints file."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions

from tests.conftest import ROOT

SHIPPED = ("gateway", "adapters", "normalizer", "router")
NEEDS = {"zoneinfo": "tzdata"}
"""Standard modules that need a distribution where the system has no data (no tz database)."""


def pyproject() -> dict:  # type: ignore[type-arg]
    return tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))


def distribution_name(requirement: str) -> str:
    name = re.match(r"[A-Za-z0-9._-]+", requirement)
    assert name is not None, requirement
    return re.sub(r"[-_.]+", "-", name.group(0)).lower()


def imported_modules() -> set[str]:
    found: set[str] = set()
    for package in SHIPPED:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text("utf-8"))):
                if isinstance(node, ast.Import):
                    found.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    found.add(node.module.split(".")[0])
    return found - set(SHIPPED) - {"__future__"}


def test_every_imported_package_is_a_declared_dependency() -> None:
    declared = {distribution_name(r) for r in pyproject()["project"]["dependencies"]}
    extras = pyproject()["project"]["optional-dependencies"].values()
    optional = {distribution_name(r) for extra in extras for r in extra}
    owners = packages_distributions()
    needed: dict[str, str] = {}
    for module in sorted(imported_modules()):
        if module in NEEDS:
            needed[module] = NEEDS[module]
        elif module not in owners and distribution_name(module) in optional:
            continue  # an optional extra's (e.g. jionlp for `places generate`): may be absent
        elif module not in sys.stdlib_module_names:
            assert module in owners, f"{module} is imported but no installed distribution provides it"
            needed[module] = distribution_name(owners[module][0])
    missing = {module: dist for module, dist in needed.items() if dist not in declared}
    assert missing == {}, "imported but not in [project].dependencies"
    assert {"xmltodict", "tzdata", "aiohttp", "pydantic"} <= set(needed.values())


def test_the_build_floor_knows_the_spdx_licence_field() -> None:
    data = pyproject()
    assert isinstance(data["project"]["license"], str)  # an SPDX expression (PEP 639)
    (setuptools,) = [r for r in data["build-system"]["requires"] if distribution_name(r) == "setuptools"]
    floor = re.search(r">=\s*(\d+)", setuptools)
    assert floor is not None and int(floor.group(1)) >= 77, "setuptools reads an SPDX licence from 77 on"


def test_install_and_dev_use_the_constraints_file() -> None:
    makefile = (ROOT / "Makefile").read_text("utf-8")
    installs = [line for line in makefile.splitlines() if "$(BIN)/pip install" in line]
    assert len(installs) >= 2 and all("-c constraints.txt" in line for line in installs)
    pins = dict(
        line.split("==", 1)
        for line in (ROOT / "constraints.txt").read_text("utf-8").splitlines()
        if "==" in line
    )
    for requirement in pyproject()["project"]["dependencies"]:
        name = distribution_name(requirement)
        assert any(distribution_name(p) == name for p in pins), f"{name} is not pinned in constraints.txt"

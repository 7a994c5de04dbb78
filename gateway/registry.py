"""Adapter kinds are found through the entry-point group ``hotline_gateway.adapters``: built-in and
third-party kinds register the same way. Each entry loads in its own try/except, so one broken
package is reported by name and the rest still load (``strict=True`` makes it fatal, as in CI)."""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import entry_points

from adapters.base import Adapter

GROUP = "hotline_gateway.adapters"


@dataclass(frozen=True)
class Registry:
    kinds: dict[str, type[Adapter]]  # type: ignore[type-arg]
    broken: dict[str, str]


class PluginError(RuntimeError):
    pass


def load_kinds(strict: bool = False) -> Registry:
    kinds: dict[str, type[Adapter]] = {}  # type: ignore[type-arg]
    broken: dict[str, str] = {}
    for entry in entry_points(group=GROUP):
        try:
            cls = entry.load()
            if not (isinstance(cls, type) and issubclass(cls, Adapter)):
                raise TypeError(f"{entry.value} is not an Adapter subclass")
            if cls.kind != entry.name:
                raise TypeError(f"entry point {entry.name!r} loads kind {cls.kind!r}")
            kinds[entry.name] = cls
        except Exception as e:  # a third-party package may fail in any way
            broken[entry.name] = f"{entry.value}: {type(e).__name__}: {e}"
    if strict and broken:
        raise PluginError("broken adapter packages: " + "; ".join(broken.values()))
    return Registry(kinds, broken)

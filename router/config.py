"""The router's configuration (``config/routing.yaml``), validated against taxonomy and network."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import ahocorasick
from pydantic import BaseModel, ConfigDict, Field

from normalizer.schema import Urgency
from router.network import Network, UnitKind
from router.taxonomy import CategoryPath, Taxonomy, parse_path


class RoutingConfigError(ValueError):
    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.path = path


class CategoryKeywords(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str = Field(description="Taxonomy path, levels joined by '/'.")
    keywords: tuple[str, ...] = Field(min_length=1)


class RoutingFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    taxonomy: str = Field(default="taxonomy.csv", description="CSV file, relative to config/.")
    min_score: float = Field(default=1.0, gt=0, description="Below this, the manual queue.")
    min_confidence: float = Field(default=0.35, ge=0, le=1, description="Below this, manual.")
    urgency: dict[Urgency, tuple[str, ...]] = Field(
        default_factory=dict, description="Words that suggest a grade, most urgent first."
    )
    categories: tuple[CategoryKeywords, ...]


@dataclass(frozen=True)
class RouterConfig:
    """Everything the router needs, built once: frozen, shareable, no I/O."""

    taxonomy: Taxonomy
    network: Network
    min_score: float
    min_confidence: float
    automaton: Any  # ahocorasick.Automaton: keyword -> (kind, value)
    owners: Mapping[CategoryPath, tuple[str, ...]]  # sector path -> unit ids
    keyword_count: int


def build_router_config(data: Mapping[str, Any], taxonomy: Taxonomy, network: Network) -> RouterConfig:
    spec = RoutingFile.model_validate(data)
    automaton = ahocorasick.Automaton()
    entries: dict[str, list[tuple[str, Any]]] = {}
    for i, category in enumerate(spec.categories):
        path = parse_path(category.path)
        if path not in taxonomy:
            raise RoutingConfigError(f"categories[{i}].path", f"{category.path!r} is not in the taxonomy")
        for word in category.keywords:
            entries.setdefault(word, []).append(("category", path))
    for grade, words in spec.urgency.items():
        for word in words:
            entries.setdefault(word, []).append(("urgency", grade))
    for word, values in entries.items():
        automaton.add_word(word, (word, tuple(values)))
    automaton.make_automaton()

    owners: dict[CategoryPath, list[str]] = {}
    for unit in network.units.values():
        for text in unit.sectors:
            path = parse_path(text)
            if path not in taxonomy:
                raise RoutingConfigError(
                    f"(units.yaml) {unit.id}.sectors", f"{text!r} is not in the taxonomy"
                )
            owners.setdefault(path, []).append(unit.id)
    for first in taxonomy.level1:
        if not any(
            path[0] == first and network.units[u].kind is UnitKind.sector
            for path, units in owners.items()
            for u in units
        ):
            raise RoutingConfigError("(units.yaml)", f"no sector unit is responsible for {first!r}")
    return RouterConfig(
        taxonomy=taxonomy,
        network=network,
        min_score=spec.min_score,
        min_confidence=spec.min_confidence,
        automaton=automaton,
        owners={k: tuple(v) for k, v in owners.items()},
        keyword_count=len(entries),
    )

"""The router's configuration (``config/routing.yaml`` + ``config/places.yaml``), validated against the
taxonomy and the network, and compiled once into a frozen :class:`RouterConfig`."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timezone
from typing import Any

import ahocorasick
from pydantic import BaseModel, ConfigDict, Field

from normalizer.schema import Urgency
from router.errors import RoutingConfigError
from router.network import Network, UnitKind
from router.places import Gazetteer, build_gazetteer
from router.rules import Rule, RuleSpec, compile_rules, local_offset
from router.taxonomy import CategoryPath, Taxonomy, parse_path

__all__ = [
    "History",
    "KeywordInfo",
    "RouterConfig",
    "RoutingConfigError",
    "RoutingFile",
    "build_router_config",
]


class CategoryKeywords(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str = Field(description="Taxonomy path, levels joined by '/'.")
    keywords: tuple[str, ...] = Field(min_length=1)


class History(BaseModel):
    """How many past appeals contained each word: common words weigh less (inverse document
    frequency). Regenerate with :func:`router.suggest.history_counts` from a centre's own history."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    messages: int = Field(gt=0, description="Past appeals counted.")
    reference: float = Field(
        default=0.01, gt=0, lt=1, description="A word in this share of appeals weighs 1; rarer more."
    )
    counts: dict[str, int] = Field(default_factory=dict, description="Word -> appeals containing it.")

    def weight(self, word: str) -> float:
        """log((N+1)/(n+1)) / log((N+1)/(reference*N+1)); a word not counted weighs 1."""
        n = self.counts.get(word)
        if n is None:
            return 1.0
        total = self.messages + 1
        return round(math.log(total / (n + 1)) / math.log(total / (self.reference * self.messages + 1)), 3)


class RoutingFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    taxonomy: str = Field(default="taxonomy.csv", description="CSV file, relative to config/.")
    places: str = Field(default="places.yaml", description="Gazetteer file, relative to config/.")
    min_score: float = Field(default=1.0, gt=0, description="Below this, the manual queue.")
    min_confidence: float = Field(default=0.35, ge=0, le=1, description="Below this, manual.")
    subject_weight: float = Field(default=2.0, ge=0, description="Extra weight of a word in the subject.")
    repeat_cap: int = Field(default=3, ge=1, description="Repeats of a word in the text counted at most.")
    utc_offset_hours: float = Field(default=8, ge=-12, le=14, description="Local time of `time` rules.")
    urgency: dict[Urgency, tuple[str, ...]] = Field(
        default_factory=dict, description="Words that suggest a grade, most urgent first."
    )
    categories: tuple[CategoryKeywords, ...]
    rules: tuple[RuleSpec, ...] = ()
    history: History | None = Field(default=None, description="Word counts of past appeals.")


@dataclass(frozen=True)
class KeywordInfo:
    """What one word found in an appeal means."""

    word: str
    shares: tuple[tuple[str, float], ...]  # first-level category -> weight (split when shared)
    weight: float  # from history: common words weigh less
    paths: tuple[CategoryPath, ...]  # every path listing it
    urgency: Urgency | None
    areas: tuple[str, ...] = ()  # a place name of the gazetteer: the areas of that name


@dataclass(frozen=True)
class RouterConfig:
    """Everything the router needs, built once: frozen, shareable, no I/O."""

    taxonomy: Taxonomy
    network: Network
    gazetteer: Gazetteer
    min_score: float
    min_confidence: float
    subject_weight: float
    repeat_cap: int
    offset: timezone
    automaton: Any  # ahocorasick.Automaton: encoded word -> index into ``keywords``
    keywords: tuple[KeywordInfo, ...]
    owners: Mapping[CategoryPath, tuple[str, ...]]  # sector path -> unit ids
    rules: tuple[Rule, ...]  # highest priority first
    rules_for: Mapping[str, tuple[Rule, ...]]  # first-level category ("" none) -> rules that may match
    territory: Mapping[str, tuple[str, ...]]  # area id -> territorial unit ids naming it
    first_owners: Mapping[str, str | None]  # first-level category -> its city-wide default unit
    keyword_count: int


_URGENCY_ORDER = (
    Urgency.emergency, Urgency.urgent_utility, Urgency.complex, Urgency.consultation, Urgency.general,
)  # fmt: skip


def build_router_config(
    data: Mapping[str, Any],
    taxonomy: Taxonomy,
    network: Network,
    places: Mapping[str, Any] | None = None,
) -> RouterConfig:
    """Validate ``routing.yaml`` (``data``) and ``places.yaml`` (``places``; None for no gazetteer)
    against the taxonomy and network. Raises pydantic's ``ValidationError`` for a malformed file and
    :class:`RoutingConfigError` (with ``path``; paths of other files start with ``(file)``)."""
    spec = RoutingFile.model_validate(data)
    try:
        gazetteer = build_gazetteer(places)
    except RoutingConfigError as e:
        raise RoutingConfigError(f"(places.yaml) {e.path}", str(e)) from None

    words: dict[str, tuple[dict[str, None], dict[CategoryPath, None], list[Urgency]]] = {}

    def entry(word: str) -> tuple[dict[str, None], dict[CategoryPath, None], list[Urgency]]:
        return words.setdefault(word, ({}, {}, []))

    for i, category in enumerate(spec.categories):
        path = parse_path(category.path)
        if path not in taxonomy:
            raise RoutingConfigError(f"categories[{i}].path", f"{category.path!r} is not in the taxonomy")
        for word in category.keywords:
            firsts, paths, _ = entry(word)
            firsts[path[0]] = None
            paths[path] = None
    for grade in _URGENCY_ORDER:
        for word in spec.urgency.get(grade, ()):
            entry(word)[2].append(grade)
    rules = compile_rules(
        spec.rules, in_taxonomy=taxonomy, units=network.units.keys(), areas=gazetteer.areas.keys()
    )
    for name in gazetteer.names:  # one scan finds keywords and place names
        entry(name)
    for rule in rules:
        if rule.spec.when.keywords is not None:
            for word in rule.spec.when.keywords.words():
                entry(word)
    automaton = ahocorasick.Automaton()
    infos: list[KeywordInfo] = []
    for word, (firsts, paths, grades) in words.items():
        weight = spec.history.weight(word) if spec.history is not None else 1.0
        share = weight / len(firsts) if firsts else 0.0
        info = KeywordInfo(
            word=word,
            shares=tuple((f, share) for f in firsts),
            weight=weight,
            paths=tuple(paths),
            urgency=grades[0] if grades else None,
            areas=gazetteer.names.get(word, ()),
        )
        automaton.add_word(encode(word), len(infos))
        infos.append(info)
    automaton.make_automaton()

    owners: dict[CategoryPath, list[str]] = {}
    territory: dict[str, list[str]] = {}
    for unit in network.units.values():
        for text in unit.sectors:
            path = parse_path(text)
            if path not in taxonomy:
                raise RoutingConfigError(
                    f"(units.yaml) {unit.id}.sectors", f"{text!r} is not in the taxonomy"
                )
            owners.setdefault(path, []).append(unit.id)
        for area in unit.areas:
            if len(gazetteer) and area not in gazetteer:
                raise RoutingConfigError(
                    f"(units.yaml) {unit.id}.areas", f"{area!r} is not an area of places.yaml"
                )
            if unit.kind is UnitKind.territorial:
                territory.setdefault(area, []).append(unit.id)
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
        gazetteer=gazetteer,
        min_score=spec.min_score,
        min_confidence=spec.min_confidence,
        subject_weight=spec.subject_weight,
        repeat_cap=spec.repeat_cap,
        offset=local_offset(spec.utc_offset_hours),
        automaton=automaton,
        keywords=tuple(infos),
        owners={k: tuple(v) for k, v in owners.items()},
        rules=rules,
        rules_for={
            first: tuple(r for r in rules if not r.categories or any(c[0] == first for c in r.categories))
            for first in (*taxonomy.level1, "")
        },
        territory={k: tuple(v) for k, v in territory.items()},
        first_owners={first: _default_owner(network, owners.get((first,), [])) for first in taxonomy.level1},
        keyword_count=sum(1 for _, paths, _ in words.values() if paths),
    )


def _default_owner(network: Network, unit_ids: list[str]) -> str | None:
    """The unit a first-level category goes to by default (city-wide owner, level-3 -> parent)."""
    found: list[tuple[int, str]] = []
    for unit_id in unit_ids:
        unit = network.units[unit_id]
        if unit.areas:
            continue
        if unit.level == 3 and unit.parent is not None:
            unit = network.units[unit.parent]
        found.append((unit.level, unit.id))
    return min(found)[1] if found else None


def encode(text: str) -> str:
    """The text as UTF-8 bytes, one character per byte (latin-1), for the automatons.

    pyahocorasick scans a trie node's children one by one: over Chinese text the root has a
    thousand children (every keyword's first character) and scanning is slow. Over UTF-8 bytes a
    node has at most 64, which makes the scan about four times faster. A match always starts on a
    character boundary, since a continuation byte (0x80-0xBF) never starts a character."""
    return text.encode("utf-8").decode("latin-1")

"""The router's configuration (``config/routing.yaml`` + ``config/places.yaml``), validated against the
taxonomy and the network, and compiled once into a frozen :class:`RouterConfig`."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timezone
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from normalizer.schema import Urgency
from router.errors import RoutingConfigError
from router.learned import LearnedFile
from router.network import Network, UnitKind
from router.places import LOCAL_KINDS, Gazetteer, build_gazetteer
from router.rules import Rule, RuleSpec, compile_rules, local_offset
from router.scan import Scanner
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


Responsibility = Literal["sector", "territorial", "shared"]
"""``sector``: what it is about decides (the category's owner); ``territorial``: where it happened
decides (the county or district covering the place); ``shared``: sector unless the place named is a
town, street, township or a place inside one, then territorial."""


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
    responsibility: dict[str, Responsibility] = Field(
        default_factory=dict,
        description="Category path -> how responsibility is decided (the most specific path wins; "
        "a path not listed, nor any prefix of it, is `sector`).",
    )
    learned: str | None = Field(
        default=None, description="Reviewed file of learned keyword weights, relative to config/."
    )


@dataclass(frozen=True, slots=True)
class KeywordInfo:
    """What one word found in an appeal means."""

    word: str
    shares: tuple[tuple[str, float], ...]  # first-level category -> weight (split when shared)
    weight: float  # from history: common words weigh less
    paths: tuple[CategoryPath, ...]  # every path listing it
    urgency: Urgency | None
    areas: tuple[str, ...] = ()  # a place name of the gazetteer: the areas of that name
    share_of: Mapping[str, float] = dataclasses.field(default_factory=dict)  # ``shares`` as a mapping
    share_text: Mapping[str, str] = dataclasses.field(default_factory=dict)  # the same, as shown
    paths_in: Mapping[str, tuple[CategoryPath, ...]] = dataclasses.field(default_factory=dict)
    special: bool = False  # it names a place or suggests an urgency (kept aside by the scoring)


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
    scanner: Scanner  # finds the words of ``keywords``: index i is keywords[i]
    keywords: tuple[KeywordInfo, ...]
    owners: Mapping[CategoryPath, tuple[str, ...]]  # sector path -> unit ids
    rules: tuple[Rule, ...]  # highest priority first
    rules_for: Mapping[str, tuple[Rule, ...]]  # first-level category ("" none) -> rules that may match
    territory: Mapping[str, tuple[str, ...]]  # area id -> territorial unit ids naming it
    keyword_count: int
    responsibility: Mapping[CategoryPath, Responsibility] = dataclasses.field(default_factory=dict)
    learned_count: int = 0  # words of the learned file

    def responsibility_of(self, path: CategoryPath) -> tuple[Responsibility, CategoryPath]:
        """How responsibility is decided for ``path``: its most specific listed prefix (or sector)."""
        for depth in range(len(path), 0, -1):
            mode = self.responsibility.get(path[:depth])
            if mode is not None:
                return mode, path[:depth]
        return "sector", ()

    def uncovered(self) -> tuple[str, ...]:
        """Towns, townships and streets of the gazetteer that no territorial unit covers itself
        (their county or district gets their appeals, with no level-3 unit to pass them to)."""
        return tuple(
            a.id
            for a in self.gazetteer.areas.values()
            if a.kind in LOCAL_KINDS and not self.territory.get(a.id)
        )


_URGENCY_ORDER = (
    Urgency.emergency, Urgency.urgent_utility, Urgency.complex, Urgency.consultation, Urgency.general,
)  # fmt: skip


def build_router_config(
    data: Mapping[str, Any],
    taxonomy: Taxonomy,
    network: Network,
    places: Mapping[str, Any] | None = None,
    learned: Mapping[str, Any] | None = None,
) -> RouterConfig:
    """Validate ``routing.yaml`` (``data``), ``places.yaml`` (``places``; None for no gazetteer) and
    the learned weights (``learned``; None for none) against the taxonomy and network. Raises
    pydantic's ``ValidationError`` for a malformed file and :class:`RoutingConfigError` (with
    ``path``; paths of other files start with ``(file)``)."""
    spec = RoutingFile.model_validate(data)
    learned_spec = LearnedFile.model_validate(learned) if learned is not None else None
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
    responsibility: dict[CategoryPath, Responsibility] = {}
    for text, mode in spec.responsibility.items():
        path = parse_path(text)
        if path not in taxonomy:
            raise RoutingConfigError(f"responsibility.{text}", f"{text!r} is not in the taxonomy")
        responsibility[path] = mode
    learned_weights: dict[str, dict[str, float]] = {}
    if learned_spec is not None:
        for first, table in learned_spec.categories.items():
            if (first,) not in taxonomy:
                raise RoutingConfigError(
                    f"(learned.yaml) categories.{first}", f"{first!r} is not a first-level category"
                )
            for word, weight in table.items():
                learned_weights.setdefault(word, {})[first] = weight * learned_spec.scale
                entry(word)
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
    infos: list[KeywordInfo] = []
    for word, (firsts, paths, grades) in words.items():
        weight = spec.history.weight(word) if spec.history is not None else 1.0
        share = weight / len(firsts) if firsts else 0.0
        shares = {f: share for f in firsts}
        for first, value in learned_weights.get(word, {}).items():
            if value > 0:
                shares[first] = round(shares.get(first, 0.0) + value, 3)
        info = KeywordInfo(
            word=word,
            shares=tuple(shares.items()),
            weight=weight,
            paths=tuple(paths),
            urgency=grades[0] if grades else None,
            areas=gazetteer.names.get(word, ()),
            share_of=dict(shares),
            share_text={f: f"{v:g}" for f, v in shares.items()},
            paths_in={f: tuple(p for p in paths if p[0] == f) for f in dict.fromkeys(p[0] for p in paths)},
            special=bool(grades or gazetteer.names.get(word)),
        )
        infos.append(info)
    scanner = Scanner([info.word for info in infos], dfa=True)  # scanned in every decision

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
        parent = network.get(unit.parent) if unit.parent else None
        if (
            len(gazetteer)
            and unit.kind is UnitKind.territorial
            and parent is not None
            and parent.kind is UnitKind.territorial
            and parent.areas
            and not all(any(gazetteer.within(a, p) for p in parent.areas) for a in unit.areas)
        ):
            raise RoutingConfigError(
                f"(units.yaml) {unit.id}.areas", f"not inside the areas of its parent {parent.id!r}"
            )
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
        scanner=scanner,
        keywords=tuple(infos),
        owners={k: tuple(v) for k, v in owners.items()},
        rules=rules,
        rules_for={
            first: tuple(r for r in rules if not r.categories or any(c[0] == first for c in r.categories))
            for first in (*taxonomy.level1, "")
        },
        territory={k: tuple(v) for k, v in territory.items()},
        keyword_count=sum(1 for _, paths, _ in words.values() if paths),
        responsibility=responsibility,
        learned_count=len(learned_weights),
    )

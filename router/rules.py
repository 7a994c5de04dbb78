"""Responsibility rules (``routing.yaml`` ``rules:``): conditions, a priority, and a target.

A rule matches when every condition it states holds (an absent condition always holds):

- ``category``: the appeal's category path starts with one of these paths;
- ``keywords``: ``any`` (one of them), ``all`` (every one), ``none`` (none of them) in subject or text;
- ``area``: the resolved place lies in one of these areas (ids of places.yaml);
- ``channel`` / ``appeal_type`` / ``urgency``: one of these values;
- ``time``: the appeal arrived between ``from`` and ``to`` (local time, may wrap midnight).

Targets: ``unit: <id>``; ``sector`` (the most specific owner of the category in units.yaml);
``territorial`` (the county or district covering the place, or the town or street with ``level: 3``).
The highest priority matching rule whose target yields a unit not excluded wins.
"""

from __future__ import annotations

from collections.abc import Collection, Container, Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from typing import Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, model_validator

from normalizer.schema import AppealType, Urgency
from router.errors import RoutingConfigError
from router.taxonomy import CategoryPath, parse_path


class KeywordCondition(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    any: tuple[str, ...] = Field(default=(), description="At least one of these words.")
    all: tuple[str, ...] = Field(default=(), description="Every one of these words.")
    none: tuple[str, ...] = Field(default=(), description="None of these words.")

    def words(self) -> tuple[str, ...]:
        return (*self.any, *self.all, *self.none)


class TimeWindow(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    start: time = Field(alias="from", description="Local time, e.g. 22:00.")
    end: time = Field(alias="to", description="Local time, e.g. 06:00; before `from` wraps midnight.")

    def contains(self, moment: time) -> bool:
        if self.start <= self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end


class When(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    category: tuple[str, ...] = Field(default=(), description="Taxonomy paths (prefixes).")
    keywords: KeywordCondition | None = None
    area: tuple[str, ...] = Field(default=(), description="Area ids of places.yaml.")
    channel: tuple[str, ...] = Field(default=(), description="Channel ids of channels.yaml.")
    appeal_type: tuple[AppealType, ...] = ()
    urgency: tuple[Urgency, ...] = ()
    time: TimeWindow | None = None


class Target(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    unit: str | None = Field(default=None, description="A unit id of units.yaml.")
    sector: bool = Field(default=False, description="The category's owner.")
    territorial: Literal[2, 3] | None = Field(
        default=None, description="The territorial unit covering the place at this level."
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> Target:
        given = (self.unit is not None) + self.sector + (self.territorial is not None)
        if given != 1:
            raise ValueError("a target is exactly one of `unit: <id>`, `sector: true`, `territorial: 2|3`")
        return self


class RuleSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$", description="Stable id, shown in decisions.")
    description: str = ""
    priority: int = Field(default=50, ge=1, le=1000, description="Higher is tried first.")
    when: When = Field(default_factory=When)
    target: Target
    urgency: Urgency | None = Field(default=None, description="Grade to suggest when the rule applies.")


class Facts(NamedTuple):
    """What the rules look at, for one appeal."""

    category: CategoryPath
    words: frozenset[str]
    area_lineage: tuple[str, ...]
    channel: str | None
    appeal_type: AppealType | None
    urgency: Urgency | None
    at: datetime | None


@dataclass(frozen=True)
class Rule:
    id: str
    priority: int
    spec: RuleSpec
    categories: tuple[CategoryPath, ...]
    keyword_only: bool  # decided by words, not by the scored category: it ignores the threshold
    any_words: frozenset[str]
    all_words: frozenset[str]
    none_words: frozenset[str]

    def matches(self, facts: Facts, offset: timezone) -> bool:
        w = self.spec.when
        if self.categories:  # (a loop, not any(): this runs for every rule of every decision)
            category = facts.category
            for c in self.categories:
                if category[: len(c)] == c:
                    break
            else:
                return False
        if not self.words_match(facts.words):
            return False
        if w.area and not any(a in facts.area_lineage for a in w.area):
            return False
        if w.channel and facts.channel not in w.channel:
            return False
        if w.appeal_type and facts.appeal_type not in w.appeal_type:
            return False
        if w.urgency and facts.urgency not in w.urgency:
            return False
        if w.time is not None:
            if facts.at is None or facts.at.tzinfo is None:
                return False
            if not w.time.contains(facts.at.astimezone(offset).time()):
                return False
        return True

    def words_match(self, words: frozenset[str]) -> bool:
        """The ``keywords`` condition holds for these words found in the appeal."""
        if self.any_words and words.isdisjoint(self.any_words):
            return False
        return self.all_words <= words and words.isdisjoint(self.none_words)

    def describe(self) -> str:
        w = self.spec.when
        parts: list[str] = []
        if w.category:
            parts.append("category " + " or ".join(w.category))
        if w.keywords is not None:
            for name in ("any", "all", "none"):
                words: tuple[str, ...] = getattr(w.keywords, name)
                if words:
                    parts.append(f"keywords {name} of {'、'.join(words)}")
        for name in ("area", "channel", "appeal_type", "urgency"):
            values: tuple[str, ...] = getattr(w, name)
            if values:
                parts.append(f"{name} {' or '.join(str(v) for v in values)}")
        if w.time is not None:
            parts.append(f"time {w.time.start:%H:%M}-{w.time.end:%H:%M}")
        return "; ".join(parts) or "always"


def compile_rules(
    specs: tuple[RuleSpec, ...],
    *,
    in_taxonomy: Container[CategoryPath],
    units: Collection[str],
    areas: Collection[str],
) -> tuple[Rule, ...]:
    """Check every reference of every rule; raise :class:`ValueError` with a ``path`` on the first."""
    seen: set[str] = set()
    rules: list[Rule] = []
    for i, spec in enumerate(specs):
        where = f"rules[{i}]"
        if spec.id in seen:
            raise RoutingConfigError(f"{where}.id", f"rule id {spec.id!r} is used twice")
        seen.add(spec.id)
        categories = tuple(parse_path(c) for c in spec.when.category)
        for j, path in enumerate(categories):
            if path not in in_taxonomy:
                raise RoutingConfigError(
                    f"{where}.when.category[{j}]", f"{spec.when.category[j]!r} is not in the taxonomy"
                )
        for j, area in enumerate(spec.when.area):
            if area not in areas:
                raise RoutingConfigError(f"{where}.when.area[{j}]", f"{area!r} is not an area of places.yaml")
        if spec.target.unit is not None and spec.target.unit not in units:
            raise RoutingConfigError(f"{where}.target.unit", f"{spec.target.unit!r} is not a unit")
        keywords = spec.when.keywords
        keyword_only = not categories and keywords is not None and bool(keywords.any or keywords.all)
        k = keywords or KeywordCondition()
        rules.append(
            Rule(
                spec.id,
                spec.priority,
                spec,
                categories,
                keyword_only,
                frozenset(k.any),
                frozenset(k.all),
                frozenset(k.none),
            )
        )
    rules.sort(key=lambda r: (-r.priority, r.id))
    return tuple(rules)


def local_offset(hours: float) -> timezone:
    return timezone(timedelta(hours=hours))


def by_id(rules: tuple[Rule, ...]) -> Mapping[str, Rule]:
    return {r.id: r for r in rules}

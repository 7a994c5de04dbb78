"""The gazetteer (``config/places.yaml``) and the resolver of the smallest area an appeal names.

Areas form a tree: the city; its counties, districts and development zones (level 2); their towns,
townships and streets (level 3); communities, villages, roads and well-known places below. Every
area has a name and aliases; the resolver finds every name in the address (first) or the text with
one Aho-Corasick scan and returns the smallest area, using the larger areas named beside it to tell
apart places that share a name (怀远县城关镇 / 五河县城关镇). Pure: values in, values out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from router.errors import RoutingConfigError
from router.scan import Scanner

AreaKind = Literal[
    "city", "district", "county", "zone", "street", "town", "township",
    "community", "village", "road", "place",
]  # fmt: skip


LOCAL_KINDS = frozenset({"street", "town", "township"})
"""Level-3 divisions: a town, township or street (乡镇、街道), the level a county passes work down to."""


class PlacesError(RoutingConfigError):
    """A problem in places.yaml."""


class AreaSpec(BaseModel):
    """One area of ``places.yaml``; ``children`` nest the areas it contains."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,80}$", description="Stable id, used by units.yaml.")
    name: str = Field(min_length=2, description="Official name, e.g. 龙子湖区.")
    kind: AreaKind
    aliases: tuple[str, ...] = Field(default=(), description="Other names citizens use.")
    children: tuple[AreaSpec, ...] = ()


class PlacesFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    city: AreaSpec


@dataclass(frozen=True)
class Area:
    id: str
    name: str
    kind: str
    parent: str | None
    depth: int  # 0 for the city


@dataclass(frozen=True)
class Place:
    """A resolved place: the smallest area, the words that named it, and where they were found."""

    area: str
    names: tuple[str, ...]
    source: Literal["address", "text"]
    conflict: tuple[str, ...] = ()  # names of places that contradict each other (left unresolved)


class Gazetteer:
    """Areas by id, with an automaton over every name and alias. Immutable once built."""

    def __init__(self, areas: Iterable[Area], names: Mapping[str, tuple[str, ...]]) -> None:
        self.areas: Mapping[str, Area] = {a.id: a for a in areas}
        self._lineage: dict[str, tuple[str, ...]] = {}
        for area_id in self.areas:
            line: list[str] = []
            current: str | None = area_id
            while current is not None:
                line.append(current)
                current = self.areas[current].parent
            self._lineage[area_id] = tuple(line)
        self.names: Mapping[str, tuple[str, ...]] = dict(names)  # name or alias -> area ids
        self._named = list(names.items())
        self._scanner = Scanner([name for name, _ in self._named])

    def __len__(self) -> int:
        return len(self.areas)

    def __contains__(self, area_id: object) -> bool:
        return area_id in self.areas

    def lineage(self, area_id: str) -> tuple[str, ...]:
        """The area and its ancestors, the area first."""
        return self._lineage[area_id]

    def within(self, area_id: str, ancestor: str) -> bool:
        return ancestor in self.lineage(area_id)

    def path_names(self, area_id: str) -> tuple[str, ...]:
        """Names from below the city down to the area, e.g. ("龙子湖区", "东风街道"); the city's own
        name only when the area is the city."""
        names = tuple(self.areas[a].name for a in reversed(self.lineage(area_id)) if self.areas[a].depth)
        return names or (self.areas[area_id].name,)

    def resolve(self, address: str | None, text: str) -> Place | None:
        """The smallest area named in ``address``, else in ``text``; None when none is named."""
        for source, value in (("address", address), ("text", text)):
            if value:
                place = self.choose(self.find(value), source)  # type: ignore[arg-type]
                if place is not None:
                    return place
        return None

    def find(self, text: str) -> dict[str, tuple[str, ...]]:
        """Every name found in ``text`` -> the ids of the areas of that name."""
        named = self._named
        return dict(named[i] for i in self._scanner.indexes(text))

    def choose(self, hits: Mapping[str, tuple[str, ...]], source: Literal["address", "text"]) -> Place | None:
        """The smallest area among names found (see :meth:`find`), told apart by the others."""
        if not hits:
            return None
        # A name inside a longer name found (城关镇 in 怀远县城关镇) is dropped.
        names = [n for n in hits if not any(n != m and n in m for m in hits)]
        named = {i for n in names for i in hits[n]}
        chosen: dict[str, str] = {}  # area id -> the name that named it
        for name in names:
            ids = hits[name]
            if len(ids) > 1:  # shared name: keep the areas under another named area
                supported = [i for i in ids if any(a in named for a in self.lineage(i)[1:])]
                ids = tuple(supported) if len(supported) == 1 else (self._common(ids),)
            for i in ids:
                chosen.setdefault(i, name)
        ranked = sorted(chosen, key=lambda i: (-self._support(i, chosen), -self.areas[i].depth, i))
        best = ranked[0]
        rivals = [
            i
            for i in ranked[1:]
            if self._support(i, chosen) == self._support(best, chosen)
            and best not in self.lineage(i)
            and i not in self.lineage(best)
        ]
        if rivals:  # two places, neither inside the other, equally supported: never guess
            common = self._common((best, *rivals))
            conflict = tuple(sorted({chosen[i] for i in (best, *rivals)}))
            return Place(area=common, names=(), source=source, conflict=conflict)
        used = tuple(chosen[a] for a in reversed(self.lineage(best)) if a in chosen)
        return Place(area=best, names=used, source=source)

    def _support(self, area_id: str, chosen: Mapping[str, str]) -> int:
        """How many named areas agree with this one (it and its ancestors)."""
        return sum(1 for a in self.lineage(area_id) if a in chosen)

    def _common(self, ids: tuple[str, ...]) -> str:
        lines = [self.lineage(i) for i in ids]
        for a in lines[0]:
            if all(a in line for line in lines[1:]):
                return a
        return lines[0][-1]


def build_gazetteer(data: Mapping[str, Any] | None) -> Gazetteer:
    """Validate ``places.yaml`` (None: an empty gazetteer) and index every name and alias."""
    if data is None:
        return Gazetteer((), {})
    spec = PlacesFile.model_validate(data)
    areas: list[Area] = []
    names: dict[str, list[str]] = {}
    seen: set[str] = set()

    def walk(node: AreaSpec, parent: str | None, depth: int, path: str) -> None:
        if node.id in seen:
            raise PlacesError(f"{path}.id", f"area id {node.id!r} is used twice")
        seen.add(node.id)
        areas.append(Area(node.id, node.name, node.kind, parent, depth))
        for word in dict.fromkeys((node.name, *node.aliases)):
            if len(word) < 2:
                raise PlacesError(f"{path}.aliases", f"{word!r}: a name needs two characters or more")
            names.setdefault(word, []).append(node.id)
        for i, child in enumerate(node.children):
            walk(child, node.id, depth + 1, f"{path}.children[{i}]")

    walk(spec.city, None, 0, "city")
    return Gazetteer(areas, {k: tuple(v) for k, v in names.items()})

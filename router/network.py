"""The three-level network of member units.

Level 1 is the hotline centre (dispatch, supervision, review, the manual queue). Level 2: city
departments, public enterprises, counties and districts. Level 3: towns and streets under a county or
district, and departments' secondary units. A unit is ``sector`` (responsible for what an appeal is
about) or ``territorial`` (responsible for where it happened); the centre is ``centre``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl


class UnitKind(StrEnum):
    centre = "centre"
    sector = "sector"
    territorial = "territorial"


class Unit(BaseModel):
    """One member unit, as configured in ``config/units.yaml``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$", description="Stable id, used in URLs.")
    name: str = Field(min_length=2, description="Official name, e.g. 蚌埠市住房和城乡建设局.")
    level: Literal[1, 2, 3]
    parent: str | None = Field(default=None, description="Id of the level above; none for level 1.")
    kind: UnitKind
    areas: tuple[str, ...] = Field(
        default=(), description="Area ids it covers (territorial) or serves (sector, empty = city)."
    )
    sectors: tuple[str, ...] = Field(
        default=(), description="First-level taxonomy categories it is responsible for."
    )
    webhook: HttpUrl | None = Field(default=None, description="Where its deliveries are POSTed.")
    delivery: Literal["push", "pull"] = Field(
        default="push", description="push: webhook deliveries; pull: the unit polls its inbox."
    )


class NetworkError(ValueError):
    """The units do not form a valid three-level network."""


class Network:
    """Units indexed by id, with their children. Immutable once built."""

    def __init__(self, units: Iterable[Unit]) -> None:
        by_id: dict[str, Unit] = {}
        for unit in units:
            if unit.id in by_id:
                raise NetworkError(f"unit {unit.id!r} is defined twice")
            by_id[unit.id] = unit
        children: dict[str, list[str]] = {unit_id: [] for unit_id in by_id}
        centres = [u for u in by_id.values() if u.level == 1]
        if len(centres) != 1:
            raise NetworkError(f"exactly one level-1 unit (the centre) is needed, found {len(centres)}")
        for unit in by_id.values():
            if unit.level == 1:
                if unit.parent is not None:
                    raise NetworkError(f"unit {unit.id!r}: the level-1 centre has no parent")
                continue
            if unit.parent is None or unit.parent not in by_id:
                raise NetworkError(f"unit {unit.id!r}: parent {unit.parent!r} is not a unit")
            parent = by_id[unit.parent]
            if parent.level != unit.level - 1:
                raise NetworkError(
                    f"unit {unit.id!r} (level {unit.level}) has parent {parent.id!r} "
                    f"of level {parent.level}; a parent is one level up"
                )
            if unit.delivery == "push" and unit.webhook is None:
                raise NetworkError(f"unit {unit.id!r}: push delivery needs a webhook")
            children[unit.parent].append(unit.id)
        self.centre: Unit = centres[0]
        self.units: Mapping[str, Unit] = MappingProxyType(by_id)
        self._children = {k: tuple(v) for k, v in children.items()}

    def __len__(self) -> int:
        return len(self.units)

    def __contains__(self, unit_id: object) -> bool:
        return unit_id in self.units

    def get(self, unit_id: str) -> Unit | None:
        return self.units.get(unit_id)

    def children(self, unit_id: str) -> tuple[str, ...]:
        return self._children.get(unit_id, ())

    def is_under(self, child_id: str, parent_id: str) -> bool:
        child = self.units.get(child_id)
        return child is not None and child.parent == parent_id

"""The appeal taxonomy: three levels of category names (e.g. 城乡建设 / 城市建设和市政管理 / 燃气供应)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

CategoryPath = tuple[str, ...]


def parse_path(text: str) -> CategoryPath:
    """ "城乡建设/城市建设和市政管理" -> ("城乡建设", "城市建设和市政管理")."""
    return tuple(part.strip() for part in text.split("/") if part.strip())


class Taxonomy:
    """Every full path and every prefix of one; immutable."""

    def __init__(self, rows: Iterable[CategoryPath]) -> None:
        prefixes: set[CategoryPath] = set()
        order: list[str] = []
        for row in rows:
            for depth in range(1, len(row) + 1):
                prefixes.add(row[:depth])
            if row and row[0] not in order:
                order.append(row[0])
        if not order:
            raise ValueError("the taxonomy is empty")
        self._paths = frozenset(prefixes)
        self.level1: tuple[str, ...] = tuple(order)

    @classmethod
    def from_csv(cls, text: str) -> Taxonomy:
        reader = csv.reader(io.StringIO(text))
        header = next(reader, None)
        if header is None or [h.strip() for h in header[:3]] != ["level1", "level2", "level3"]:
            raise ValueError("expected the header level1,level2,level3")
        return cls(tuple(cell.strip() for cell in row if cell.strip()) for row in reader if row)

    def __contains__(self, path: object) -> bool:
        return path in self._paths

    def __len__(self) -> int:
        return len(self._paths)

"""The router's configuration error: every problem names the path of the offending entry."""

from __future__ import annotations


class RoutingConfigError(ValueError):
    """A routing, places or units configuration problem at ``path`` (e.g. ``rules[2].target.unit``)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.path = path

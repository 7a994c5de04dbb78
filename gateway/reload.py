"""Live routing changes: the routing configuration (routing.yaml, places.yaml, units.yaml, the
taxonomy) is re-read when its files change, or when an operator asks; a valid one replaces the
router without a restart, an invalid one is refused while the old one keeps serving."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import structlog

from gateway.config import Config, load_config
from gateway.errors import ConfigError

ROUTING_FILES = ("routing.yaml", "places.yaml", "learned.yaml", "units.yaml", "taxonomy.csv")
log = structlog.get_logger("reload")


@dataclass(frozen=True)
class ReloadResult:
    applied: bool
    problems: tuple[str, ...] = ()


def fingerprint(directory: Path) -> tuple[tuple[str, int, int], ...]:
    out = []
    for name in ROUTING_FILES:
        try:
            stat = (directory / name).stat()
            out.append((name, stat.st_mtime_ns, stat.st_size))
        except FileNotFoundError:
            out.append((name, 0, -1))
    return tuple(out)


class RoutingReloader:
    def __init__(
        self,
        get: Callable[[], Config],
        put: Callable[[Config], None],
        kinds: Mapping[str, type],
        env: Mapping[str, str],
    ) -> None:
        self.get, self.put, self.kinds, self.env = get, put, kinds, env
        self._seen = fingerprint(get().source)

    def reload(self) -> ReloadResult:
        current = self.get()
        self._seen = fingerprint(current.source)
        try:
            fresh = load_config(current.source, kinds=self.kinds, env=self.env)
        except ConfigError as e:
            log.error("config.reload_refused", problems=e.problems)
            return ReloadResult(applied=False, problems=tuple(e.problems))
        self.put(dataclasses.replace(current, router=fresh.router, network=fresh.network))
        log.info("config.reloaded", units=len(fresh.network), keywords=fresh.router.keyword_count)
        return ReloadResult(applied=True)

    async def watch(self, interval: float = 2.0) -> None:
        while True:
            await asyncio.sleep(interval)
            if fingerprint(self.get().source) != self._seen:
                # load_config reads a few small files: fast enough to run on the loop
                self.reload()

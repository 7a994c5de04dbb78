"""Lua scripts called with named keys and named arguments.

A script's source starts with a prelude that names them (``K.appeal`` is the key named ``appeal``,
``A.event`` the argument named ``event``) and defines two helpers:

- ``hset_map(key, json)``: HSET every field of a JSON object of strings.
- ``key_of(template, id)``: a key from a template holding ``{}`` (e.g. ``Keys.unit_health("{}")``).

**Group commit.** Calls of one script that start while an earlier call of it is still on its way to
Redis wait for it and then go together, in one pipeline of ``EVALSHA`` (one round trip, one
connection, one write): under load each caller pays a fraction of the client's cost per command,
and a lone call goes at once. Each call is still its own script (atomic on its own) and each caller
still waits for its own reply, so an answer never precedes its durable write.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any, cast

import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline
from redis.exceptions import NoScriptError

Value = str | int | float | bytes

_HELPERS = """
local function key_of(template, id)
  local i = string.find(template, '{}', 1, true)
  return string.sub(template, 1, i - 1) .. id .. string.sub(template, i + 2)
end
local function hset_map(key, json)
  local flat = {}
  for f, v in pairs(cjson.decode(json)) do flat[#flat + 1] = f; flat[#flat + 1] = v end
  if #flat > 0 then redis.call('HSET', key, unpack(flat)) end
end
"""


class Script:
    """A Lua script whose keys and arguments are named; called with exactly those names (also
    queued on a pipeline, given as ``client``)."""

    def __init__(self, redis: aioredis.Redis, keys: Sequence[str], args: Sequence[str], body: str) -> None:
        self.key_names = tuple(keys)
        self.arg_names = tuple(args)
        k = ", ".join(f"{name} = KEYS[{i}]" for i, name in enumerate(self.key_names, 1))
        a = ", ".join(f"{name} = ARGV[{i}]" for i, name in enumerate(self.arg_names, 1))
        self.source = f"local K = {{{k}}}\nlocal A = {{{a}}}\n{_HELPERS}\n{body}"
        self._script = redis.register_script(self.source)
        self._redis = redis
        self._waiting: list[tuple[list[Value], asyncio.Future[Any]]] = []
        self._in_flight = False
        self._sending: set[asyncio.Task[None]] = set()

    async def __call__(self, keys: Mapping[str, str], args: Mapping[str, Value], client: Any = None) -> Any:
        if set(keys) != set(self.key_names) or set(args) != set(self.arg_names):
            raise TypeError(
                f"script wants keys {self.key_names} and args {self.arg_names}, "
                f"got {tuple(keys)} and {tuple(args)}"
            )
        values: list[Value] = [keys[n] for n in self.key_names] + [args[n] for n in self.arg_names]
        if client is not None:
            return await self._one(values, client)
        if not self._in_flight:
            self._in_flight = True
            try:
                (reply,) = await self._run([values])
            finally:
                self._next()
            return reply
        waiting: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiting.append((values, waiting))
        return await waiting

    def _next(self) -> None:
        """Send the calls that waited meanwhile as one group; when it is answered, the next."""
        group = [(values, f) for values, f in self._waiting if not f.done()]  # not the cancelled
        self._waiting = []
        if not group:
            self._in_flight = False
            return
        task = asyncio.ensure_future(self._send(group))
        self._sending.add(task)
        task.add_done_callback(self._sent)

    def _sent(self, task: asyncio.Task[None]) -> None:
        self._sending.discard(task)
        self._next()

    async def _send(self, group: list[tuple[list[Value], asyncio.Future[Any]]]) -> None:
        try:
            replies = await self._run([values for values, _ in group])
        except asyncio.CancelledError:
            for _, future in group:
                future.cancel()
            raise
        except Exception as e:  # the round trip failed: every caller hears it
            replies = [e] * len(group)
        for (_, future), reply in zip(group, replies, strict=True):
            if future.done():
                continue
            if isinstance(reply, BaseException):
                future.set_exception(reply)
            else:
                future.set_result(reply)

    async def _run(self, group: list[list[Value]]) -> list[Any]:
        """Each call's reply, or the error it raised, in order: one pipeline for several calls."""
        if len(group) == 1:
            return [await self._one(group[0])]
        async with self._redis.pipeline(transaction=False) as pipe:
            for values in group:
                pipe.evalsha(self._script.sha, len(self.key_names), *values)
            replies: list[Any] = await pipe.execute(raise_on_error=False)
        for i, reply in enumerate(replies):
            if isinstance(reply, NoScriptError):  # Redis restarted or flushed its scripts
                replies[i] = await self._one(group[i])
        return replies

    async def _one(self, values: list[Value], client: Any = None) -> Any:
        n = len(self.key_names)
        if client is not None and not isinstance(client, Pipeline):
            # A cluster's pipeline cannot load the script before it runs (a single Redis's does):
            # the call goes with its source, which Redis caches as it runs it.
            return await client.eval(self.source, n, *values)
        return await self._script(keys=cast(list[str], values[:n]), args=values[n:], client=client)

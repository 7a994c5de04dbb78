"""Lua scripts called with named keys and named arguments.

A script's source starts with a prelude that names them (``K.appeal`` is the key named ``appeal``,
``A.event`` the argument named ``event``) and defines two helpers:

- ``hset_map(key, json)``: HSET every field of a JSON object of strings.
- ``key_of(template, id)``: a key from a template holding ``{}`` (e.g. ``Keys.unit_health("{}")``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import redis.asyncio as aioredis

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

    async def __call__(self, keys: Mapping[str, str], args: Mapping[str, Value], client: Any = None) -> Any:
        if set(keys) != set(self.key_names) or set(args) != set(self.arg_names):
            raise TypeError(
                f"script wants keys {self.key_names} and args {self.arg_names}, "
                f"got {tuple(keys)} and {tuple(args)}"
            )
        return await self._script(
            keys=[keys[n] for n in self.key_names], args=[args[n] for n in self.arg_names], client=client
        )

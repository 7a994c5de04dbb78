"""Scripts with named keys and arguments, and their group commit: calls that start while one is on
its way to Redis go together in one pipeline, each still answered with its own reply or error."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from gateway.lua import Script
from gateway.store import Keys, text

TAKE = """
if A.item == 'bad' then return redis.error_reply('bad item') end
local n = redis.call('INCR', K.counter)
redis.call('HSET', K.owner, n, A.item)
return n
"""


async def test_concurrent_calls_each_get_their_own_reply_and_error(redis: aioredis.Redis, keys: Keys) -> None:
    script = Script(redis, ("counter", "owner"), ("item",), TAKE)
    names = {"counter": keys.k("n"), "owner": keys.k("owner")}
    items = [f"item-{i}" for i in range(60)]
    items[17] = "bad"
    replies = await asyncio.gather(
        *(script(keys=names, args={"item": item}) for item in items), return_exceptions=True
    )
    assert isinstance(replies[17], ResponseError) and "bad item" in str(replies[17])
    taken = {int(n): item for n, item in zip(replies, items, strict=True) if not isinstance(n, BaseException)}
    assert sorted(taken) == list(range(1, 60))  # every call ran once, the bad one not at all
    stored = {int(k): text(v) for k, v in (await redis.hgetall(names["owner"])).items()}
    assert stored == taken  # each caller got the number its own call took

"""Singletons across processes: a lease in Redis that one process holds at a time.

The holder renews it every third of its time to live; a process that dies (even by ``kill -9``)
stops renewing, and another process takes the lease over once it runs out. The singletons of a
gateway (the health checker with its overdue sweep, the poller kinds' adapters: feeds and the
mailbox) run only in the process holding the ``singletons`` lease.
"""

from __future__ import annotations

import os
import socket
import uuid

import redis.asyncio as aioredis

from gateway.lua import Script

TTL_SECONDS = 10.0

_TAKE = (
    ("lease",),
    ("owner", "ttl_ms"),
    """
if redis.call('GET', K.lease) == A.owner then
  redis.call('PEXPIRE', K.lease, A.ttl_ms)
  return 1
end
if redis.call('SET', K.lease, A.owner, 'NX', 'PX', A.ttl_ms) then return 1 end
return 0
""",
)

_GIVE_UP = (
    ("lease",),
    ("owner",),
    """
if redis.call('GET', K.lease) == A.owner then return redis.call('DEL', K.lease) end
return 0
""",
)


def process_name() -> str:
    """This process among the gateway's processes: host and pid (consumer names, lease owners)."""
    return f"{socket.gethostname()}-{os.getpid()}"


class Lease:
    def __init__(self, redis: aioredis.Redis, key: str, ttl: float = TTL_SECONDS) -> None:
        self.key = key
        self.ttl = ttl
        self.owner = f"{process_name()}-{uuid.uuid4().hex[:6]}"  # two runtimes in one process differ
        self._take = Script(redis, *_TAKE)
        self._give_up = Script(redis, *_GIVE_UP)

    async def hold(self) -> bool:
        """Take the lease if it is free, renew it if it is ours; whether we hold it now."""
        got = await self._take(
            keys={"lease": self.key}, args={"owner": self.owner, "ttl_ms": int(self.ttl * 1000)}
        )
        return bool(got)

    async def release(self) -> None:
        await self._give_up(keys={"lease": self.key}, args={"owner": self.owner})

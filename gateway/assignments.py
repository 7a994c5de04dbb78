"""Giving an appeal to a unit (the router, an operator, a level-2 unit passing it down, a reopening)
or to the centre's manual queue. Each is one Lua script: state, history and the delivery are written
together or not at all.

A delivery's id is ``msg_<appeal no>_<n>`` where ``n`` counts the appeal's assignments: stable on
every retry, and new for each new assignment. Push units get it on the delivery schedule; pull units
(``delivery: pull``) find it in their inbox.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import redis.asyncio as aioredis

from gateway.delivery.sender import EVENT_ASSIGNED
from gateway.errors import Conflict, NotFound
from gateway.lifecycle import State
from gateway.store import Keys, text
from router.network import Network

_ASSIGN = """
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return {-1, ''} end
local ok = false
for _, s in ipairs(cjson.decode(ARGV[1])) do if s == state then ok = true end end
if not ok then return {0, state} end
if ARGV[14] ~= '' and redis.call('HGET', KEYS[1], 'unit') ~= ARGV[14] then return {-2, state} end
local n = redis.call('HINCRBY', KEYS[1], 'assignments', 1)
local delivery_id = 'msg_' .. ARGV[13] .. '_' .. n
redis.call('HSET', KEYS[1], 'state', ARGV[15], 'unit', ARGV[2], 'supervisor', ARGV[3],
           'updated_at', ARGV[5])
if ARGV[7] ~= '' then redis.call('HSET', KEYS[1], 'appeal', ARGV[7]) end
if ARGV[8] ~= '' then redis.call('HSET', KEYS[1], 'decision', ARGV[8]) end
if ARGV[16] ~= '' then redis.call('HSET', KEYS[1], 'deadlines', ARGV[16]) end
redis.call('ZREM', KEYS[4], ARGV[13])
local seq = redis.call('RPUSH', KEYS[2], ARGV[4])
redis.call('XADD', KEYS[6], '*', 'appeal_no', ARGV[13], 'seq', seq, 'event', ARGV[4])
redis.call('HSET', ARGV[11] .. delivery_id, 'appeal_no', ARGV[13], 'unit', ARGV[2], 'attempts', 0,
           'status', 'pending', 'created_at', ARGV[5], 'assignment', ARGV[9], 'event_type', ARGV[12])
if ARGV[10] == '1' then
  redis.call('ZADD', KEYS[5], ARGV[6], delivery_id)
else
  redis.call('ZADD', KEYS[3], ARGV[6], delivery_id)
end
return {1, delivery_id}
"""

_MANUAL = """
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return {-1, ''} end
local ok = false
for _, s in ipairs(cjson.decode(ARGV[1])) do if s == state then ok = true end end
if not ok then return {0, state} end
redis.call('HSET', KEYS[1], 'state', 'manual', 'unit', '', 'supervisor', '', 'updated_at', ARGV[3])
if ARGV[5] ~= '' then redis.call('HSET', KEYS[1], 'appeal', ARGV[5]) end
if ARGV[6] ~= '' then redis.call('HSET', KEYS[1], 'decision', ARGV[6]) end
local seq = redis.call('RPUSH', KEYS[2], ARGV[2])
redis.call('XADD', KEYS[4], '*', 'appeal_no', ARGV[7], 'seq', seq, 'event', ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[7])
return {1, ''}
"""


@dataclass(frozen=True)
class Assigned:
    delivery_id: str


class Assignments:
    def __init__(
        self, redis: aioredis.Redis, keys: Keys, network: Callable[[], Network], clock: Callable[[], datetime]
    ) -> None:
        self.redis = redis
        self.keys = keys
        self.network = network
        self.clock = clock
        self.on_event: Callable[[str, str], None] = lambda _appeal_no, _event: None
        self._assign = redis.register_script(_ASSIGN)
        self._manual = redis.register_script(_MANUAL)

    async def assign(
        self,
        appeal_no: str,
        unit_id: str,
        *,
        allowed: Iterable[State],
        event: str,
        assignment: dict[str, Any],
        supervisor: str | None = None,
        expect_unit: str | None = None,
        to: State = State.dispatched,
        event_type: str = EVENT_ASSIGNED,
        appeal_json: str = "",
        decision_json: str = "",
        deadlines_json: str = "",
    ) -> Assigned:
        """Assign and schedule the delivery. Raises NotFound, or Conflict with the current state."""
        unit = self.network().get(unit_id)
        if unit is None:
            raise NotFound(f"no unit {unit_id}")
        now = self.clock()
        code, value = await self._assign(
            keys=[
                self.keys.appeal(appeal_no),
                self.keys.history(appeal_no),
                self.keys.delivery_schedule,
                self.keys.manual_queue,
                self.keys.inbox(unit_id),
                self.keys.events,
            ],
            args=[
                json.dumps(sorted(allowed)),
                unit_id,
                supervisor or "",
                event,
                now.isoformat(),
                now.timestamp(),
                appeal_json,
                decision_json,
                json.dumps(assignment, ensure_ascii=False),
                "1" if unit.delivery == "pull" else "0",
                self.keys.delivery(""),
                event_type,
                appeal_no,
                expect_unit or "",
                to.value,
                deadlines_json,
            ],
        )
        if code == -1:
            raise NotFound(f"no appeal {appeal_no}")
        if code == -2:
            raise NotFound(f"appeal {appeal_no} is not assigned to {expect_unit}")
        if code == 0:
            raise Conflict(f"not allowed in state {text(value)!r}", state=text(value))
        self.on_event(appeal_no, event)
        return Assigned(text(value))

    async def to_manual(
        self,
        appeal_no: str,
        *,
        allowed: Iterable[State],
        event: str,
        appeal_json: str = "",
        decision_json: str = "",
    ) -> bool:
        now = self.clock()
        code, _state = await self._manual(
            keys=[
                self.keys.appeal(appeal_no),
                self.keys.history(appeal_no),
                self.keys.manual_queue,
                self.keys.events,
            ],
            args=[
                json.dumps(sorted(allowed)),
                event,
                now.isoformat(),
                now.timestamp(),
                appeal_json,
                decision_json,
                appeal_no,
            ],
        )
        if code == -1:
            raise NotFound(f"no appeal {appeal_no}")
        return bool(code == 1)

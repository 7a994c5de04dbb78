"""The loop's Lua scripts, each called with named keys and named arguments (:class:`gateway.lua.Script`).

Every write that must be all-or-nothing is one script, so a crash never leaves half a step. Beside
the generic helpers of :mod:`gateway.lua`, every loop script has these:

- ``append(no, event)``: RPUSH the event to ``K.history`` and, in the same script, ``XADD
  K.events * appeal_no <no> seq <n> event <json>`` where ``n`` is what RPUSH returned (the
  loop-events stream the SQL recorder consumes; one entry per history append, always).
- ``index_deadline(no, state)``: keep the overdue index (``K.deadlines``) on the deadline the
  appeal waits on in ``state`` (``sign_by_ts`` / ``reply_by_ts`` of the record), or drop it.
- ``allowed(state)``: whether ``state`` is one of the JSON list ``A.allowed``.
- ``ack()``: a dispatch step acknowledges its intake entry ``A.entry`` (consumer group ``A.group``)
  in the same script: XACK, XDEL and its attempt count; nothing when ``A.entry`` is empty.
"""

from __future__ import annotations

import redis.asyncio as aioredis

from gateway.loop.states import WAITS_ON
from gateway.lua import Script

_WAITS_ON = ", ".join(f"{state.value} = '{name}_ts'" for state, name in WAITS_ON.items())
_LOOP_HELPERS = f"""
local function append(no, event)
  local n = redis.call('RPUSH', K.history, event)
  redis.call('XADD', K.events, '*', 'appeal_no', no, 'seq', n, 'event', event)
  return n
end
local WAITS_ON = {{{_WAITS_ON}}}
local function index_deadline(no, state)
  local field = WAITS_ON[state]
  local due = field and redis.call('HGET', K.appeal, field)
  if due then redis.call('ZADD', K.deadlines, due, no) else redis.call('ZREM', K.deadlines, no) end
end
local function allowed(state)
  for _, s in ipairs(cjson.decode(A.allowed)) do if s == state then return true end end
  return false
end
local function ack()
  if A.entry ~= '' then
    redis.call('XACK', K.intake, A.group, A.entry)
    redis.call('XDEL', K.intake, A.entry)
    redis.call('HDEL', K.attempts, A.entry)
  end
end
"""


def _loop(
    keys: tuple[str, ...], args: tuple[str, ...], body: str
) -> tuple[tuple[str, ...], tuple[str, ...], str]:
    return keys, args, _LOOP_HELPERS + body


RESERVE = _loop(
    ("dedup", "seq"),
    (),
    """
local existing = redis.call('GET', K.dedup)
if existing then return {existing, 1} end
return {redis.call('INCR', K.seq), 0}
""",
)

STORE = _loop(
    ("dedup", "appeal", "history", "events", "raw", "intake", "held", "thread"),
    ("no", "appeal", "raw", "event", "channel", "at", "release_at", "hold_ms"),
    """
local existing = redis.call('GET', K.dedup)
if existing then return {existing, 1} end
redis.call('SET', K.dedup, A.no)
redis.call('HSET', K.appeal, 'appeal', A.appeal, 'state', 'accepted', 'unit', '',
           'channel', A.channel, 'updated_at', A.at, 'version', 1)
append(A.no, A.event)
redis.call('SET', K.raw, A.raw)
if A.release_at == '' then
  redis.call('XADD', K.intake, '*', 'appeal_no', A.no)
else
  redis.call('ZADD', K.held, A.release_at, A.no)
  redis.call('SET', K.thread, A.no, 'PX', A.hold_ms)
  redis.call('HSET', K.appeal, 'thread_key', K.thread)
end
return {A.no, 0}
""",
)

MERGE = _loop(
    ("dedup", "appeal", "history", "events", "raw_more", "held", "thread"),
    ("no", "version", "appeal", "event", "raw", "release_at", "hold_ms", "at"),
    """
local existing = redis.call('GET', K.dedup)
if existing then return {existing, 1} end
if not redis.call('ZSCORE', K.held, A.no) then return {'', 2} end
if redis.call('HGET', K.appeal, 'version') ~= A.version then return {'', 3} end
redis.call('SET', K.dedup, A.no)
redis.call('HSET', K.appeal, 'appeal', A.appeal, 'updated_at', A.at)
redis.call('HINCRBY', K.appeal, 'version', 1)
append(A.no, A.event)
redis.call('RPUSH', K.raw_more, A.raw)
redis.call('ZADD', K.held, 'GT', A.release_at, A.no)
redis.call('SET', K.thread, A.no, 'PX', A.hold_ms)
return {A.no, 0}
""",
)

ADD = _loop(
    ("dedup", "appeal", "history", "events", "raw_more"),
    ("no", "event", "raw", "at"),
    """
local existing = redis.call('GET', K.dedup)
if existing then return {existing, 1} end
if redis.call('EXISTS', K.appeal) == 0 then return {'', 2} end
redis.call('SET', K.dedup, A.no)
redis.call('HSET', K.appeal, 'updated_at', A.at)
append(A.no, A.event)
redis.call('RPUSH', K.raw_more, A.raw)
return {A.no, 0}
""",
)

RELEASE = _loop(
    ("held", "intake"),
    ("now", "limit", "appeal_prefix"),
    """
local ids = redis.call('ZRANGEBYSCORE', K.held, '-inf', A.now, 'LIMIT', 0, tonumber(A.limit))
for _, no in ipairs(ids) do
  redis.call('ZREM', K.held, no)
  local thread = redis.call('HGET', A.appeal_prefix .. no, 'thread_key')
  if thread and redis.call('GET', thread) == no then redis.call('DEL', thread) end
  redis.call('XADD', K.intake, '*', 'appeal_no', no)
end
return #ids
""",
)

RECORD = _loop(
    ("history", "events"),
    ("no", "event"),
    """
return append(A.no, A.event)
""",
)

# The same, once per appeal: only when the record's field ``A.once`` is not yet set (it is set in
# the same script), and never for an appeal the store no longer holds. 0: already recorded.
RECORD_ONCE = _loop(
    ("appeal", "history", "events"),
    ("no", "event", "once"),
    """
if redis.call('EXISTS', K.appeal) == 0 then return 0 end
if redis.call('HSETNX', K.appeal, A.once, '1') == 0 then return 0 end
return append(A.no, A.event)
""",
)

# A step that assigns nobody: check, set fields, append, (requeue: back on the intake stream).
TRANSITION = _loop(
    ("appeal", "history", "events", "intake", "deadlines"),
    ("no", "allowed", "to", "unit", "event", "at", "fields", "requeue"),
    """
local state = redis.call('HGET', K.appeal, 'state')
if not state then return {-1, ''} end
if A.unit ~= '' and redis.call('HGET', K.appeal, 'unit') ~= A.unit then return {-2, state} end
if not allowed(state) then return {0, state} end
local to = A.to ~= '' and A.to or state
redis.call('HSET', K.appeal, 'state', to, 'updated_at', A.at)
hset_map(K.appeal, A.fields)
append(A.no, A.event)
index_deadline(A.no, to)
if A.requeue == '1' then redis.call('XADD', K.intake, '*', 'appeal_no', A.no) end
return {1, state}
""",
)

# Giving the appeal to a unit: state, history and the new delivery together. The delivery id is
# ``msg_<appeal no>_<n>``, ``n`` counting the appeal's assignments; its fields come from
# ``gateway.delivery.queue.new_delivery`` (the delivery record's one owner). Its answer also says
# whether the appeal is under supervision as the script ran (a supervision the caller read too early
# is then told to the unit after: ``Briefing.supervised_since``).
ASSIGN = _loop(
    (
        "appeal",
        "history",
        "events",
        "schedule",
        "manual",
        "inbox",
        "pending",
        "deadlines",
        "intake",
        "attempts",
    ),
    (
        "no",
        "allowed",
        "to",
        "unit",
        "supervisor",
        "expect_unit",
        "event",
        "at",
        "due",
        "fields",
        "delivery",
        "delivery_prefix",
        "pull",
        "group",
        "entry",
    ),
    """
local state = redis.call('HGET', K.appeal, 'state')
if not state then return {-1, ''} end
if not allowed(state) then ack() return {0, state} end
if A.expect_unit ~= '' and redis.call('HGET', K.appeal, 'unit') ~= A.expect_unit then
  return {-2, state}
end
local n = redis.call('HINCRBY', K.appeal, 'assignments', 1)
local delivery_id = 'msg_' .. A.no .. '_' .. n
redis.call('HSET', K.appeal, 'state', A.to, 'unit', A.unit, 'supervisor', A.supervisor,
           'updated_at', A.at)
hset_map(K.appeal, A.fields)
redis.call('ZREM', K.manual, A.no)
append(A.no, A.event)
index_deadline(A.no, A.to)
hset_map(A.delivery_prefix .. delivery_id, A.delivery)
if A.pull == '1' then
  redis.call('ZADD', K.inbox, A.due, delivery_id)
else
  redis.call('ZADD', K.schedule, A.due, delivery_id)
  redis.call('ZADD', K.pending, A.due, delivery_id)
end
ack()
return {1, delivery_id, redis.call('HGET', K.appeal, 'supervised') or ''}
""",
)

MANUAL = _loop(
    ("appeal", "history", "events", "manual", "deadlines", "intake", "attempts"),
    ("no", "allowed", "event", "at", "since", "fields", "group", "entry"),
    """
local state = redis.call('HGET', K.appeal, 'state')
if not state then return {-1, ''} end
if not allowed(state) then ack() return {0, state} end
redis.call('HSET', K.appeal, 'state', 'manual', 'unit', '', 'supervisor', '', 'updated_at', A.at)
hset_map(K.appeal, A.fields)
append(A.no, A.event)
index_deadline(A.no, 'manual')
redis.call('ZADD', K.manual, A.since, A.no)
ack()
return {1, ''}
""",
)


class Scripts:
    """The loop's scripts, registered on one client."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self.reserve = Script(redis, *RESERVE)
        self.store = Script(redis, *STORE)
        self.merge = Script(redis, *MERGE)
        self.add = Script(redis, *ADD)
        self.release = Script(redis, *RELEASE)
        self.record = Script(redis, *RECORD)
        self.record_once = Script(redis, *RECORD_ONCE)
        self.transition = Script(redis, *TRANSITION)
        self.assign = Script(redis, *ASSIGN)
        self.manual = Script(redis, *MANUAL)

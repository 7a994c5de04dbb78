"""Appeal records in Redis: durable intake (dedup, number, store, enqueue) and state changes.

Every write that must be all-or-nothing is one Lua script, so a crash never leaves half an appeal.

``hl:appeal:<no>``   hash: appeal (JSON), state, unit, channel, category, decision, updated_at
``hl:history:<no>``  list of immutable history events (JSON), oldest first
``hl:raw:<no>``      the raw payload, for audit
``hl:dedup:<channel>:<external id>`` -> appeal number
``hl:intake``        stream of appeal numbers waiting to be routed (consumer group ``router``)
``hl:events``        stream of every history event appended (appeal_no, seq, event), for the recorder
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import redis.asyncio as aioredis
from pydantic import ValidationError
from redis.exceptions import RedisError

from adapters.base import AppealStatus, InboundMessage, Receipt
from gateway.errors import BadRequest, NotFound, StorageUnavailable
from gateway.lifecycle import State
from gateway.store import Keys, decode_hash, text
from normalizer import Appeal, RawRef, appeal_day, format_appeal_no, merge, normalize
from router.network import Network

_STORE = """
local existing = redis.call('GET', KEYS[1])
if existing then return {existing, 1} end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[2], 'appeal', ARGV[2], 'state', 'accepted', 'unit', '',
           'channel', ARGV[5], 'updated_at', ARGV[6], 'version', 1)
local seq = redis.call('RPUSH', KEYS[3], ARGV[4])
redis.call('XADD', KEYS[8], '*', 'appeal_no', ARGV[1], 'seq', seq, 'event', ARGV[4])
redis.call('SET', KEYS[4], ARGV[3])
if ARGV[7] == '' then
  redis.call('XADD', KEYS[5], '*', 'appeal_no', ARGV[1])
else
  redis.call('ZADD', KEYS[6], ARGV[7], ARGV[1])
  redis.call('SET', KEYS[7], ARGV[1], 'PX', ARGV[8])
  redis.call('HSET', KEYS[2], 'thread_key', KEYS[7])
end
return {ARGV[1], 0}
"""

_MERGE = """
local existing = redis.call('GET', KEYS[1])
if existing then return {existing, 1} end
if not redis.call('ZSCORE', KEYS[5], ARGV[1]) then return {'', 2} end
if redis.call('HGET', KEYS[2], 'version') ~= ARGV[2] then return {'', 3} end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[2], 'appeal', ARGV[3], 'updated_at', ARGV[8])
redis.call('HINCRBY', KEYS[2], 'version', 1)
local seq = redis.call('RPUSH', KEYS[3], ARGV[4])
redis.call('XADD', KEYS[7], '*', 'appeal_no', ARGV[1], 'seq', seq, 'event', ARGV[4])
redis.call('RPUSH', KEYS[4], ARGV[5])
redis.call('ZADD', KEYS[5], 'GT', ARGV[6], ARGV[1])
redis.call('SET', KEYS[6], ARGV[1], 'PX', ARGV[7])
return {ARGV[1], 0}
"""

_ADD = """
local existing = redis.call('GET', KEYS[1])
if existing then return {existing, 1} end
if redis.call('EXISTS', KEYS[2]) == 0 then return {'', 2} end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[2], 'updated_at', ARGV[4])
local seq = redis.call('RPUSH', KEYS[3], ARGV[2])
redis.call('XADD', KEYS[5], '*', 'appeal_no', ARGV[1], 'seq', seq, 'event', ARGV[2])
redis.call('RPUSH', KEYS[4], ARGV[3])
return {ARGV[1], 0}
"""

_RELEASE = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, no in ipairs(ids) do
  redis.call('ZREM', KEYS[1], no)
  local thread = redis.call('HGET', ARGV[3] .. no, 'thread_key')
  if thread and redis.call('GET', thread) == no then redis.call('DEL', thread) end
  redis.call('XADD', KEYS[2], '*', 'appeal_no', no)
end
return #ids
"""

_RECORD = """
local seq = redis.call('RPUSH', KEYS[1], ARGV[2])
redis.call('XADD', KEYS[2], '*', 'appeal_no', ARGV[1], 'seq', seq, 'event', ARGV[2])
"""

_TRANSITION = """
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return {-1, ''} end
if ARGV[4] ~= '' and redis.call('HGET', KEYS[1], 'unit') ~= ARGV[4] then return {-2, state} end
local ok = false
for _, s in ipairs(cjson.decode(ARGV[5])) do if s == state then ok = true end end
if not ok then return {0, state} end
if ARGV[1] ~= '' then redis.call('HSET', KEYS[1], 'state', ARGV[1]) end
redis.call('HSET', KEYS[1], 'updated_at', ARGV[3])
for i = 8, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
local seq = redis.call('RPUSH', KEYS[2], ARGV[2])
redis.call('XADD', KEYS[4], '*', 'appeal_no', ARGV[7], 'seq', seq, 'event', ARGV[2])
if ARGV[6] ~= '' then redis.call('XADD', KEYS[3], '*', 'appeal_no', ARGV[6]) end
return {1, state}
"""


@dataclass(frozen=True)
class AppealRecord:
    appeal: Appeal
    state: State
    unit: str | None
    updated_at: datetime
    decision: dict[str, Any] | None
    supervisor: str | None = None
    returned_by: tuple[str, ...] = ()
    reopened: int = 0
    extension: dict[str, Any] | None = None
    deadlines: dict[str, Any] | None = None
    reply: dict[str, Any] | None = None

    def summary(self) -> dict[str, Any]:
        return {
            "appeal_no": self.appeal.appeal_no,
            "state": self.state.value,
            "unit": self.unit,
            "supervisor": self.supervisor,
            "channel": self.appeal.channel_id,
            "category": list(self.appeal.category),
            "urgency": self.appeal.urgency.value,
            "deadlines": self.deadlines,
            "returned_by": list(self.returned_by),
            "reopened": self.reopened,
            "extension": self.extension,
            "reply": self.reply,
            "updated_at": self.updated_at.isoformat(),
        }


@dataclass(frozen=True)
class TransitionResult:
    ok: bool
    previous: State | None
    reason: str = ""


def _json(fields: Mapping[str, str], name: str) -> Any:
    return json.loads(fields[name]) if fields.get(name) else None


def record_from_fields(fields: Mapping[str, str]) -> AppealRecord:
    """An appeal record from its hash fields (as Redis holds them, or as the SQL record keeps them)."""
    return AppealRecord(
        appeal=Appeal.model_validate_json(fields["appeal"]),
        state=State(fields["state"]),
        unit=fields.get("unit") or None,
        updated_at=datetime.fromisoformat(fields["updated_at"]),
        decision=_json(fields, "decision"),
        supervisor=fields.get("supervisor") or None,
        returned_by=tuple(_json(fields, "returned_by") or ()),
        reopened=int(fields.get("reopened", 0)),
        extension=_json(fields, "extension"),
        deadlines=_json(fields, "deadlines"),
        reply=_json(fields, "reply"),
    )


def history_event(event_type: str, actor: str, at: datetime, **detail: Any) -> str:
    return json.dumps(
        {"type": event_type, "actor": actor, "at": at.isoformat(), **detail}, ensure_ascii=False
    )


class Appeals:
    """Reads and writes appeal records. Redis failures become :class:`StorageUnavailable`."""

    def __init__(
        self,
        redis: aioredis.Redis,
        keys: Keys,
        *,
        prefix: str,
        network: Network,
        channel_kinds: Mapping[str, str],
        clock: Callable[[], datetime],
    ) -> None:
        self.channel_kinds = channel_kinds
        self.on_event: Callable[[str, str], None] = lambda _appeal_no, _event: None
        # told every submit's outcome: accepted, duplicate, rejected or failed (channel health)
        self.on_submit: Callable[[str, str], Awaitable[None]] | None = None
        self.redis = redis
        self.keys = keys
        self.prefix = prefix
        self.network = network
        self.clock = clock
        self._store = redis.register_script(_STORE)
        self._merge = redis.register_script(_MERGE)
        self._add = redis.register_script(_ADD)
        self._release = redis.register_script(_RELEASE)
        self._transition = redis.register_script(_TRANSITION)
        self._record = redis.register_script(_RECORD)

    async def submit(self, message: InboundMessage) -> Receipt:
        """Store the message as an appeal (see :meth:`_submit`); ``on_submit`` hears the outcome."""
        outcome = "failed"
        try:
            receipt = await self._submit(message)
            outcome = "duplicate" if receipt.duplicate else "accepted"
            return receipt
        except BadRequest:
            outcome = "rejected"
            raise
        finally:
            if self.on_submit is not None:
                await self.on_submit(message.channel_id, outcome)

    async def _submit(self, message: InboundMessage) -> Receipt:
        """Store the message as an appeal, once per (channel, external id). Returns only after the
        appeal, its raw payload and its intake entry are written. A message with a ``thread`` and
        ``hold_seconds`` joins the thread's held appeal if there is one, else starts one that is
        routed once the thread has been quiet for ``hold_seconds``."""
        dedup = self.keys.dedup(message.channel_id, message.external_id)
        try:
            existing = await self.redis.get(dedup)
            if existing is not None:
                return Receipt(text(existing), duplicate=True)
            if message.thread and message.hold_seconds > 0:
                merged = await self._merge_into_thread(message, dedup)
                if merged is not None:
                    return merged
            return await self._store_new(message, dedup)
        except RedisError as e:
            raise StorageUnavailable("the appeal store is unavailable; nothing was accepted") from e

    async def _store_new(self, message: InboundMessage, dedup: str) -> Receipt:
        now = self.clock()
        day = appeal_day(now)
        appeal_no = format_appeal_no(self.prefix, day, int(await self.redis.incr(self.keys.seq(day))))
        raw = RawRef(
            key=self.keys.raw(appeal_no),
            sha256=hashlib.sha256(message.raw).hexdigest(),
            content_type=message.content_type,
            size=len(message.raw),
        )
        try:
            appeal = normalize(
                message.draft,
                appeal_no=appeal_no,
                channel_id=message.channel_id,
                channel_kind=self.channel_kinds[message.channel_id],
                received_at=now,
                raw=raw,
            )
        except (ValidationError, ValueError) as e:
            raise BadRequest(f"the message does not make a valid appeal: {e}") from e
        event = history_event("accepted", f"channel:{message.channel_id}", now, state=State.accepted.value)
        held = message.thread is not None and message.hold_seconds > 0
        thread_key = self.keys.thread(message.channel_id, message.thread or "-")
        stored_no, duplicate = await self._store(
            keys=[
                dedup,
                self.keys.appeal(appeal_no),
                self.keys.history(appeal_no),
                raw.key,
                self.keys.intake_stream,
                self.keys.held,
                thread_key,
                self.keys.events,
            ],
            args=[
                appeal_no,
                appeal.model_dump_json(),
                message.raw,
                event,
                message.channel_id,
                now.isoformat(),
                now.timestamp() + message.hold_seconds if held else "",
                int(message.hold_seconds * 1000),
            ],
        )
        return Receipt(text(stored_no), duplicate=bool(duplicate))

    async def _merge_into_thread(self, message: InboundMessage, dedup: str) -> Receipt | None:
        """Merge into the thread's held appeal; None when there is none (start a new one)."""
        assert message.thread is not None
        thread_key = self.keys.thread(message.channel_id, message.thread)
        for _ in range(5):  # optimistic: retry when another fragment merged first
            current = await self.redis.get(thread_key)
            if current is None:
                return None
            appeal_no = text(current)
            data = decode_hash(await self.redis.hgetall(self.keys.appeal(appeal_no)))
            if not data or data.get("state") != State.accepted.value:
                return None
            now = self.clock()
            appeal = merge(Appeal.model_validate_json(data["appeal"]), message.draft)
            event = history_event(
                "merged", f"channel:{message.channel_id}", now, external_id=message.external_id
            )
            result, code = await self._merge(
                keys=[
                    dedup,
                    self.keys.appeal(appeal_no),
                    self.keys.history(appeal_no),
                    self.keys.raw_more(appeal_no),
                    self.keys.held,
                    thread_key,
                    self.keys.events,
                ],
                args=[
                    appeal_no,
                    data.get("version", "1"),
                    appeal.model_dump_json(),
                    event,
                    message.raw,
                    now.timestamp() + message.hold_seconds,
                    int(message.hold_seconds * 1000),
                    now.isoformat(),
                ],
            )
            if code == 0:
                return Receipt(appeal_no, duplicate=False, merged=True)
            if code == 1:
                return Receipt(text(result), duplicate=True)
            if code == 2:
                return None  # released meanwhile: this message starts a new appeal
        raise StorageUnavailable("the thread is too busy; try again")

    async def add_to(self, appeal_no: str, message: InboundMessage) -> Receipt:
        """A citizen's follow-up on an existing appeal: kept in its history (and raw payloads)."""
        dedup = self.keys.dedup(message.channel_id, message.external_id)
        now = self.clock()
        draft = message.draft
        event = history_event(
            "citizen_added",
            f"channel:{message.channel_id}",
            now,
            content=draft.content,
            attachments=[a.model_dump(mode="json") for a in draft.attachments],
        )
        try:
            result, code = await self._add(
                keys=[
                    dedup,
                    self.keys.appeal(appeal_no),
                    self.keys.history(appeal_no),
                    self.keys.raw_more(appeal_no),
                    self.keys.events,
                ],
                args=[appeal_no, event, message.raw, now.isoformat()],
            )
        except RedisError as e:
            raise StorageUnavailable("the appeal store is unavailable; nothing was accepted") from e
        if code == 2:
            raise NotFound(f"no appeal {appeal_no}")
        return Receipt(text(result), duplicate=code == 1)

    async def release_held(self, now: float, limit: int = 100) -> int:
        """Send held appeals whose thread has gone quiet to routing."""
        released = await self._release(
            keys=[self.keys.held, self.keys.intake_stream], args=[now, limit, self.keys.appeal("")]
        )
        return int(released)

    async def get(self, appeal_no: str) -> AppealRecord | None:
        try:
            data = await self.redis.hgetall(self.keys.appeal(appeal_no))
        except RedisError as e:
            raise StorageUnavailable("the appeal store is unavailable") from e
        return record_from_fields(decode_hash(data)) if data else None

    async def require(self, appeal_no: str) -> AppealRecord:
        record = await self.get(appeal_no)
        if record is None:
            raise NotFound(f"no appeal {appeal_no}")
        return record

    async def history(self, appeal_no: str) -> list[dict[str, Any]]:
        items = await self.redis.lrange(self.keys.history(appeal_no), 0, -1)
        return [json.loads(item) for item in items]

    async def transition(
        self,
        appeal_no: str,
        *,
        allowed: frozenset[State],
        to: State | None,
        event: str,
        unit: str = "",
        fields: dict[str, str] | None = None,
        requeue: bool = False,
    ) -> TransitionResult:
        """Move to ``to`` (None: stay) if the state is one of ``allowed`` (and, given ``unit``,
        assigned to it); the history event is appended, ``fields`` set and (``requeue``) the appeal
        put back on the intake stream to be routed again, all in one step."""
        flat = [x for kv in (fields or {}).items() for x in kv]
        try:
            code, previous = await self._transition(
                keys=[
                    self.keys.appeal(appeal_no),
                    self.keys.history(appeal_no),
                    self.keys.intake_stream,
                    self.keys.events,
                ],
                args=[
                    to.value if to else "",
                    event,
                    self.clock().isoformat(),
                    unit,
                    json.dumps(sorted(allowed)),
                    appeal_no if requeue else "",
                    appeal_no,
                    *flat,
                ],
            )
        except RedisError as e:
            raise StorageUnavailable("the appeal store is unavailable") from e
        prev = State(text(previous)) if previous else None
        if code == -1:
            raise NotFound(f"no appeal {appeal_no}")
        if code == -2:
            return TransitionResult(False, prev, "not assigned to this unit")
        if code == 1:
            self.on_event(appeal_no, event)
        return TransitionResult(code == 1, prev, "" if code == 1 else f"state is {prev}")

    async def record_event(self, appeal_no: str, event: str) -> None:
        """Append a history event that changes no state (e.g. the citizen was answered)."""
        try:
            await self._record(keys=[self.keys.history(appeal_no), self.keys.events], args=[appeal_no, event])
        except RedisError as e:
            raise StorageUnavailable("the appeal store is unavailable") from e

    async def status(self, appeal_no: str) -> AppealStatus | None:
        record = await self.get(appeal_no)
        if record is None:
            return None
        unit = self.network.get(record.unit) if record.unit else None
        reply = (record.reply or {}).get("content")
        return AppealStatus(
            appeal=record.appeal,
            state=record.state.value,
            unit_name=unit.name if unit else None,
            updated_at=record.updated_at,
            notes=(f"答复：{reply}",) if reply else (),
        )

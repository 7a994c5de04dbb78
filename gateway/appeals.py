"""Appeal records in Redis: durable intake (dedup, number, store, enqueue) and state changes.

Every write that must be all-or-nothing is one Lua script, so a crash never leaves half an appeal.

``hl:appeal:<no>``   hash: appeal (JSON), state, unit, channel, category, decision, updated_at
``hl:history:<no>``  list of immutable history events (JSON), oldest first
``hl:raw:<no>``      the raw payload, for audit
``hl:dedup:<channel>:<external id>`` -> appeal number
``hl:intake``        stream of appeal numbers waiting to be routed (consumer group ``router``)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
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
from normalizer import Appeal, RawRef, appeal_day, format_appeal_no, normalize
from router.network import Network

_STORE = """
local existing = redis.call('GET', KEYS[1])
if existing then return {existing, 1} end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[2], 'appeal', ARGV[2], 'state', 'accepted', 'unit', '',
           'channel', ARGV[5], 'updated_at', ARGV[6])
redis.call('RPUSH', KEYS[3], ARGV[4])
redis.call('SET', KEYS[4], ARGV[3])
redis.call('XADD', KEYS[5], '*', 'appeal_no', ARGV[1])
return {ARGV[1], 0}
"""

_TRANSITION = """
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return {-1, ''} end
if ARGV[4] ~= '' and redis.call('HGET', KEYS[1], 'unit') ~= ARGV[4] then return {-2, state} end
local ok = false
for _, s in ipairs(cjson.decode(ARGV[5])) do if s == state then ok = true end end
if not ok then return {0, state} end
redis.call('HSET', KEYS[1], 'state', ARGV[1], 'updated_at', ARGV[3])
for i = 6, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('RPUSH', KEYS[2], ARGV[2])
return {1, state}
"""


@dataclass(frozen=True)
class AppealRecord:
    appeal: Appeal
    state: State
    unit: str | None
    updated_at: datetime
    decision: dict[str, Any] | None

    def summary(self) -> dict[str, Any]:
        return {
            "appeal_no": self.appeal.appeal_no,
            "state": self.state.value,
            "unit": self.unit,
            "channel": self.appeal.channel_id,
            "category": list(self.appeal.category),
            "updated_at": self.updated_at.isoformat(),
        }


@dataclass(frozen=True)
class TransitionResult:
    ok: bool
    previous: State | None
    reason: str = ""


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
        self.redis = redis
        self.keys = keys
        self.prefix = prefix
        self.network = network
        self.clock = clock
        self._store = redis.register_script(_STORE)
        self._transition = redis.register_script(_TRANSITION)

    async def submit(self, message: InboundMessage) -> Receipt:
        """Store the message as an appeal, once per (channel, external id). Returns only after the
        appeal, its raw payload and its intake entry are written."""
        dedup = self.keys.dedup(message.channel_id, message.external_id)
        try:
            existing = await self.redis.get(dedup)
            if existing is not None:
                return Receipt(text(existing), duplicate=True)
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
            event = history_event(
                "accepted", f"channel:{message.channel_id}", now, state=State.accepted.value
            )
            stored_no, duplicate = await self._store(
                keys=[
                    dedup,
                    self.keys.appeal(appeal_no),
                    self.keys.history(appeal_no),
                    raw.key,
                    self.keys.intake_stream,
                ],
                args=[
                    appeal_no,
                    appeal.model_dump_json(),
                    message.raw,
                    event,
                    message.channel_id,
                    now.isoformat(),
                ],
            )
        except RedisError as e:
            raise StorageUnavailable("the appeal store is unavailable; nothing was accepted") from e
        no = stored_no.decode() if isinstance(stored_no, bytes) else str(stored_no)
        return Receipt(no, duplicate=bool(duplicate))

    async def get(self, appeal_no: str) -> AppealRecord | None:
        try:
            data = await self.redis.hgetall(self.keys.appeal(appeal_no))
        except RedisError as e:
            raise StorageUnavailable("the appeal store is unavailable") from e
        if not data:
            return None
        fields = decode_hash(data)
        return AppealRecord(
            appeal=Appeal.model_validate_json(fields["appeal"]),
            state=State(fields["state"]),
            unit=fields.get("unit") or None,
            updated_at=datetime.fromisoformat(fields["updated_at"]),
            decision=json.loads(fields["decision"]) if fields.get("decision") else None,
        )

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
        to: State,
        event: str,
        unit: str = "",
        fields: dict[str, str] | None = None,
    ) -> TransitionResult:
        """Move to ``to`` if the state is one of ``allowed`` (and, given ``unit``, assigned to it);
        the history event is appended in the same step."""
        flat = [x for kv in (fields or {}).items() for x in kv]
        try:
            code, previous = await self._transition(
                keys=[self.keys.appeal(appeal_no), self.keys.history(appeal_no)],
                args=[
                    to.value,
                    event,
                    self.clock().isoformat(),
                    unit,
                    json.dumps(sorted(allowed)),
                    *flat,
                ],
            )
        except RedisError as e:
            raise StorageUnavailable("the appeal store is unavailable") from e
        prev = State(previous.decode()) if previous else None
        if code == -1:
            raise NotFound(f"no appeal {appeal_no}")
        if code == -2:
            return TransitionResult(False, prev, "not assigned to this unit")
        return TransitionResult(code == 1, prev, "" if code == 1 else f"state is {prev}")

    async def status(self, appeal_no: str) -> AppealStatus | None:
        record = await self.get(appeal_no)
        if record is None:
            return None
        unit = self.network.get(record.unit) if record.unit else None
        return AppealStatus(
            appeal=record.appeal,
            state=record.state.value,
            unit_name=unit.name if unit else None,
            updated_at=record.updated_at,
        )

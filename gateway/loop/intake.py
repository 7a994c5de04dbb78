"""Acceptance 受理: durable intake (dedup, number, store, enqueue) and reading appeal records.

``submit`` returns only after the appeal, its raw payload, its history event and its intake entry
are written (one script, after one that checks the dedup key and takes the day's number).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

import redis.asyncio as aioredis
from pydantic import ValidationError
from redis.exceptions import RedisError

from adapters.base import AppealStatus, InboundMessage, Receipt
from gateway.errors import BadRequest, NotFound, StorageUnavailable
from gateway.loop.events import HistoryEvent, Stepped
from gateway.loop.record import AppealRecord
from gateway.loop.scripts import Scripts
from gateway.loop.states import State
from gateway.store import Keys, decode_hash, text
from normalizer import Appeal, AppealDraft, RawRef, appeal_day, format_appeal_no, merge, normalize
from router.network import Network

if TYPE_CHECKING:
    from gateway.loop.service import LoopListener

MERGE_TRIES = 5  # optimistic: retry when another fragment of the thread merged first


class Archive(Protocol):
    """The record, as the channels read it: an appeal Redis let go (past retention), and a
    channel's appeals by time (what a channel lists, however old)."""

    async def archived(self, appeal_no: str) -> AppealRecord | None: ...

    async def received(self, channel_id: str, start: datetime, end: datetime, limit: int) -> list[str]: ...


class Intake:
    """Writes new appeals and reads appeal records. Redis failures become :class:`StorageUnavailable`."""

    def __init__(
        self,
        redis: aioredis.Redis,
        keys: Keys,
        *,
        prefix: str,
        network: Callable[[], Network],
        channel_kinds: Mapping[str, str],
        clock: Callable[[], datetime],
        listeners: Sequence[LoopListener] = (),
        is_emergency: Callable[[AppealDraft], bool] = lambda _draft: False,
        archive: Archive | None = None,
    ) -> None:
        self.redis = redis
        self.is_emergency = is_emergency
        """Is this draft an emergency (``router.emergency``)? Such a thread's first message is not held."""
        self.keys = keys
        self.prefix = prefix
        self.network = network
        self.channel_kinds = channel_kinds
        self.clock = clock
        self.listeners = tuple(listeners)
        self.scripts = Scripts(redis)
        self.archive = archive
        """The record, where appeals are still found past retention (None: Redis alone)."""

    def _told(self, appeal_no: str, channel_id: str, event: HistoryEvent) -> None:
        step = Stepped(appeal_no, channel_id, event)
        for listener in self.listeners:
            listener.stepped(step)

    # --- acceptance ---------------------------------------------------------------------------

    async def submit(self, message: InboundMessage) -> Receipt:
        """Store the message as an appeal, once per (channel, external id). A message with a
        ``thread`` and ``hold_seconds`` joins the thread's held appeal if there is one, else starts
        one that is routed once the thread has been quiet for ``hold_seconds``. Listeners hear the
        outcome: accepted, duplicate, rejected or failed."""
        outcome = "failed"
        try:
            receipt = await self._submit(message)
            outcome = "duplicate" if receipt.duplicate else "accepted"
            return receipt
        except BadRequest:
            outcome = "rejected"
            raise
        finally:
            for listener in self.listeners:
                listener.submitted(message.channel_id, outcome)

    async def _submit(self, message: InboundMessage) -> Receipt:
        dedup = self.keys.dedup(message.channel_id, message.external_id)
        try:
            if message.thread and message.hold_seconds > 0:
                existing = await self.redis.get(dedup)
                if existing is not None:
                    return Receipt(text(existing), duplicate=True)
                merged = await self._merge_into_thread(message, dedup)
                if merged is not None:
                    return merged
                if self.is_emergency(message.draft):  # never held: routed at once
                    return await self._store_new(message, dedup, hold=False)
            return await self._store_new(message, dedup)
        except RedisError as e:
            raise StorageUnavailable("the appeal store is unavailable; nothing was accepted") from e

    async def _store_new(self, message: InboundMessage, dedup: str, *, hold: bool = True) -> Receipt:
        now = self.clock()
        day = appeal_day(now)
        found, duplicate = await self.scripts.reserve(
            keys={"dedup": dedup, "seq": self.keys.seq(day)}, args={}
        )
        if duplicate:
            return Receipt(text(found), duplicate=True)
        appeal_no = format_appeal_no(self.prefix, day, int(found))
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
        event = HistoryEvent("accepted", f"channel:{message.channel_id}", now, State.accepted)
        held = hold and message.thread is not None and message.hold_seconds > 0
        thread_key = self.keys.thread(message.channel_id, message.thread or "-")
        stored_no, duplicate = await self.scripts.store(
            keys={
                "dedup": dedup,
                "appeal": self.keys.appeal(appeal_no),
                "history": self.keys.history(appeal_no),
                "events": self.keys.events,
                "raw": raw.key,
                "intake": self.keys.intake_stream,
                "held": self.keys.held,
                "thread": thread_key,
            },
            args={
                "no": appeal_no,
                "appeal": appeal.model_dump_json(),
                "raw": message.raw,
                "event": event.to_json(),
                "channel": message.channel_id,
                "at": now.isoformat(),
                "release_at": now.timestamp() + message.hold_seconds if held else "",
                "hold_ms": int(message.hold_seconds * 1000),
            },
        )
        if not duplicate:
            self._told(appeal_no, message.channel_id, event)
            if not hold and message.thread:  # the thread's later messages join it as follow-ups
                await self.redis.set(thread_key, appeal_no, px=int(message.hold_seconds * 1000))
        return Receipt(text(stored_no), duplicate=bool(duplicate))

    async def _merge_into_thread(self, message: InboundMessage, dedup: str) -> Receipt | None:
        """Merge into the thread's held appeal; None when there is none (start a new one)."""
        assert message.thread is not None
        thread_key = self.keys.thread(message.channel_id, message.thread)
        for _ in range(MERGE_TRIES):
            current = await self.redis.get(thread_key)
            if current is None:
                return None
            appeal_no = text(current)
            data = decode_hash(await self.redis.hgetall(self.keys.appeal(appeal_no)))
            if data and await self.redis.zscore(self.keys.held, appeal_no) is None:
                # the thread's appeal went to routing at once (an emergency): a follow-up
                added = await self.add_to(appeal_no, message)
                await self.redis.pexpire(thread_key, int(message.hold_seconds * 1000))
                return Receipt(added.appeal_no, duplicate=added.duplicate, merged=not added.duplicate)
            if not data or data.get("state") != State.accepted.value:
                return None
            now = self.clock()
            appeal = merge(Appeal.model_validate_json(data["appeal"]), message.draft)
            event = HistoryEvent(
                "merged", f"channel:{message.channel_id}", now, detail={"external_id": message.external_id}
            )
            result, code = await self.scripts.merge(
                keys={
                    "dedup": dedup,
                    "appeal": self.keys.appeal(appeal_no),
                    "history": self.keys.history(appeal_no),
                    "events": self.keys.events,
                    "raw_more": self.keys.raw_more(appeal_no),
                    "held": self.keys.held,
                    "thread": thread_key,
                },
                args={
                    "no": appeal_no,
                    "version": data.get("version", "1"),
                    "appeal": appeal.model_dump_json(),
                    "event": event.to_json(),
                    "raw": message.raw,
                    "release_at": now.timestamp() + message.hold_seconds,
                    "hold_ms": int(message.hold_seconds * 1000),
                    "at": now.isoformat(),
                },
            )
            if code == 0:
                self._told(appeal_no, message.channel_id, event)
                return Receipt(appeal_no, duplicate=False, merged=True)
            if code == 1:
                return Receipt(text(result), duplicate=True)
            if code == 2:
                return None  # released meanwhile: this message starts a new appeal
        raise StorageUnavailable("the thread is too busy; try again")

    async def add_to(self, appeal_no: str, message: InboundMessage) -> Receipt:
        """A citizen's follow-up on an existing appeal: kept in its history (and raw payloads)."""
        now = self.clock()
        draft = message.draft
        event = HistoryEvent(
            "citizen_added",
            f"channel:{message.channel_id}",
            now,
            detail={
                "content": draft.content,
                "attachments": [a.model_dump(mode="json") for a in draft.attachments],
            },
        )
        try:
            result, code = await self.scripts.add(
                keys={
                    "dedup": self.keys.dedup(message.channel_id, message.external_id),
                    "appeal": self.keys.appeal(appeal_no),
                    "history": self.keys.history(appeal_no),
                    "events": self.keys.events,
                    "raw_more": self.keys.raw_more(appeal_no),
                },
                args={"no": appeal_no, "event": event.to_json(), "raw": message.raw, "at": now.isoformat()},
            )
        except RedisError as e:
            raise StorageUnavailable("the appeal store is unavailable; nothing was accepted") from e
        if code == 2:
            raise NotFound(f"no appeal {appeal_no}")
        if code == 0:
            self._told(appeal_no, message.channel_id, event)
        return Receipt(text(result), duplicate=code == 1)

    async def release_held(self, now: float, limit: int = 100) -> int:
        """Send held appeals whose thread has gone quiet to routing."""
        released = await self.scripts.release(
            keys={"held": self.keys.held, "intake": self.keys.intake_stream},
            args={"now": now, "limit": limit, "appeal_prefix": self.keys.appeal("")},
        )
        return int(released)

    # --- reads --------------------------------------------------------------------------------

    async def get(self, appeal_no: str) -> AppealRecord | None:
        try:
            data = await self.redis.hgetall(self.keys.appeal(appeal_no))
        except RedisError as e:
            raise StorageUnavailable("the appeal store is unavailable") from e
        return AppealRecord.from_fields(decode_hash(data)) if data else None

    async def require(self, appeal_no: str) -> AppealRecord:
        record = await self.get(appeal_no)
        if record is None:
            raise NotFound(f"no appeal {appeal_no}")
        return record

    async def history(self, appeal_no: str) -> list[dict[str, Any]]:
        items = await self.redis.lrange(self.keys.history(appeal_no), 0, -1)
        return [json.loads(item) for item in items]

    async def received(self, channel_id: str, start: datetime, end: datetime, limit: int) -> list[str]:
        """The channel's appeal numbers received in [start, end], newest first, as the record holds
        them (it follows the loop within a second); none without a record."""
        if self.archive is None:
            return []
        return await self.archive.received(channel_id, start, end, limit)

    async def status(self, appeal_no: str) -> AppealStatus | None:
        """What a channel may show about an appeal; past retention, from the record."""
        record = await self.get(appeal_no)
        if record is None and self.archive is not None:
            record = await self.archive.archived(appeal_no)
        if record is None:
            return None
        unit = self.network().get(record.unit) if record.unit else None
        reply = (record.reply or {}).get("content")
        return AppealStatus(
            appeal=record.appeal,
            state=record.state.value,
            unit_name=unit.name if unit else None,
            updated_at=record.updated_at,
            notes=(f"答复：{reply}",) if reply else (),
            expected_at=_reply_due(record.deadlines),
        )


def _reply_due(deadlines: dict[str, Any] | None) -> datetime | None:
    """The reply deadline of an appeal's deadlines (Open311's ``expected_datetime``)."""
    due = (deadlines or {}).get("reply_by")
    try:
        return datetime.fromisoformat(due) if isinstance(due, str) else None
    except ValueError:
        return None

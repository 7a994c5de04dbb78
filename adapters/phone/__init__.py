"""The ``phone`` kind: the hotline's call centre (CTI) posting call events, agents' work orders and
voicemail transcripts.

``POST /channels/{channel_id}/events`` with ``Authorization: Bearer <token>`` (or ``?token=``), checked
before the body is read. Call events (``newCall``, ``answer``, ``hangup``) update the call's record in
Redis (adapter state: ``hl:adapter:<channel>:call:<callId>``), the channel's daily statistics and the
call-back list of abandoned calls; ``workOrder`` and ``voicemail`` become appeals, one per ``callId``.
Read functions for operators: :meth:`PhoneAdapter.call_stats`, :meth:`PhoneAdapter.pending_callbacks`,
:meth:`PhoneAdapter.clear_callback`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from aiohttp import web
from redis.asyncio.client import Pipeline
from redis.exceptions import RedisError, WatchError

from adapters.base import Adapter, Capabilities, InboundMessage, Route
from adapters.parsing import validated
from adapters.phone.config import PhoneConfig
from adapters.phone.decode import (
    Callback,
    CallEvent,
    CallRecord,
    CtiPost,
    CtiQuery,
    apply_event,
    callback_list,
    day_of,
    decode_call_event,
    decode_voicemail,
    decode_work_order,
    event_of,
    is_abandoned,
    parse_fields,
    record_from_hash,
    record_to_hash,
)
from adapters.signatures import same
from gateway.api.declare import describe
from gateway.errors import StorageUnavailable, Unauthorized
from gateway.http import json_response
from gateway.store import decode_hash, text
from normalizer import mask_phone, normalize_phone

__all__ = ["CallRecord", "Callback", "PhoneAdapter", "PhoneConfig"]

DAY = 86400
BODY = {"application/json": CtiPost, "application/x-www-form-urlencoded": CtiPost}


class PhoneAdapter(Adapter[PhoneConfig]):
    kind = "phone"
    Config = PhoneConfig
    capabilities = Capabilities(webhook=True, native_ack=True)

    def routes(self) -> Sequence[Route]:
        return (Route("POST", "/events", self.events),)

    def authorize(self, request: web.Request) -> None:
        header = request.headers.get("Authorization", "")
        bearer = header[:7].lower() == "bearer "
        token = header[7:].strip() if bearer else validated(CtiQuery, dict(request.query)).token
        expected = self.settings.token.get_secret_value()
        if not token or not same(token, expected):
            raise Unauthorized("the token is missing or not valid")

    @describe(
        query=CtiQuery,
        body=BODY,
        responses={
            201: "a work order or voicemail stored as an appeal (its appealNo)",
            401: "the token is missing or wrong (Authorization: Bearer, or ?token=)",
            503: "store down: post again",
        },
    )
    async def events(self, request: web.Request) -> web.Response:
        """A CTI post: a call event (newCall, answer, hangup), a work order or a voicemail.

        ``event`` says which; a work order or voicemail becomes an appeal, once per ``callId``.
        """
        self.authorize(request)
        body = await self.read_body(request)
        fields = parse_fields(body, request.content_type)
        event = event_of(fields)
        if event in ("workOrder", "voicemail"):
            return await self._appeal(event, fields)
        call = decode_call_event(fields)
        try:
            await self.record(call)
        except RedisError as e:
            raise StorageUnavailable("the call store is unavailable; try again") from e
        return json_response({"code": 0, "message": "ok"})

    async def _appeal(self, event: str, fields: dict[str, str]) -> web.Response:
        draft = decode_work_order(fields) if event == "workOrder" else decode_voicemail(fields)
        fields.pop("token", None)
        raw = json.dumps(fields, ensure_ascii=False, sort_keys=True).encode()
        receipt = await self.context.intake.submit(
            InboundMessage(self.channel_id, raw, "application/json", draft)
        )
        self.log.info(
            "phone.appeal",
            appeal_no=receipt.appeal_no,
            cti_event=event,
            phone=mask_phone(draft.citizen.phone or ""),
            duplicate=receipt.duplicate,
        )
        await self._count(event, unique=f"{event}:{draft.external_id}", first=not receipt.duplicate)
        return json_response(
            {"code": 0, "message": "ok", "appealNo": receipt.appeal_no, "duplicate": receipt.duplicate},
            status=200 if receipt.duplicate else 201,
        )

    async def _count(self, event: str, *, unique: str, first: bool) -> None:
        if not first:
            return
        try:
            key = self.state_key("stats", day_of(self.context.clock()))
            await self.context.redis.hincrby(key, event, 1)
            await self.context.redis.expire(key, self.settings.stats_ttl_days * DAY)
        except RedisError as e:  # the appeal is stored; a lost count is only logged
            self.log.warning("phone.stats_not_counted", cti_event=event, error=type(e).__name__)

    async def record(self, call: CallEvent) -> CallRecord:
        """Apply a call event to the call's record (atomically, once per event kind), update the
        statistics and the call-back list. Returns the record after the event."""
        redis = self.context.redis
        now = self.context.clock()
        key = self.state_key("call", call.call_id)
        stats = self.state_key("stats", day_of(now))
        while True:
            async with redis.pipeline(transaction=True) as pipe:
                try:
                    await pipe.watch(key)
                    data = decode_hash(await pipe.hgetall(key))
                    before = record_from_hash(call.call_id, data)
                    after = apply_event(before, call, now.timestamp())
                    pipe.multi()  # type: ignore[no-untyped-call]
                    self._write(pipe, key, stats, call, data, before, after)
                    await pipe.execute()
                except WatchError:
                    continue
            break
        await redis.set(self.state_key("last_event"), now.isoformat())
        if is_abandoned(after) and not is_abandoned(before):
            await self._trim_callbacks()
        if call.event == "answer" and after.direction == "in" and after.caller:
            await self._drop_callbacks(normalize_phone(after.caller))
        self.log.info(
            "phone.call_event", call_id=call.call_id, cti_event=call.event, phone=mask_phone(after.caller)
        )
        return after

    def _write(
        self,
        pipe: Pipeline,
        key: str,
        stats: str,
        call: CallEvent,
        data: dict[str, str],
        before: CallRecord,
        after: CallRecord,
    ) -> None:
        mapping: dict[str | bytes, str] = {f"seen:{call.event}": "1"}
        mapping.update(record_to_hash(after))
        pipe.hset(key, mapping=mapping)  # type: ignore[arg-type]
        pipe.expire(key, self.settings.call_ttl_days * DAY)
        if f"seen:{call.event}" not in data:
            pipe.hincrby(stats, call.event, 1)
        if is_abandoned(after) and not is_abandoned(before):
            pipe.hincrby(stats, "abandoned", 1)
            pipe.zadd(self.state_key("callbacks"), {call.call_id: after.ended or 0.0})
            pipe.hset(self.state_key("callback_callers"), call.call_id, normalize_phone(after.caller))
        pipe.expire(stats, self.settings.stats_ttl_days * DAY)

    async def _trim_callbacks(self) -> None:
        """Keep the ``callbacks_kept`` newest abandoned calls, in the list and in its callers."""
        redis = self.context.redis
        oldest = await redis.zrange(self.state_key("callbacks"), 0, -self.settings.callbacks_kept - 1)
        if oldest:
            async with redis.pipeline(transaction=True) as pipe:
                pipe.zrem(self.state_key("callbacks"), *oldest)
                pipe.hdel(self.state_key("callback_callers"), *oldest)
                await pipe.execute()

    async def _drop_callbacks(self, caller: str) -> int:
        callers = decode_hash(await self.context.redis.hgetall(self.state_key("callback_callers")))
        done = [call_id for call_id, number in callers.items() if number == caller]
        if done:
            await self.context.redis.zrem(self.state_key("callbacks"), *done)
            await self.context.redis.hdel(self.state_key("callback_callers"), *done)
        return len(done)

    # --- read functions for operators (health, statistics, call-back list) ---

    async def call_stats(self, day: str | None = None) -> dict[str, Any]:
        """One day's counts (``newCall``, ``answer``, ``hangup``, ``abandoned``, ``workOrder``,
        ``voicemail``; day as YYYYMMDD, today by default) and the time of the last CTI event."""
        day = day or day_of(self.context.clock())
        counts = decode_hash(await self.context.redis.hgetall(self.state_key("stats", day)))
        last = await self.context.redis.get(self.state_key("last_event"))
        return {
            "day": day,
            "counts": {name: int(value) for name, value in counts.items()},
            "last_event_at": last.decode() if isinstance(last, bytes) else last,
        }

    async def pending_callbacks(self, limit: int = 200) -> list[Callback]:
        """Callers to call back (their latest call was abandoned), the longest waiting first.
        Holds full phone numbers: for the operators' call-back screen, never for logs."""
        redis = self.context.redis
        call_ids = [text(c) for c in await redis.zrange(self.state_key("callbacks"), 0, -1)]  # type: ignore[arg-type]
        records: list[CallRecord] = []
        gone: list[str] = []
        for call_id in call_ids:
            data = decode_hash(await redis.hgetall(self.state_key("call", call_id)))
            if data:
                records.append(record_from_hash(call_id, data))
            else:
                gone.append(call_id)
        if gone:  # expired call records: their call-backs are too old to keep
            await redis.zrem(self.state_key("callbacks"), *gone)
            await redis.hdel(self.state_key("callback_callers"), *gone)
        return callback_list(records)[:limit]

    async def clear_callback(self, caller: str) -> int:
        """The caller has been called back: drop all their abandoned calls from the list."""
        return await self._drop_callbacks(normalize_phone(caller))

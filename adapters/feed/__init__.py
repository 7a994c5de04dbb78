"""The ``feed`` kind: upstream platforms (the provincial 12345 / governor's hotline, People's Daily
Online, the national platforms) that hand the city work orders with their own numbers and deadlines.

One kind, configured per platform (``config.py``; docs/feeds.md):

* **pull**: a poller asks ``GET <base_url>/orders?cursor=..&limit=..`` for work orders since its cursor,
  page by page, every ``interval_seconds``, backing off on failure. The cursor is kept in Redis
  (``state_key("cursor")``) and moved only after the page's orders are durably stored.
* **push**: the platform posts one work order to ``POST /channels/<channel id>``, signed with
  HMAC-SHA256 over app key + timestamp + nonce + body; a timestamp outside the replay window or a
  nonce seen before is refused. The signature is checked before the body is parsed.
* One appeal per upstream order number (the external id), across restarts and repeated pages.
* **write-back**: signing, return, extension, reply and filing (归档) are queued in Redis by
  ``on_event`` and sent by a background sender until the platform accepts them (``writeback.py``).
"""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from collections.abc import Sequence
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from redis.exceptions import RedisError

from adapters.base import (
    Adapter,
    AdapterContext,
    AnswerResult,
    Capabilities,
    CheckResult,
    InboundMessage,
    Receipt,
    Route,
    raise_if_cancelled,
)
from adapters.feed.client import FeedClient
from adapters.feed.config import FeedConfig
from adapters.feed.decode import order_of, sign, to_draft, writeback_item
from adapters.feed.writeback import WritebackQueue, WritebackSender
from adapters.parsing import load_json
from adapters.signatures import remember_nonce, same
from gateway.alerts import Alerts
from gateway.api.declare import describe
from gateway.errors import AdapterAuthError, BadRequest, HotlineError, Unauthorized
from gateway.http import json_response
from gateway.store import decode_hash, text
from normalizer import Appeal, mask_phone

__all__ = ["FeedAdapter", "FeedConfig"]


class PushHeaders(BaseModel):
    """The declared headers of a push: the app key and the signed ``X-Timestamp``, ``X-Nonce``,
    ``X-Signature`` (each field is named by its header)."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_by_name=True)

    app_key: str = Field(alias="X-App-Key", max_length=128, description="The channel's app_key.")
    timestamp: str = Field(alias="X-Timestamp", pattern=r"^[0-9]{1,12}$", description="Unix time in seconds.")
    nonce: str = Field(alias="X-Nonce", min_length=1, max_length=64, description="Good once.")
    signature: str = Field(
        alias="X-Signature",
        max_length=128,
        description="hex HMAC-SHA256 of app key, timestamp, nonce and body (docs/feeds.md).",
    )


class FeedAdapter(Adapter[FeedConfig]):
    kind = "feed"
    Config = FeedConfig
    capabilities = Capabilities(webhook=True, poller=True, can_answer=True, native_ack=True, writes_back=True)

    def __init__(self, channel_id: str, settings: FeedConfig, context: AdapterContext) -> None:
        super().__init__(channel_id, settings, context)
        self.platform = settings.platform or channel_id
        self.client = FeedClient(settings)
        self.queue = WritebackQueue(context.redis, self.state_key)
        self.sender = WritebackSender(
            channel_id,
            self.queue,
            self.client,
            settings.writeback,
            Alerts(context.redis, context.keys, context.clock),
            context.clock,
            self.log,
        )
        self._tasks: list[asyncio.Task[None]] = []

    # --- push -----------------------------------------------------------------------------------

    def routes(self) -> Sequence[Route]:
        return (Route("POST", "", self.receive),) if self.settings.push.enabled else ()

    def _credentials(self, request: web.Request) -> PushHeaders:
        """The app key, checked before the body is read; the rest only as text until it is signed."""
        names = ("X-App-Key", "X-Timestamp", "X-Nonce", "X-Signature")
        key, stamp, nonce, signature = (request.headers.get(n, "") for n in names)
        if not (key and stamp and nonce and signature):
            raise Unauthorized("X-App-Key, X-Timestamp, X-Nonce and X-Signature are required")
        if not same(key, self.settings.app_key):
            raise Unauthorized("the app key or signature is not valid")
        return PushHeaders.model_construct(app_key=key, timestamp=stamp, nonce=nonce, signature=signature)

    @describe(
        headers=PushHeaders,
        body={"application/json": None},
        responses={401: "app key or signature wrong, a stale timestamp or a replayed nonce"},
    )
    async def receive(self, request: web.Request) -> web.Response:
        """A work order pushed by the upstream platform (a JSON object, signed).

        Its fields are read at the channel's ``fields`` paths (docs/feeds.md); one appeal per order.
        """
        unsigned = self._credentials(request)
        body = await self.read_body(request)
        secret = self.settings.app_secret.get_secret_value()
        expected = sign(self.settings.app_key, secret, unsigned.timestamp, unsigned.nonce, body)
        if not same(unsigned.signature.lower(), expected):
            raise Unauthorized("the app key or signature is not valid")
        try:  # only now, signed, is anything parsed
            signed = PushHeaders.model_validate(unsigned.model_dump())
        except ValidationError:
            raise Unauthorized("the nonce or timestamp is not valid") from None
        window = self.settings.push.replay_window_seconds
        if abs(self.context.clock().timestamp() - int(signed.timestamp)) > window:
            raise Unauthorized(f"the timestamp is more than {window} s off: replayed or a wrong clock")
        key = self.state_key("nonce", signed.nonce)
        await remember_nonce(self.context.redis, key, signed.timestamp, seconds=2 * window)
        receipt = await self.take(load_json(body))
        return json_response(
            {"code": 0, "message": "ok", "appeal_no": receipt.appeal_no, "duplicate": receipt.duplicate}
        )

    async def take(self, data: Any) -> Receipt:
        """Store one work order (pushed or pulled) as an appeal, once per order number."""
        order = order_of(data, self.settings.fields)
        draft = to_draft(order, self.settings, self.platform)
        receipt = await self.context.intake.submit(
            InboundMessage(self.channel_id, order.raw, "application/json", draft)
        )
        upstream = draft.upstream
        self.log.info(
            "feed.received",
            appeal_no=receipt.appeal_no,
            number=order.number,
            duplicate=receipt.duplicate,
            supervised=bool(upstream and upstream.supervised),
            phone=mask_phone(draft.citizen.phone) if draft.citizen.phone else None,
        )
        return receipt

    # --- pull -----------------------------------------------------------------------------------

    async def start(self) -> None:
        if self._tasks:
            return
        if self.settings.pull is not None:
            self._tasks.append(asyncio.create_task(self._pull_loop(), name=f"feed-pull:{self.channel_id}"))
        if self.settings.writeback.enabled:
            self._tasks.append(
                asyncio.create_task(self.sender.run(), name=f"feed-writeback:{self.channel_id}")
            )

    async def aclose(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=5.0)
        await self.client.aclose()

    async def _pull_loop(self) -> None:
        pull = self.settings.pull
        assert pull is not None
        backoff = pull.backoff_initial_seconds
        failures = 0
        while True:
            try:
                await self.poll_once()
                backoff, wait, failures = pull.backoff_initial_seconds, pull.interval_seconds, 0
                await self._report("connected")
            except (HotlineError, RedisError) as e:
                raise_if_cancelled()
                error = e.message if isinstance(e, HotlineError) else type(e).__name__
                self.log.warning("feed.pull_failed", error=error, retry_in=round(backoff, 1))
                wait, backoff, failures = backoff, min(backoff * 2, pull.backoff_max_seconds), failures + 1
                await self._failed(failures, error, auth=isinstance(e, AdapterAuthError))
            except Exception as e:  # never let the poller die silently
                raise_if_cancelled()
                self.log.exception("feed.poller_failed", retry_in=round(backoff, 1))
                wait, backoff, failures = backoff, min(backoff * 2, pull.backoff_max_seconds), failures + 1
                await self._failed(failures, type(e).__name__, auth=False)
            await asyncio.sleep(wait * (1 + random.random() * 0.1))

    async def _failed(self, failures: int, error: str, *, auth: bool) -> None:
        pull = self.settings.pull
        assert pull is not None
        down = failures >= pull.down_after_failures
        state = "auth_failed" if auth else "down" if down else "degraded"
        await self._report(state, error=f"{failures} failed pulls in a row: {error}"[:300], failures=failures)

    async def _report(self, state: str, *, error: str = "", failures: int = 0) -> None:
        """The poller's state for channel health, in Redis so any process (and ``status``) reads it."""
        at = self.context.clock().isoformat()
        try:
            await self.context.redis.hset(
                self.state_key("poller"),
                mapping={"state": state, "at": at, "error": error, "failures": failures},
            )
        except (RedisError, OSError) as e:
            self.log.warning("feed.health_not_recorded", error=type(e).__name__)

    async def health(self) -> dict[str, Any]:
        """A pulling feed's poller: ``connected``, ``degraded`` after a failed pull, ``down`` after
        ``pull.down_after_failures`` in a row (``auth_failed`` when the platform refuses our key).
        A push-only feed reports nothing of its own: its endpoint's outcomes are counted."""
        if self.settings.pull is None:
            return {}
        stored = decode_hash(await self.context.redis.hgetall(self.state_key("poller")))
        return dict(stored)

    async def poll_once(self) -> int:
        """Fetch the pages after the cursor and store their orders; the number of new appeals.
        The cursor moves only once a page's orders are stored, so a crash repeats a page (dedup)."""
        pull = self.settings.pull
        assert pull is not None
        key = self.state_key("cursor")
        stored = await self.context.redis.get(key)
        cursor = text(stored) if stored is not None else pull.initial_cursor
        new = 0
        for _ in range(pull.max_pages):
            page = await self.client.fetch(cursor, pull)
            for item in page.items:
                try:
                    new += not (await self.take(item)).duplicate
                except BadRequest as e:
                    self.log.warning("feed.rejected", cursor=cursor, reason=e.message)
            if page.next_cursor is None or page.next_cursor == cursor:
                break  # no cursor, or the platform repeated the page: ask again next time
            await self.context.redis.set(key, page.next_cursor)
            cursor = page.next_cursor
            if not page.has_more:
                break
        return new

    async def check(self) -> CheckResult:
        if self.settings.pull is None:
            return CheckResult(ok=True, detail="push only: nothing to probe")
        try:
            await self.client.fetch(self.settings.pull.initial_cursor, self.settings.pull)
        except HotlineError as e:
            return CheckResult(ok=False, detail=e.message)
        return CheckResult(ok=True, detail="the platform answers the pull API")

    # --- write-back -----------------------------------------------------------------------------

    async def on_event(self, appeal: Appeal, event: dict[str, Any]) -> None:
        wb = self.settings.writeback
        event_type = str(event.get("type", ""))
        if not wb.enabled or appeal.upstream is None or event_type not in wb.actions:
            return
        try:
            reply = await self._reply_text(appeal.appeal_no) if event_type == "replied" else None
            item = writeback_item(
                appeal.appeal_no, appeal.upstream.number, event, item_id=uuid.uuid4().hex, text=reply
            )
            await self.queue.put(item)
        except RedisError as e:
            self.log.error(
                "feed.writeback_failed", appeal_no=appeal.appeal_no, type=event_type, error=type(e).__name__
            )
            return
        self.log.info("feed.writeback_queued", appeal_no=appeal.appeal_no, type=event_type)
        self.sender.wake.set()

    async def _reply_text(self, appeal_no: str) -> str | None:
        stored = await self.context.redis.hget(self.context.keys.appeal(appeal_no), "reply")
        if not stored:
            return None
        content = json.loads(stored).get("content")
        return str(content) if content else None

    async def writeback_pending(self) -> list[dict[str, Any]]:
        return await self.queue.pending()

    async def writeback_failures(self, limit: int = 100) -> list[dict[str, Any]]:
        """Write-backs that kept failing (newest first), for the operators."""
        return await self.queue.failures(limit)

    async def answer(self, appeal: Appeal, text: str) -> AnswerResult:
        wb = self.settings.writeback
        if wb.enabled and "replied" in wb.actions and appeal.upstream is not None:
            return AnswerResult(
                delivered=True, via="upstream", detail="the reply is written back; the platform answers"
            )
        return AnswerResult(delivered=False, via="upstream", detail="write-back of replies is off")

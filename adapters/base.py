"""The adapter contract: what every adapter kind implements and what the gateway gives it.

An *adapter kind* is code (``portal``, ``wechat``, ...); a *channel* is configuration (an id, a kind,
settings). The gateway makes one adapter instance per enabled channel.

Life of an adapter:

1. ``__init__(channel_id, settings, context)`` only keeps its arguments: no I/O. State an adapter
   must keep across restarts (an IMAP cursor, a cached token) goes to Redis under ``state_key()``.
2. ``check()`` answers whether its credentials and peers work, as a :class:`CheckResult`; a bad
   credential is a result, not an exception.
3. ``start()`` begins work (a poller starts polling); ``aclose()`` stops it. Both are idempotent.
4. Webhook kinds return ``routes()``, mounted under ``/channels/{channel_id}``; a kind whose protocol
   fixes its own URLs (Open311) adds ``shared_routes()`` serving all its channels. Each handler
   carries ``@describe(query=..., headers=..., body={content type: model})``
   (``gateway.api.declare``): the models it validates with, which ``/openapi.json`` then shows.
5. For each message: verify (signature, token) -> parse (the pure ``decode`` module) ->
   ``context.intake.submit(InboundMessage)`` -> acknowledge. ``submit`` returns only once the appeal is
   durably stored; a retry with the same external id returns the first appeal number with
   ``duplicate=True``. If storage is down it raises :class:`~gateway.errors.StorageUnavailable`: do not
   acknowledge; let the error answer 503 so the channel retries.
6. ``answer(appeal, text)`` carries the centre's answer to the citizen where the kind can.
7. ``on_event(appeal, event)`` hears every later step of the loop (kinds that write back upstream).

Parsing: bodies through ``adapters.parsing`` (bounded JSON and forms), each surface's query, headers
or body checked against its declared pydantic model (``validated``); every failure a 4xx before
anything is stored; once stored, always answered as accepted. A hint (urgency, category) the gateway
does not know is kept as a note, never refused.

Errors: raise the gateway's errors (``gateway.errors``): ``Unauthorized`` for a forged or missing
credential, ``BadRequest`` for malformed input, ``PayloadTooLarge``; the gateway answers each as JSON
with its status. ``AdapterAuthError`` means an outside platform refused *our* credential: the
gateway parks the channel until it is reconfigured.
"""

from __future__ import annotations

import asyncio
from abc import ABC
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, TypeVar

from aiohttp import web
from pydantic import BaseModel

from gateway.errors import PayloadTooLarge
from normalizer.schema import Appeal, AppealDraft

if TYPE_CHECKING:
    import redis.asyncio as aioredis
    import structlog

    from gateway.store import Keys


def raise_if_cancelled() -> None:
    """Re-raise a cancel that a client library turned into its own error (redis-py can: a cancel
    landing inside a command may surface as a connection error). A background loop that catches
    such errors to retry calls this in its handler, so stopping it always stops it."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


async def wait_event(event: asyncio.Event, seconds: float) -> bool:
    """Wait until ``event`` is set, at most ``seconds``; True when it was set. A background loop
    sleeps with this: a cancel always stops it, where ``asyncio.wait_for`` on Python 3.11 drops a
    cancel that lands as the event is set (the loop then runs on, and a stop waits for it)."""
    try:
        async with asyncio.timeout(seconds):
            await event.wait()
    except TimeoutError:
        return False
    return True


async def stop_task(task: asyncio.Task[Any], seconds: float) -> bool:
    """Cancel ``task`` and wait at most ``seconds`` for it to end; True when it ended. Never
    waits longer, even for a task that will not stop (``asyncio.wait_for`` waits for ever then)."""
    task.cancel()
    done, _ = await asyncio.wait([task], timeout=seconds)
    return bool(done)


@dataclass(frozen=True)
class Capabilities:
    """What a kind does, declared up front (the conformance kit picks its checks from this)."""

    webhook: bool = False
    poller: bool = False
    can_answer: bool = False
    native_ack: bool = False
    writes_back: bool = False
    """Wants the loop's events (signing, return, extension, reply, filing) to report them upstream."""


@dataclass(frozen=True)
class InboundMessage:
    """What every kind hands the gateway: the draft, the raw bytes (kept for audit) and a stable
    channel message id (``draft.external_id``) for deduplication."""

    channel_id: str
    raw: bytes
    content_type: str
    draft: AppealDraft
    thread: str | None = None
    """Messages of one thread (a sender) arriving within ``hold_seconds`` of each other become one
    appeal: the first gets the appeal number, the rest are merged into it before it is routed."""
    hold_seconds: float = 0.0

    @property
    def external_id(self) -> str:
        return self.draft.external_id


@dataclass(frozen=True)
class Receipt:
    appeal_no: str
    duplicate: bool
    merged: bool = False


@dataclass(frozen=True)
class AppealStatus:
    """What a channel may show the citizen about an appeal: no personal data."""

    appeal: Appeal
    state: str
    unit_name: str | None
    updated_at: datetime
    notes: tuple[str, ...] = ()
    expected_at: datetime | None = None
    """When the unit's reply is due (the reply deadline), once the appeal has one."""


class Intake(Protocol):
    async def submit(self, message: InboundMessage) -> Receipt:
        """Store a message as an appeal (or merge it into its thread's held appeal)."""
        ...

    async def add_to(self, appeal_no: str, message: InboundMessage) -> Receipt:
        """Record a citizen's follow-up (a reply to our acknowledgement) on an existing appeal."""
        ...

    async def status(self, appeal_no: str) -> AppealStatus | None:
        """What a channel may show about one of its appeals, from Redis or, past retention, the record."""
        ...

    async def received(self, channel_id: str, start: datetime, end: datetime, limit: int) -> list[str]:
        """The channel's appeal numbers received in [start, end], newest first, from the record
        (a second behind the loop): for a channel that lists its requests."""
        ...


@dataclass(frozen=True)
class AdapterContext:
    """What the gateway lends an adapter: durable intake, a clock, a logger."""

    intake: Intake
    clock: Callable[[], datetime]
    log: structlog.stdlib.BoundLogger
    max_body_bytes: int
    redis: aioredis.Redis
    """For an adapter's own state (cursors, tokens, pending fragments): use ``state_key``."""
    keys: Keys


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    detail: str = ""


@dataclass(frozen=True)
class AnswerResult:
    delivered: bool
    via: str
    detail: str = ""


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
CHANNEL_ID: web.RequestKey[str] = web.RequestKey("channel_id", str)
"""Set by a shared route (Open311) once it knows the request's channel: channel health counts it."""


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    handler: Handler


S = TypeVar("S", bound=BaseModel)


class Adapter(ABC, Generic[S]):
    """Base of every adapter kind. Subclasses set ``kind``, ``Config`` and ``capabilities``."""

    kind: ClassVar[str]
    Config: ClassVar[type[BaseModel]]
    capabilities: ClassVar[Capabilities]

    def __init__(self, channel_id: str, settings: S, context: AdapterContext) -> None:
        self.channel_id = channel_id
        self.settings = settings
        self.context = context
        self.log = context.log.bind(channel=channel_id, kind=self.kind)

    async def read_body(self, request: web.Request) -> bytes:
        """The request body, refused with 413 when it is over ``context.max_body_bytes``."""
        limit = self.context.max_body_bytes
        if request.content_length is not None and request.content_length > limit:
            raise PayloadTooLarge(f"the body is larger than {limit} bytes")
        body = await request.read()
        if len(body) > limit:
            raise PayloadTooLarge(f"the body is larger than {limit} bytes")
        return body

    def state_key(self, *parts: str) -> str:
        """A Redis key of this channel's own state: ``hl:adapter:<channel id>:<parts>``."""
        return self.context.keys.k("adapter", self.channel_id, *parts)

    def routes(self) -> Sequence[Route]:
        """Routes under ``/channels/{channel_id}`` (webhook kinds)."""
        return ()

    @classmethod
    def shared_routes(cls, adapters: Sequence[Any]) -> Sequence[Route]:
        """Absolute routes serving every channel of this kind (protocols with fixed URLs)."""
        return ()

    async def check(self) -> CheckResult:
        return CheckResult(ok=True, detail="nothing to check")

    async def start(self) -> None:
        """Begin work (pollers). Idempotent."""

    async def aclose(self) -> None:
        """Stop work and release resources. Idempotent."""

    async def health(self) -> dict[str, Any]:
        """A poller's own view for channel health (from Redis, so any process can ask): ``state``
        (``connected``; ``degraded``, ``reconnecting`` or ``connecting`` show the channel degraded;
        ``down``, ``auth_failed`` or ``stopped`` show it down), ``at`` (ISO time it last reported)
        or ``lag_seconds``, ``error``. Webhook kinds keep the default, nothing: the gateway counts
        their endpoint's outcomes (received, rejected 4xx, failed 5xx) itself."""
        return {}

    async def on_event(self, appeal: Appeal, event: dict[str, Any]) -> None:
        """Called (in the background) after each step of the loop on one of this channel's appeals,
        for kinds with ``capabilities.writes_back``. ``event`` is the history event: ``type``
        (signed, returned, sub_assigned, progress, extension_requested, extension_decided, replied,
        visited, filed, reopened, dispatched, manual), ``actor``, ``at`` and its details. A kind that
        reports upstream must make that durable and retried itself (its own Redis state)."""

    async def answer(self, appeal: Appeal, text: str) -> AnswerResult:
        """Carry an answer to the citizen. Kinds that cannot answer say so."""
        return AnswerResult(delivered=False, via="none", detail=f"{self.kind} cannot answer")

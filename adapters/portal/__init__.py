"""The ``portal`` kind: web and app forms speaking Open311 GeoReport v2, in JSON and XML.

Serves, for every portal channel at once (the ``api_key`` tells which channel a request came by):
``GET /open311/discovery.{json,xml}``, ``GET /open311/v2/services.{fmt}``,
``GET /open311/v2/services/{code}.{fmt}``, ``POST /open311/v2/requests.{fmt}``,
``GET /open311/v2/requests.{fmt}`` (the list, with the spec's filters) and
``GET /open311/v2/requests/{id}.{fmt}``. Errors are answered in Open311's format
(``[{"code": .., "description": ..}]`` or ``<errors>``). Status reads show no personal data unless
the channel opts a field in, and are rate limited per client key and per client address.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

from aiohttp import web

from adapters.base import CHANNEL_ID, Adapter, AnswerResult, Capabilities, InboundMessage, Route
from adapters.parsing import headers_as, load_form, load_object, validated
from adapters.portal.config import PortalConfig
from adapters.portal.decode import SERVICES, ServiceRequestFields, decode_request, request_view
from adapters.portal.open311 import (
    LIST_LIMIT,
    ClientHeaders,
    RequestsQuery,
    StatusQuery,
    WriteHeaders,
    answer,
    check_codes,
    discovery,
)
from adapters.signatures import same
from gateway.api.declare import describe
from gateway.errors import (
    BadRequest,
    HotlineError,
    NotFound,
    RateLimited,
    TransientError,
    Unauthorized,
    UnsupportedMediaType,
)
from normalizer import Appeal, appeal_day

__all__ = ["PortalAdapter", "PortalConfig"]

FORM = "application/x-www-form-urlencoded"
FMT = "{fmt:json|xml}"
CODES = tuple(s["service_code"] for s in SERVICES)
STARTED = datetime.now().astimezone()
"""The discovery document's changeset: when this process started serving it."""
KEYED = {401: "api_key (or X-Api-Key) missing or not valid", 429: "too many status reads: Retry-After"}


def _open311_errors(
    handler: Callable[[web.Request], Awaitable[web.Response]],
) -> Callable[[web.Request], Awaitable[web.Response]]:
    @functools.wraps(handler)  # keeps the handler's @describe
    async def wrapped(request: web.Request) -> web.Response:
        try:
            return await handler(request)
        except HotlineError as e:
            headers = {"Retry-After": str(int(e.retry_after))} if isinstance(e, TransientError) else None
            errors = [{"code": e.status, "description": e.message}]
            return answer(
                request.match_info.get("fmt", "json"), "errors", errors, status=e.status, headers=headers
            )

    return wrapped


def _fields(body: bytes, content_type: str) -> dict[str, str]:
    if content_type == FORM:
        return load_form(body)
    if content_type == "application/json":
        fields = {}
        for key, value in load_object(body).items():
            if isinstance(value, dict | list):
                raise BadRequest(f"{key} must be a string or a number", field=key)
            if value is not None:
                fields[key] = str(value).lower() if isinstance(value, bool) else str(value)
        return fields
    raise UnsupportedMediaType(f"send {FORM} or application/json")


class PortalAdapter(Adapter[PortalConfig]):
    kind = "portal"
    Config = PortalConfig
    capabilities = Capabilities(webhook=True, can_answer=True, native_ack=True)

    def key_matches(self, key: str) -> bool:
        return same(key, self.settings.api_key.get_secret_value())

    @classmethod
    def shared_routes(cls, adapters: Sequence[Any]) -> Sequence[Route]:
        portals: list[PortalAdapter] = [a for a in adapters if isinstance(a, PortalAdapter)]

        def channel_for(key: str | None) -> PortalAdapter:
            if not key:
                raise Unauthorized("api_key is required")
            for adapter in portals:
                if adapter.key_matches(key):
                    return adapter
            raise Unauthorized("api_key is not valid")

        def reader(request: web.Request) -> PortalAdapter:
            return channel_for(request.headers.get("X-Api-Key") or request.query.get("api_key"))

        @_open311_errors
        @describe()
        async def find(request: web.Request) -> web.Response:
            """Open311 service discovery: the endpoint, its specification and formats."""
            first = portals[0]
            base = f"{request.scheme}://{request.host}"
            doc = discovery(base, first.settings.contact, STARTED)
            return answer(request.match_info["fmt"], "discovery", doc)

        @_open311_errors
        @describe()
        async def services(request: web.Request) -> web.Response:
            """Open311 service list: the appeal types a request may name as service_code."""
            return answer(request.match_info["fmt"], "services", list(SERVICES))

        @_open311_errors
        @describe(responses={404: "no such service_code"})
        async def definition(request: web.Request) -> web.Response:
            """Open311 service definition (no extra attributes)."""
            code = request.match_info["code"]
            check_codes((code,), CODES)
            return answer(
                request.match_info["fmt"], "service_definition", {"service_code": code, "attributes": []}
            )

        @_open311_errors
        @describe(
            headers=WriteHeaders,
            body={FORM: ServiceRequestFields, "application/json": ServiceRequestFields},
            responses={
                200: "a retry: the first request's id",
                201: "stored: the new request's id",
                401: KEYED[401],
                404: "unknown service_code or jurisdiction_id",
                503: "store down: Retry-After",
            },
        )
        async def create(request: web.Request) -> web.Response:
            """Open311 POST service request: a new appeal (a form, as the spec says, or JSON)."""
            header_key = request.headers.get("X-Api-Key")
            adapter = channel_for(header_key) if header_key else None  # before parsing anything
            headers = headers_as(WriteHeaders, request.headers)
            body = await first_portal.read_body(request)
            fields = _fields(body, request.content_type)
            adapter = adapter or channel_for(fields.get("api_key"))
            request[CHANNEL_ID] = adapter.channel_id  # channel health counts messages, not status reads
            return await adapter.create(request, fields, headers.idempotency_key)

        @_open311_errors
        @describe(
            query=StatusQuery,
            headers=ClientHeaders,
            responses=KEYED | {404: "no such request on this channel"},
        )
        async def show(request: web.Request) -> web.Response:
            """Open311 GET service request: its status, without personal data unless opted in."""
            adapter = reader(request)
            validated(StatusQuery, dict(request.query))
            await adapter.limit_reads(request)
            view = await adapter.view(request.match_info["id"])
            if view is None:
                raise NotFound(f"service_request_id {request.match_info['id']} not found")
            return answer(request.match_info["fmt"], "service_requests", [view])

        @_open311_errors
        @describe(
            query=RequestsQuery,
            headers=ClientHeaders,
            responses=KEYED | {404: "unknown service_code"},
        )
        async def listing(request: web.Request) -> web.Response:
            """Open311 GET service requests: the channel's requests, newest first, filtered."""
            adapter = reader(request)
            query = validated(RequestsQuery, dict(request.query))
            await adapter.limit_reads(request)
            return answer(request.match_info["fmt"], "service_requests", await adapter.search(query))

        first_portal = portals[0]
        return (
            Route("GET", f"/open311/discovery.{FMT}", find),
            Route("GET", f"/open311/v2/discovery.{FMT}", find),
            Route("GET", f"/open311/v2/services.{FMT}", services),
            Route("GET", f"/open311/v2/services/{{code:[^/.]+}}.{FMT}", definition),
            Route("POST", f"/open311/v2/requests.{FMT}", create),
            Route("GET", f"/open311/v2/requests.{FMT}", listing),
            Route("GET", f"/open311/v2/requests/{{id:[^/.]+}}.{FMT}", show),
        )

    # --- writing --------------------------------------------------------------------------------

    async def create(
        self, request: web.Request, fields: dict[str, str], idempotency_key: str | None = None
    ) -> web.Response:
        jurisdiction = fields.get("jurisdiction_id")
        if jurisdiction and jurisdiction != self.settings.jurisdiction_id:
            raise NotFound(f"jurisdiction_id {jurisdiction!r} not found", field="jurisdiction_id")
        fields.pop("api_key", None)  # never kept in the raw payload
        draft = decode_request(
            fields,
            idempotency_key=idempotency_key,
            day=appeal_day(self.context.clock()),
        )
        raw = json.dumps(fields, ensure_ascii=False, sort_keys=True).encode()
        receipt = await self.context.intake.submit(
            InboundMessage(self.channel_id, raw, "application/json", draft)
        )
        self.log.info("appeal.received", appeal_no=receipt.appeal_no, duplicate=receipt.duplicate)
        notice = "重复提交，已合并到原诉求" if receipt.duplicate else "您的诉求已受理"
        created = {"service_request_id": receipt.appeal_no, "service_notice": notice, "account_id": None}
        status = 200 if receipt.duplicate else 201
        return answer(request.match_info.get("fmt", "json"), "service_requests", [created], status=status)

    # --- reading --------------------------------------------------------------------------------

    async def limit_reads(self, request: web.Request) -> None:
        """Status reads per client key and per client address, in windows of one minute."""
        minute = int(self.context.clock().timestamp() // 60)
        address = request.remote or "unknown"
        limits = (
            (self.state_key("reads", "key", str(minute)), self.settings.reads_per_minute_per_key),
            (
                self.context.keys.k("open311", "reads", "addr", address, str(minute)),
                self.settings.reads_per_minute_per_address,
            ),
        )
        async with self.context.redis.pipeline(transaction=True) as pipe:
            for key, _ in limits:
                pipe.incr(key)
                pipe.expire(key, 120)
            counts = await pipe.execute()
        for (_, limit), used in zip(limits, counts[::2], strict=True):
            if int(used) > limit:
                left = 60 - int(self.context.clock().timestamp()) % 60
                raise RateLimited("too many status reads; try again later", retry_after=max(left, 1))

    async def view(self, appeal_no: str) -> dict[str, Any] | None:
        status = await self.context.intake.status(appeal_no)
        if status is None or status.appeal.channel_id != self.channel_id:
            return None
        return request_view(status, self.settings.public_fields)

    async def search(self, query: RequestsQuery) -> list[dict[str, Any]]:
        """``GET requests``: by ids, or by service code, status and requested_datetime range."""
        if query.ids:
            found = [await self.view(appeal_no) for appeal_no in query.ids]
            return [v for v in found if v is not None]
        check_codes(query.codes, CODES)
        start, end = query.window(self.context.clock())
        numbers = await self.context.intake.received(self.channel_id, start, end, LIST_LIMIT * 2)
        views: list[dict[str, Any]] = []
        for number in numbers:
            view = await self.view(number)
            if view is None:
                continue
            if query.codes and view["service_code"] not in query.codes:
                continue
            if query.statuses and view["status"] not in query.statuses:
                continue
            views.append(view)
            if len(views) >= LIST_LIMIT:
                break
        return views

    async def answer(self, appeal: Appeal, text: str) -> AnswerResult:
        # Open311 has no push: the answer shows in the request's status_notes when polled.
        return AnswerResult(delivered=True, via="open311 status_notes")

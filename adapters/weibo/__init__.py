"""The ``weibo`` kind: a government Weibo account's private messages (粉丝服务平台 message push).

One URL, ``/channels/<channel id>``: ``GET`` answers Weibo's URL verification (echostr), ``POST``
takes pushes. Every request carries ``signature`` = sha1 of the sorted app secret, ``timestamp``
and ``nonce``; it is checked before the body is read. A message becomes an appeal (one per sender_id
+ created_at; a retried push gets the same appeal number back) and is answered with a passive JSON
reply carrying the appeal number. A new follower gets a welcome and no appeal.
"""

from __future__ import annotations

from collections.abc import Sequence

from aiohttp import web

from adapters.base import Adapter, Capabilities, InboundMessage, Route
from adapters.signatures import echo, verify_sorted_sha1
from adapters.weibo.config import WeiboConfig
from adapters.weibo.decode import Push, decode_push, parse_json, text_reply
from gateway.errors import Unauthorized
from gateway.http import json_response

__all__ = ["WeiboAdapter", "WeiboConfig"]


class WeiboAdapter(Adapter[WeiboConfig]):
    kind = "weibo"
    Config = WeiboConfig
    capabilities = Capabilities(webhook=True, native_ack=True)

    def routes(self) -> Sequence[Route]:
        return (Route("GET", "", self.verify_url), Route("POST", "", self.receive))

    def _check_signature(self, request: web.Request) -> None:
        try:
            verify_sorted_sha1(
                request.query,
                self.settings.app_secret.get_secret_value(),
                now=self.context.clock().timestamp(),
                tolerance=self.settings.timestamp_tolerance_seconds,
                seconds=lambda ts: int(ts[:12]),
            )
        except Unauthorized as e:
            self._refused(request, str(e.detail.get("reason")))
            raise

    def _refused(self, request: web.Request, reason: str) -> None:
        self.log.warning("weibo.refused", reason=reason, method=request.method, peer=request.remote)

    async def verify_url(self, request: web.Request) -> web.Response:
        self._check_signature(request)
        return echo(request.query)

    async def receive(self, request: web.Request) -> web.Response:
        self._check_signature(request)  # before the body is read
        body = await self.read_body(request)
        push = decode_push(parse_json(body))
        answer = await self._handle(push, body)
        if answer is None:
            return web.Response(text="", content_type="text/plain")
        return json_response(text_reply(push, answer))

    async def _handle(self, push: Push, raw: bytes) -> str | None:
        if push.kind == "follow":
            self.log.info("weibo.followed")
            return self.settings.welcome
        if push.draft is None:
            self.log.info("weibo.event_ignored", weibo_event=push.event)
            return None
        receipt = await self.context.intake.submit(
            InboundMessage(
                self.channel_id,
                raw,
                "application/json",
                push.draft,
                thread=push.sender_id,
                hold_seconds=self.settings.hold_seconds,
            )
        )
        self.log.info(
            "appeal.received", appeal_no=receipt.appeal_no, duplicate=receipt.duplicate, merged=receipt.merged
        )
        template = self.settings.merged_reply if receipt.merged else self.settings.accepted_reply
        return template.format(appeal_no=receipt.appeal_no)

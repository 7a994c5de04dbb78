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
from adapters.parsing import load_object
from adapters.signatures import SignedQuery, UrlVerification, echo, remember_nonce, verify_sorted_sha1
from adapters.weibo.config import WeiboConfig
from adapters.weibo.decode import Push, WeiboPush, decode_push, text_reply
from gateway.api.declare import describe
from gateway.errors import Unauthorized
from gateway.http import json_response

__all__ = ["WeiboAdapter", "WeiboConfig"]

NONCE_KEPT = 86400.0
"""How long a nonce is remembered when the timestamp check is off."""
REFUSED = {401: "signature missing or wrong, a stale timestamp, or a replayed nonce"}


class WeiboAdapter(Adapter[WeiboConfig]):
    kind = "weibo"
    Config = WeiboConfig
    capabilities = Capabilities(webhook=True, native_ack=True)

    def routes(self) -> Sequence[Route]:
        return (Route("GET", "", self.verify_url), Route("POST", "", self.receive))

    async def _check_signature(self, request: web.Request, *, once: bool) -> SignedQuery:
        """The signed query (seconds or milliseconds); with ``once``, its nonce is remembered."""
        tolerance = self.settings.timestamp_tolerance_seconds
        try:
            signed = verify_sorted_sha1(
                request.query,
                self.settings.app_secret.get_secret_value(),
                now=self.context.clock().timestamp(),
                tolerance=tolerance,
            )
            if once:
                key = self.state_key("nonce", signed.nonce)
                await remember_nonce(
                    self.context.redis, key, signed.timestamp, seconds=2 * tolerance or NONCE_KEPT
                )
        except Unauthorized as e:
            self._refused(request, str(e.detail.get("reason")))
            raise
        return signed

    def _refused(self, request: web.Request, reason: str) -> None:
        self.log.warning("weibo.refused", reason=reason, method=request.method, peer=request.remote)

    @describe(query=UrlVerification, responses=REFUSED)
    async def verify_url(self, request: web.Request) -> web.Response:
        """Weibo's URL verification: ``echostr`` echoed to a correctly signed GET."""
        await self._check_signature(request, once=False)
        return echo(request.query)

    @describe(
        query=SignedQuery,
        body={"application/json": WeiboPush},
        responses=REFUSED | {503: "store down: Weibo pushes again"},
    )
    async def receive(self, request: web.Request) -> web.Response:
        """A private message or event pushed by Weibo (JSON); a signed query is good once.

        The passive JSON reply carries the appeal number; a follow gets the welcome.
        """
        await self._check_signature(request, once=True)  # before the body is read
        body = await self.read_body(request)
        push = decode_push(load_object(body))
        answer = await self._handle(push, body)
        if answer is None:
            return web.Response(text="", content_type="text/plain")
        try:
            return json_response(text_reply(push, answer))
        except Exception:  # stored is accepted: a 5xx here would make Weibo re-push forever
            self.log.exception("weibo.reply_failed")
            return web.Response(text="", content_type="text/plain")

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

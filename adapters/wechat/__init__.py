"""The ``wechat`` kind: a WeChat official account's server (服务器配置) on WeChat's own protocol.

One URL, ``/channels/<channel id>``: ``GET`` answers WeChat's URL verification (echostr), ``POST``
takes messages and events. Every request is signed (``signature`` = sha1 of the sorted token,
timestamp and nonce); it is checked before the body is read. In compatible and safe mode an
encrypted body (``encrypt_type=aes``) is also checked against ``msg_signature`` and decrypted with
wechatpy's crypto; the passive reply is then encrypted too.

WeChat waits 5 seconds and retries a message three times: a retry (same MsgId) gets the same appeal
number back. A citizen's messages within ``hold_seconds`` become one appeal (the intake's thread, by
openid); a LOCATION event is kept for the citizen's next message. Answers go out as customer-service
messages (客服消息) while the citizen's 48-hour window is open; past it the operator is told to
answer another way.
"""

from __future__ import annotations

from collections.abc import Sequence

from aiohttp import web
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException

from adapters.base import Adapter, AnswerResult, Capabilities, CheckResult, InboundMessage, Route
from adapters.parsing import validated
from adapters.signatures import SignedQuery, UrlVerification, echo, same, sorted_sha1, verify_sorted_sha1
from adapters.wechat.client import OutsideWindow, WechatApi
from adapters.wechat.config import WechatConfig
from adapters.wechat.decode import (
    Inbound,
    WechatPush,
    WechatQuery,
    decode_message,
    parse_xml,
    text_reply,
    with_coordinates,
)
from gateway.api.declare import describe
from gateway.errors import AdapterAuthError, BadRequest, HotlineError, Unauthorized
from normalizer import Appeal, Coordinates, IdentityKind

__all__ = ["WechatAdapter", "WechatConfig"]

VIA = "wechat customer-service message"
XML = "application/xml"
REFUSED = {401: "signature or msg_signature missing or wrong, a stale timestamp, plaintext in safe mode"}


def masked(openid: str) -> str:
    return openid[:6] + "…" if len(openid) > 6 else "…"


class WechatAdapter(Adapter[WechatConfig]):
    kind = "wechat"
    Config = WechatConfig
    capabilities = Capabilities(webhook=True, can_answer=True, native_ack=True)

    _api: WechatApi | None = None

    def routes(self) -> Sequence[Route]:
        return (Route("GET", "", self.verify_url), Route("POST", "", self.receive))

    # --- inbound -------------------------------------------------------------------------------

    def _check_signature(self, request: web.Request) -> SignedQuery:
        try:
            return verify_sorted_sha1(
                request.query,
                self.settings.token.get_secret_value(),
                now=self.context.clock().timestamp(),
                tolerance=self.settings.timestamp_tolerance_seconds,
            )
        except Unauthorized as e:
            self._refused(request, str(e.detail.get("reason")))
            raise

    def _refused(self, request: web.Request, reason: str) -> None:
        self.log.warning("wechat.refused", reason=reason, method=request.method, peer=request.remote)

    @describe(query=UrlVerification, responses=REFUSED)
    async def verify_url(self, request: web.Request) -> web.Response:
        """WeChat's URL verification: ``echostr`` echoed to a correctly signed GET."""
        self._check_signature(request)
        return echo(request.query)

    def _crypto(self) -> WeChatCrypto:
        key = self.settings.encoding_aes_key
        if key is None:
            raise BadRequest("this channel is in plaintext mode: encrypted messages are not expected")
        return WeChatCrypto(
            self.settings.token.get_secret_value(), key.get_secret_value(), self.settings.app_id
        )

    def _decrypt(self, request: web.Request, outer: dict[str, object], query: WechatQuery) -> bytes:
        encrypt = outer.get("Encrypt")
        msg_signature, timestamp, nonce = query.msg_signature, query.timestamp, query.nonce
        if not isinstance(encrypt, str) or not encrypt:
            raise BadRequest("Encrypt is required", field="Encrypt")
        expected = sorted_sha1(self.settings.token.get_secret_value(), timestamp, nonce, encrypt)
        if not same(msg_signature, expected):
            self._refused(request, "bad_msg_signature")
            raise Unauthorized("msg_signature does not match")
        try:
            plain: str = self._crypto().decrypt_message({"Encrypt": encrypt}, msg_signature, timestamp, nonce)
        except InvalidSignatureException:
            raise Unauthorized("msg_signature does not match") from None
        except InvalidAppIdException:
            self._refused(request, "other_app")
            raise Unauthorized("the message is not for this account") from None
        except HotlineError:
            raise
        except Exception:  # wechatpy lets base64, padding and decoding errors through as they are
            raise BadRequest("Encrypt cannot be decrypted") from None
        return plain.encode()

    @describe(query=WechatQuery, body={XML: WechatPush}, responses=REFUSED | {503: "store down: retry"})
    async def receive(self, request: web.Request) -> web.Response:
        """A message or event pushed by WeChat (XML; in safe mode its ``Encrypt`` element).

        The passive reply carries the appeal number (encrypted when the push was), else ``success``.
        """
        started = self.context.clock()
        self._check_signature(request)  # before the body is read
        query = validated(WechatQuery, dict(request.query))
        nonce = query.nonce
        encrypted = query.encrypt_type == "aes"
        if self.settings.mode == "safe" and not encrypted:
            self._refused(request, "plaintext_in_safe_mode")
            raise Unauthorized("this account is in safe mode: messages must be encrypted")
        body = await self.read_body(request)
        outer = parse_xml(body)
        raw = self._decrypt(request, outer, query) if encrypted else body
        fields = parse_xml(raw) if encrypted else outer
        inbound = decode_message(fields)
        answer = await self._handle(inbound, raw)
        if answer is None:
            return web.Response(text="success", content_type="text/plain")
        now = int(self.context.clock().timestamp())
        try:
            xml = text_reply(inbound, answer, now)
            if encrypted:
                xml = self._crypto().encrypt_message(xml, nonce, str(now))
        except Exception:  # stored is accepted: a 5xx here would make WeChat retry a stored message
            self.log.exception("wechat.reply_failed")
            return web.Response(text="success", content_type="text/plain")
        elapsed = (self.context.clock() - started).total_seconds()
        self.log.debug("wechat.replied", elapsed_ms=round(elapsed * 1000, 1), encrypted=encrypted)
        return web.Response(text=xml, content_type=XML)

    async def _handle(self, inbound: Inbound, raw: bytes) -> str | None:
        """Act on one push; the text to answer the citizen with, or None (``success``)."""
        redis = self.context.redis
        log = self.log.bind(openid=masked(inbound.openid), wechat_type=inbound.kind)
        if inbound.engages:
            now = self.context.clock().timestamp()
            window = int(self.settings.service_window_hours * 3600)
            await redis.set(self.state_key("seen", inbound.openid), f"{now:.0f}", ex=window)
        if inbound.kind == "subscribe":
            log.info("wechat.subscribed")
            return self.settings.welcome
        if inbound.kind == "location" and inbound.coordinates is not None:
            where = inbound.coordinates.model_dump_json()
            ttl = int(self.settings.location_ttl_seconds)
            await redis.set(self.state_key("location", inbound.openid), where, ex=ttl)
            log.info("wechat.location_kept")
            return None
        if inbound.draft is None:
            log.info("wechat.event_ignored", wechat_event=inbound.event)
            return None
        draft = inbound.draft
        location_key = self.state_key("location", inbound.openid)
        kept = await redis.get(location_key)
        if kept is not None:
            draft = with_coordinates(draft, Coordinates.model_validate_json(kept))
        receipt = await self.context.intake.submit(
            InboundMessage(
                self.channel_id,
                raw,
                XML,
                draft,
                thread=inbound.openid,
                hold_seconds=self.settings.hold_seconds,
            )
        )
        if kept is not None:
            await redis.delete(location_key)
        log.info(
            "appeal.received", appeal_no=receipt.appeal_no, duplicate=receipt.duplicate, merged=receipt.merged
        )
        template = self.settings.merged_reply if receipt.merged else self.settings.accepted_reply
        return template.format(appeal_no=receipt.appeal_no)

    # --- outbound ------------------------------------------------------------------------------

    def api(self) -> WechatApi | None:
        secret = self.settings.app_secret
        if secret is None:
            return None
        if self._api is None:
            self._api = WechatApi(
                base_url=self.settings.api_base,
                app_id=self.settings.app_id,
                app_secret=secret.get_secret_value(),
                redis=self.context.redis,
                token_key=self.state_key("access_token"),
                timeout=self.settings.api_timeout_seconds,
            )
        return self._api

    async def check(self) -> CheckResult:
        api = self.api()
        if api is None:
            return CheckResult(ok=True, detail="no app_secret: messages are taken, answers are not sent")
        try:
            await api.token()
        except AdapterAuthError as e:
            return CheckResult(ok=False, detail=e.message)
        except HotlineError as e:
            return CheckResult(ok=False, detail=f"WeChat API: {e.message}")
        return CheckResult(ok=True, detail="access token obtained")

    async def aclose(self) -> None:
        if self._api is not None:
            await self._api.aclose()

    async def answer(self, appeal: Appeal, text: str) -> AnswerResult:
        """A customer-service message to the citizen while their 48-hour window is open."""
        identity = appeal.citizen.identity
        openid = appeal.reply_route.address or (
            identity.value if identity and identity.kind == IdentityKind.wechat_openid else None
        )
        api = self.api()
        if not openid:
            return self._fallback(appeal, "the appeal carries no openid")
        if api is None:
            return self._fallback(appeal, "no app_secret is configured for this account")
        seen = await self.context.redis.get(self.state_key("seen", openid))
        window = self.settings.service_window_hours * 3600
        if seen is None or self.context.clock().timestamp() - float(seen) > window:
            return self._fallback(appeal, "the citizen's 48-hour window has passed")
        try:
            await api.send_text(openid, text)
        except OutsideWindow:
            return self._fallback(appeal, "WeChat says the 48-hour window has passed (45015)")
        except HotlineError as e:
            self.log.error(
                "answer.failed", appeal_no=appeal.appeal_no, via=VIA, error=e.code, detail=e.message
            )
            return AnswerResult(delivered=False, via=VIA, detail=e.message)
        self.log.info("answer.delivered", appeal_no=appeal.appeal_no, via=VIA)
        return AnswerResult(delivered=True, via=VIA)

    def _fallback(self, appeal: Appeal, reason: str) -> AnswerResult:
        """Not delivered: the operator sees why and answers another way (the result is logged)."""
        detail = f"{reason}: answer the citizen by phone or SMS"
        self.log.warning("answer.fallback", appeal_no=appeal.appeal_no, via=VIA, reason=reason)
        return AnswerResult(delivered=False, via=VIA, detail=detail)

"""The ``sms`` kind: citizens' SMS to 12345, pushed by the SMS provider (uplink callbacks).

``POST /channels/{channel_id}/uplink?token=...`` takes the provider chosen by the ``provider`` setting
(Aliyun SmsUp batch push, Tencent Cloud reply callback or a generic form). Providers sign nothing: the
``token`` query parameter (and optionally the client address) is checked before the body is read.
Several SMS from one phone within ``hold_seconds`` become one appeal. The first SMS of an appeal is
acknowledged with its appeal number by template SMS (Aliyun ``SendSms``), after the provider has
been answered, so a slow SMS API never makes the provider re-push.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
from collections.abc import Sequence

from aiohttp import web

from adapters.base import (
    Adapter,
    AdapterContext,
    AnswerResult,
    Capabilities,
    CheckResult,
    InboundMessage,
    Route,
)
from adapters.parsing import validated
from adapters.signatures import same
from adapters.sms.client import AliyunSms
from adapters.sms.config import AliyunSendSettings, SmsConfig
from adapters.sms.decode import (
    ACKS,
    BODIES,
    Rejected,
    UplinkQuery,
    decode_push,
    template_text,
    thread_of,
    to_draft,
)
from gateway.api.declare import describe
from gateway.errors import (
    AdapterAuthError,
    BadMessage,
    BadRequest,
    Forbidden,
    TransientError,
    Unauthorized,
)
from gateway.http import json_response
from normalizer import Appeal, mask_phone
from normalizer.phone import national_digits

__all__ = ["SmsAdapter", "SmsConfig", "sms_number"]

ACK_WAIT_SECONDS = 10.0
FAILED_KEPT = 1000


def sms_number(phone: str) -> str:
    """The number as SendSms wants it: national digits in mainland China, else country code + number."""
    if phone.startswith("+") and not phone.startswith("+86"):
        return "".join(ch for ch in phone if ch.isdigit())
    return national_digits(phone)


class SmsAdapter(Adapter[SmsConfig]):
    kind = "sms"
    Config = SmsConfig
    capabilities = Capabilities(webhook=True, can_answer=True, native_ack=True)

    def __init__(self, channel_id: str, settings: SmsConfig, context: AdapterContext) -> None:
        super().__init__(channel_id, settings, context)
        self._sender: AliyunSms | None = AliyunSms(settings.send) if settings.send else None
        self._pending: set[asyncio.Task[None]] = set()

    def routes(self) -> Sequence[Route]:
        provider = self.settings.provider

        @describe(
            summary=f"Uplink SMS pushed by the provider ({provider})",
            query=UplinkQuery,
            body=BODIES[provider],
            responses={
                401: "the token is missing or wrong",
                403: "the client address is not in allow_from",
                503: "store down: the provider pushes again",
            },
        )
        async def uplink(request: web.Request) -> web.Response:
            return await self.uplink(request)

        return (Route("POST", "/uplink", uplink),)

    def authorize(self, request: web.Request) -> None:
        """Address allowlist (403) and token (401), before anything of the body is read."""
        if self.settings.allow_from:
            try:
                address = ipaddress.ip_address(request.remote or "")
            except ValueError:
                raise Forbidden("the client address is not allowed") from None
            if not any(address in network for network in self.settings.allow_from):
                raise Forbidden("the client address is not allowed")
        token = validated(UplinkQuery, dict(request.query)).token
        expected = self.settings.token.get_secret_value()
        if not token or not same(token, expected):
            raise Unauthorized("the token is missing or not valid")

    async def uplink(self, request: web.Request) -> web.Response:
        self.authorize(request)
        body = await self.read_body(request)
        uplinks, rejected = decode_push(self.settings.provider, body)
        stored = 0
        for sms in uplinks:
            try:
                draft = to_draft(sms)
            except BadRequest as e:
                rejected.append(Rejected(sms.message_id, e.message))
                continue
            held = self.settings.hold_seconds > 0
            receipt = await self.context.intake.submit(
                InboundMessage(
                    self.channel_id,
                    sms.raw,
                    "application/json",
                    draft,
                    thread=thread_of(sms.phone) if held else None,
                    hold_seconds=self.settings.hold_seconds,
                )
            )
            stored += 1
            self.log.info(
                "sms.received",
                appeal_no=receipt.appeal_no,
                message_id=sms.message_id,
                phone=mask_phone(sms.phone),
                duplicate=receipt.duplicate,
                merged=receipt.merged,
            )
            if not receipt.duplicate and not receipt.merged and draft.citizen.phone:
                self._acknowledge(receipt.appeal_no, draft.citizen.phone)
        for item in rejected:
            self.log.warning("sms.rejected", message_id=item.message_id, reason=item.reason)
        if not stored:
            raise BadRequest("the push holds no usable SMS", rejected=[r.reason for r in rejected][:10])
        return json_response(ACKS[self.settings.provider])

    def _acknowledge(self, appeal_no: str, phone: str) -> None:
        if self._sender is None or self.settings.send is None:
            return
        task = asyncio.create_task(self._send_ack(self.settings.send, self._sender, appeal_no, phone))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _send_ack(
        self, send: AliyunSendSettings, sender: AliyunSms, appeal_no: str, phone: str
    ) -> None:
        try:
            sent = await sender.send(
                sms_number(phone), send.ack_template, {send.number_param: appeal_no}, out_id=appeal_no
            )
        except (TransientError, BadMessage, AdapterAuthError) as e:
            self.log.warning("sms.ack_failed", appeal_no=appeal_no, error=e.message)
            await self._record_failure(appeal_no, "ack", e.message)
            return
        self.log.info("sms.ack_sent", appeal_no=appeal_no, biz_id=sent.biz_id, phone=mask_phone(phone))

    async def _record_failure(self, appeal_no: str, what: str, error: str) -> None:
        """Failed acknowledgements are kept (newest first) for the operators to see."""
        entry = json.dumps({"appeal_no": appeal_no, "what": what, "error": error}, ensure_ascii=False)
        key = self.state_key("send_failed")
        try:
            await self.context.redis.lpush(key, entry)
            await self.context.redis.ltrim(key, 0, FAILED_KEPT - 1)
        except Exception as e:  # the store may be down; the log line above already has it
            self.log.warning("sms.failure_not_recorded", appeal_no=appeal_no, error=type(e).__name__)

    async def send_failures(self, limit: int = 100) -> list[dict[str, str]]:
        """Recent acknowledgements and answers that could not be sent (newest first)."""
        items = await self.context.redis.lrange(self.state_key("send_failed"), 0, limit - 1)
        return [json.loads(item) for item in items]

    async def check(self) -> CheckResult:
        if self.settings.send is None:
            return CheckResult(ok=True, detail="no template API configured: SMS are not acknowledged")
        return CheckResult(ok=True, detail="template API configured (not probed: a probe would send an SMS)")

    async def answer(self, appeal: Appeal, text: str) -> AnswerResult:
        send = self.settings.send
        if self._sender is None or send is None or send.answer_template is None:
            return AnswerResult(delivered=False, via="sms", detail="no answer template configured")
        if not appeal.citizen.phone:
            return AnswerResult(delivered=False, via="sms", detail="the appeal has no phone number")
        params = {send.number_param: appeal.appeal_no}
        if send.text_param:
            params[send.text_param] = template_text(text, send.text_max)
        try:
            sent = await self._sender.send(
                sms_number(appeal.citizen.phone), send.answer_template, params, out_id=appeal.appeal_no
            )
        except (TransientError, BadMessage) as e:
            await self._record_failure(appeal.appeal_no, "answer", e.message)
            return AnswerResult(delivered=False, via="sms", detail=e.message)
        self.log.info("sms.answer_sent", appeal_no=appeal.appeal_no, biz_id=sent.biz_id)
        return AnswerResult(delivered=True, via="sms", detail=f"BizId {sent.biz_id}")

    async def aclose(self) -> None:
        if self._pending:
            await asyncio.wait(set(self._pending), timeout=ACK_WAIT_SECONDS)
        if self._sender is not None:
            await self._sender.aclose()

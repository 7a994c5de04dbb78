"""Outbound SMS through Aliyun's ``SendSms`` (dysmsapi, RPC style, version 2017-05-25).

Signature (Aliyun RPC signature v1.0): the request parameters, sorted by name and percent-encoded
per RFC 3986 (space -> ``%20``, ``*`` -> ``%2A``, ``~`` kept), joined as a query string;
``StringToSign = METHOD + "&" + enc("/") + "&" + enc(query)``;
``Signature = base64(HMAC-SHA1(AccessKeySecret + "&", StringToSign))``. The answer is JSON
``{"Code": "OK", "Message": "OK", "BizId": ..., "RequestId": ...}``; any other ``Code`` is a refusal.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

import aiohttp

from adapters.session import LazySession
from adapters.sms.config import AliyunSendSettings
from gateway.errors import AdapterAuthError, BadMessage, TransientError

# Aliyun codes meaning our credential is refused (park the channel) rather than one bad message.
AUTH_CODES = frozenset(
    {
        "InvalidAccessKeyId.NotFound",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "isp.RAM_PERMISSION_DENY",
        "Forbidden.RAM",
    }
)
RETRY_CODES = frozenset(
    {"isp.SYSTEM_ERROR", "Throttling", "isv.BUSINESS_LIMIT_CONTROL", "ServiceUnavailable"}
)


def percent_encode(text: str) -> str:
    return quote(text, safe="-_.~")


def string_to_sign(method: str, params: Mapping[str, str]) -> str:
    query = "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(params.items()))
    return f"{method}&{percent_encode('/')}&{percent_encode(query)}"


def sign(method: str, params: Mapping[str, str], secret: str) -> str:
    digest = hmac.new(f"{secret}&".encode(), string_to_sign(method, params).encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


@dataclass(frozen=True)
class Sent:
    biz_id: str
    request_id: str


class AliyunSms:
    """Sends template SMS. Errors: :class:`AdapterAuthError` (our key refused),
    :class:`TransientError` (network, throttling: try later), :class:`BadMessage` (this SMS refused)."""

    def __init__(self, settings: AliyunSendSettings) -> None:
        self.settings = settings
        self._client = LazySession(aiohttp.ClientTimeout(total=settings.timeout_seconds))

    def request_params(
        self,
        phone: str,
        template: str,
        params: Mapping[str, str],
        *,
        now: datetime,
        nonce: str,
        out_id: str = "",
    ) -> dict[str, str]:
        s = self.settings
        query = {
            "AccessKeyId": s.access_key_id,
            "Action": "SendSms",
            "Format": "JSON",
            "PhoneNumbers": phone,
            "RegionId": s.region_id,
            "SignName": s.sign_name,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": nonce,
            "SignatureVersion": "1.0",
            "TemplateCode": template,
            "TemplateParam": json.dumps(dict(params), ensure_ascii=False, separators=(",", ":")),
            "Timestamp": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": "2017-05-25",
        }
        if out_id:
            query["OutId"] = out_id[:64]
        query["Signature"] = sign("POST", query, s.access_key_secret.get_secret_value())
        return query

    async def send(self, phone: str, template: str, params: Mapping[str, str], *, out_id: str = "") -> Sent:
        query = self.request_params(
            phone, template, params, now=datetime.now(UTC), nonce=uuid.uuid4().hex, out_id=out_id
        )
        try:
            async with self._client().post(self.settings.endpoint, data=query) as response:
                text = await response.text()
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as e:
            raise TransientError(f"SendSms unreachable: {type(e).__name__}") from e
        try:
            body = json.loads(text)
            code = str(body.get("Code", ""))
        except (json.JSONDecodeError, AttributeError):
            raise TransientError(f"SendSms answered {status} without JSON") from None
        if code == "OK":
            return Sent(str(body.get("BizId", "")), str(body.get("RequestId", "")))
        message = str(body.get("Message", ""))[:200]
        if code in AUTH_CODES:
            raise AdapterAuthError(f"Aliyun refused our AccessKey: {code}", code=code)
        if code in RETRY_CODES or status >= 500:
            raise TransientError(f"SendSms {code}: {message}", code=code)
        raise BadMessage(f"SendSms {code}: {message}", code=code)

    async def aclose(self) -> None:
        await self._client.aclose()

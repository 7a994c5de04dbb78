"""An in-process stand-in for Aliyun's SMS ``SendSms`` API (dysmsapi, RPC style, 2017-05-25), built from
its documented format: form-encoded parameters, signature v1.0 (HMAC-SHA1 over the sorted,
RFC 3986-encoded parameters, key = AccessKeySecret + "&"), answer ``{"Code": "OK", ...}``.
The signature is recomputed here from the documentation, independently of ``adapters.sms.client``."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import urllib.parse
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

ACCESS_KEY_ID = "test-access-key-id"
ACCESS_KEY_SECRET = "test-access-key-secret"
REQUIRED = (
    "AccessKeyId",
    "Action",
    "Format",
    "PhoneNumbers",
    "RegionId",
    "SignName",
    "SignatureMethod",
    "SignatureNonce",
    "SignatureVersion",
    "TemplateCode",
    "Timestamp",
    "Version",
)


def _enc(text: str) -> str:
    return urllib.parse.quote(text, safe="").replace("+", "%20").replace("*", "%2A").replace("%7E", "~")


def documented_signature(params: dict[str, str], secret: str) -> str:
    canonical = "&".join(f"{_enc(k)}={_enc(params[k])}" for k in sorted(params) if k != "Signature")
    to_sign = "POST&%2F&" + _enc(canonical)
    return base64.b64encode(
        hmac.new((secret + "&").encode(), to_sign.encode(), hashlib.sha1).digest()
    ).decode()


@dataclass
class SmsStandIn:
    url: str = ""
    sent: list[dict[str, Any]] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)  # planned answers, "OK" once the list is empty
    nonces: set[str] = field(default_factory=set)
    arrived: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def handle(self, request: web.Request) -> web.Response:
        params = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
        request_id = uuid.uuid4().hex.upper()
        missing = [name for name in REQUIRED if name not in params]
        if missing:
            return web.json_response(
                {"Code": "MissingParameter", "Message": missing[0], "RequestId": request_id}
            )
        if params["AccessKeyId"] != ACCESS_KEY_ID:
            return web.json_response({"Code": "InvalidAccessKeyId.NotFound", "RequestId": request_id})
        if params.get("Signature") != documented_signature(params, ACCESS_KEY_SECRET):
            return web.json_response({"Code": "SignatureDoesNotMatch", "RequestId": request_id})
        if params["SignatureNonce"] in self.nonces:
            return web.json_response({"Code": "SignatureNonceUsed", "RequestId": request_id})
        self.nonces.add(params["SignatureNonce"])
        code = self.codes.pop(0) if self.codes else "OK"
        if code != "OK":
            return web.json_response({"Code": code, "Message": code, "RequestId": request_id})
        async with self.arrived:
            self.sent.append(params | {"TemplateParam": json.loads(params.get("TemplateParam", "{}"))})
            self.arrived.notify_all()
        return web.json_response(
            {"Code": "OK", "Message": "OK", "BizId": f"biz{len(self.sent)}", "RequestId": request_id}
        )

    async def wait_for(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        async with self.arrived:
            await asyncio.wait_for(self.arrived.wait_for(lambda: len(self.sent) >= count), timeout)
        return list(self.sent)


SMS_TOKEN = "test-sms-token"
UPLINK = "/channels/sms-12345/uplink"


@contextlib.asynccontextmanager
async def running_standin() -> AsyncIterator[SmsStandIn]:
    """The provider stand-in as a real HTTP server on 127.0.0.1."""
    stand = SmsStandIn()
    app = web.Application()
    app.router.add_post("/", stand.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    stand.url = str(server.make_url("/"))
    try:
        yield stand
    finally:
        await server.close()


def sms_env(receiver_url: str, standin: SmsStandIn) -> dict[str, str]:
    """The sample environment with the SMS channel's callback token and template API set."""
    from tests.conftest import sample_env

    return sample_env(receiver_url) | {
        "SMS_CALLBACK_TOKEN": SMS_TOKEN,
        "SMS_SEND_ENDPOINT": standin.url,
        "SMS_ACCESS_KEY_ID": ACCESS_KEY_ID,
        "SMS_ACCESS_KEY_SECRET": ACCESS_KEY_SECRET,
    }

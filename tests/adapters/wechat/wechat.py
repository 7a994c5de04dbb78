"""Plays WeChat's side: signs and encrypts pushes as WeChat's servers do, and a fake WeChat API.

The fake API is a real aiohttp server on 127.0.0.1 built from WeChat's documented formats:
``GET /cgi-bin/token`` (access_token, expires_in; 40125 for a wrong secret) and
``POST /cgi-bin/message/custom/send`` (errcode 0; 40001 for an unknown token, 42001 for an expired
one, 45015 outside the citizen's 48-hour window).
"""

from __future__ import annotations

import hashlib
import itertools
import time
import uuid
from dataclasses import dataclass, field, replace
from typing import Any

from aiohttp import web
from wechatpy.crypto import WeChatCrypto

from adapters.wechat import WechatConfig
from adapters.wechat.decode import parse_xml
from gateway.config import Config
from tests.conformance.kit import Req

CHANNEL = "wechat-official"
PATH = f"/channels/{CHANNEL}"
# The sample configuration's demo values (channels.yaml), used when WECHAT_* are not set.
TOKEN = "demo-wechat-token"
AES_KEY = "demoAesKeyDemoAesKeyDemoAesKeyDemoAesKey123"
APP_ID = "wxdemo0000000000"
APP_SECRET = "demo-wechat-app-secret"
ACCOUNT = "gh_bengbu12345"
OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
_msg_ids = itertools.count(24563829000000000 + int(time.time()) % 100000 * 1000)


def sign(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def message_xml(
    msg_type: str = "text", *, openid: str = OPENID, created: int | None = None, **fields: Any
) -> str:
    """A push as WeChat sends it; a ``MsgId`` is added to messages unless given."""
    created = int(time.time()) if created is None else created
    if msg_type != "event":
        fields.setdefault("MsgId", next(_msg_ids))
    body = "".join(f"<{k}><![CDATA[{v}]]></{k}>" for k, v in fields.items())
    return (
        f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{created}</CreateTime><MsgType><![CDATA[{msg_type}]]></MsgType>{body}</xml>"
    )


@dataclass
class WechatServer:
    """Signs (and in compatible/safe mode encrypts) pushes with the channel's token and key."""

    token: str = TOKEN
    aes_key: str = AES_KEY
    app_id: str = APP_ID

    def query(self, timestamp: int | None = None, nonce: str | None = None) -> dict[str, str]:
        ts = str(int(time.time()) if timestamp is None else timestamp)
        nonce = nonce or uuid.uuid4().hex[:10]
        return {"signature": sign(self.token, ts, nonce), "timestamp": ts, "nonce": nonce}

    def plain(self, xml: str, **query: str) -> Req:
        return Req("POST", PATH, {"Content-Type": "text/xml"}, xml.encode(), self.query() | query)

    def safe(self, xml: str, *, compatible: bool = False) -> Req:
        query = self.query()
        crypto = WeChatCrypto(self.token, self.aes_key, self.app_id)
        envelope = parse_xml(crypto.encrypt_message(xml, query["nonce"], query["timestamp"]).encode())
        encrypt = envelope["Encrypt"]
        outer = (
            f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
            f"<Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
        )
        if compatible:  # compatible mode sends the plaintext fields beside Encrypt
            outer = xml.replace("</xml>", f"<Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>")
        query |= {
            "encrypt_type": "aes",
            "msg_signature": sign(self.token, query["timestamp"], query["nonce"], encrypt),
            "openid": OPENID,
        }
        return Req("POST", PATH, {"Content-Type": "text/xml"}, outer.encode(), query)

    def decrypt_reply(self, body: str) -> dict[str, Any]:
        envelope = parse_xml(body.encode())
        crypto = WeChatCrypto(self.token, self.aes_key, self.app_id)
        plain = crypto.decrypt_message(
            {"Encrypt": envelope["Encrypt"]},
            envelope["MsgSignature"],
            envelope["TimeStamp"],
            envelope["Nonce"],
        )
        return parse_xml(plain.encode())


def with_wechat(config: Config, **changes: Any) -> Config:
    """The configuration with the wechat channel's settings changed (mode, api_base, ...)."""
    channels = []
    for channel in config.channels:
        if channel.id == CHANNEL:
            assert isinstance(channel.settings, WechatConfig)
            data = channel.settings.model_dump() | changes
            channel = replace(channel, settings=WechatConfig.model_validate(data))
        channels.append(channel)
    return replace(config, channels=tuple(channels))


@dataclass
class FakeWechatApi:
    """WeChat's API as documented, for one account."""

    app_id: str = APP_ID
    app_secret: str = APP_SECRET
    url: str = ""
    tokens_issued: int = 0
    valid: set[str] = field(default_factory=set)
    expired: set[str] = field(default_factory=set)
    outside_window: set[str] = field(default_factory=set)
    sent: list[dict[str, Any]] = field(default_factory=list)

    def expire_tokens(self) -> None:
        self.expired |= self.valid
        self.valid.clear()

    async def token(self, request: web.Request) -> web.Response:
        q = request.query
        if q.get("grant_type") != "client_credential" or q.get("appid") != self.app_id:
            return web.json_response({"errcode": 40013, "errmsg": "invalid appid"})
        if q.get("secret") != self.app_secret:
            return web.json_response({"errcode": 40125, "errmsg": "invalid appsecret"})
        self.tokens_issued += 1
        token = f"ACCESS_TOKEN_{self.tokens_issued}_{uuid.uuid4().hex[:8]}"
        self.valid.add(token)
        return web.json_response({"access_token": token, "expires_in": 7200})

    async def custom_send(self, request: web.Request) -> web.Response:
        token = request.query.get("access_token", "")
        if token in self.expired:
            return web.json_response({"errcode": 42001, "errmsg": "access_token expired"})
        if token not in self.valid:
            return web.json_response({"errcode": 40001, "errmsg": "invalid credential"})
        body = await request.json()
        if body.get("touser") in self.outside_window:
            return web.json_response(
                {"errcode": 45015, "errmsg": "response out of time limit or subscription is canceled"}
            )
        if body.get("msgtype") != "text" or not body.get("text", {}).get("content"):
            return web.json_response({"errcode": 44002, "errmsg": "empty post data"})
        self.sent.append(body)
        return web.json_response({"errcode": 0, "errmsg": "ok"})

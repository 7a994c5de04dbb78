"""Fuzz target: the WeChat official account's callback (``/channels/wechat-official``).

Signed and encrypted pushes (the sample channel is in safe mode) whose ``<xml>`` fields are
plausible or hostile (a PicUrl over 2,000 characters, Unicode digits in CreateTime or MsgId,
coordinates that are not numbers), entity tricks (DOCTYPE, billion laughs), deep nesting, random
bytes; unsigned and wrongly signed queries; URL verification GETs.
Run: ``.venv/bin/python -m bench.fuzz wechat`` (see ``bench/fuzz.py``).
"""

from __future__ import annotations

import time
from typing import Any
from xml.sax.saxutils import escape

from hypothesis import strategies as st
from wechatpy.crypto import WeChatCrypto

from adapters.signatures import sorted_sha1
from bench.fuzz import TEXT, Req, long_text, nonce, secret, settings_of

PATH = "/channels/wechat-official"
FIELDS = (
    "ToUserName", "FromUserName", "CreateTime", "MsgType", "MsgId", "Content", "PicUrl", "MediaId",
    "Format", "Recognition", "Location_X", "Location_Y", "Label", "Title", "Url", "Event", "EventKey",
    "Latitude", "Longitude",
)  # fmt: skip
PLAUSIBLE = {
    "MsgType": st.sampled_from(["text", "image", "voice", "location", "link", "event", "video"]),
    "Event": st.sampled_from(["subscribe", "LOCATION", "CLICK", "unsubscribe"]),
    "CreateTime": st.integers(0, 2 * 10**9).map(str) | st.sampled_from(["²", "１７００", "1e9"]),
    "MsgId": st.integers(0, 10**20).map(str) | st.sampled_from(["²³", "-1"]),
    "PicUrl": long_text(1990, 2100).map(lambda x: "https://mmbiz.qpic.cn/" + x),
    "FromUserName": st.sampled_from(["oUser1234567890", ""]),
}
HOSTILE_XML = st.sampled_from(
    [
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><xml>&b;</xml>',
        b'<!DOCTYPE xml SYSTEM "file:///etc/passwd"><xml><Content>&xxe;</Content></xml>',
        b"<xml><Content>&#xD800;</Content></xml>",
        b"<xml><Content><![CDATA[x]]></Content><Content>twice</Content></xml>",
        b"<xml><MsgType><b>nested</b></MsgType></xml>",
        b"<xml>",
        b"",
    ]
) | st.integers(1, 50_000).map(lambda n: b"<xml>" + b"<a>" * n + b"</a>" * n + b"</xml>")


def _xml(fields: dict[str, str]) -> str:
    return "<xml>" + "".join(f"<{k}>{escape(v)}</{k}>" for k, v in fields.items()) + "</xml>"


def requests(config: Any) -> st.SearchStrategy[Req]:
    s = settings_of(config, "wechat-official")
    token, key, app_id = secret(s.token), secret(s.encoding_aes_key), s.app_id
    crypto = WeChatCrypto(token, key, app_id)

    def query(signed: bool = True) -> dict[str, str]:
        stamp, once = str(int(time.time())), nonce()
        return {
            "timestamp": stamp,
            "nonce": once,
            "signature": sorted_sha1(token, stamp, once) if signed else "0" * 40,
        }

    def encrypted(xml: str) -> Req:
        xml = xml.encode("utf-8", "replace").decode()  # WeChat encrypts UTF-8: no lone surrogates
        q = query()
        envelope = crypto.encrypt_message(xml, q["nonce"], q["timestamp"])
        encrypt = envelope.split("<Encrypt><![CDATA[")[1].split("]]>")[0]
        q |= {"encrypt_type": "aes", "msg_signature": sorted_sha1(token, q["timestamp"], q["nonce"], encrypt)}
        return Req("POST", PATH, envelope.encode(), {"Content-Type": "text/xml"}, q)

    def raw(data: bytes, encrypt: bool) -> Req:
        q = query() | ({"encrypt_type": "aes", "msg_signature": "0" * 40} if encrypt else {})
        return Req("POST", PATH, data, {"Content-Type": "text/xml"}, q)

    fields = st.fixed_dictionaries(
        {},
        optional={
            name: PLAUSIBLE.get(name, st.nothing()) | TEXT.filter(lambda t: "\x00" not in t)
            for name in FIELDS
        },
    )
    queries = st.dictionaries(
        st.sampled_from(["signature", "timestamp", "nonce", "echostr", "encrypt_type", "msg_signature"]),
        TEXT,
        max_size=6,
    )
    return st.one_of(
        fields.map(_xml).map(encrypted),
        fields.map(_xml).map(encrypted),
        st.builds(raw, HOSTILE_XML | st.binary(max_size=300), st.booleans()),
        st.builds(
            lambda q, b: Req("POST", PATH, b, {"Content-Type": "text/xml"}, q),
            queries,
            st.binary(max_size=200),
        ),
        st.builds(lambda q: Req("GET", PATH, params=q), queries),
        st.builds(lambda e: Req("GET", PATH, params=query() | {"echostr": e}), TEXT),
    )

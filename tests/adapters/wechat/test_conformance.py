from __future__ import annotations

from tests.adapters.wechat.wechat import PATH, TOKEN, WechatServer, message_xml, sign
from tests.conformance.kit import AdapterConformance, Req

WECHAT = WechatServer()
FIXED_MSG_ID = 24563829999000001


class TestWechatConformance(AdapterConformance):
    kind = "wechat"
    channel_id = "wechat-official"

    def valid_request(self) -> Req:
        # safe mode, as in the sample; the same MsgId each time (WeChat's retry)
        return WECHAT.safe(message_xml(Content="东风路路灯不亮已经一周了", MsgId=FIXED_MSG_ID))

    def signed(self, body: bytes) -> Req:
        return WECHAT.safe(body.decode())

    def hostile_bodies(self) -> list[bytes]:
        laughs = (
            '<!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]><xml><Content>&b;</Content></xml>'
        )
        return [
            laughs.encode(),
            b'<!DOCTYPE xml [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><Content>&e;</Content></xml>',
            b"<xml>" + b"<a>" * 50_000 + b"</a>" * 50_000 + b"</xml>",
            message_xml(Content="x").replace("<![CDATA[x]]>", "&#xD800;").encode(),  # a lone surrogate
            message_xml("image", PicUrl="https://mmbiz.qpic.cn/" + "x" * 2100).encode(),
            message_xml(Content="x", CreateTime="²").encode(),
            message_xml(Content="x", MsgId="²³").encode(),
            message_xml("location", Location_X="１２", Location_Y="117.3").encode(),
        ]

    def forged_request(self) -> Req:
        req = WECHAT.safe(message_xml(Content="东风路路灯不亮已经一周了"))
        req.params["signature"] = "0" * 40
        return req

    def malformed_requests(self) -> list[Req]:
        forged_key = WechatServer(aes_key="A" * 43)
        plaintext_msg = message_xml(Content="x")
        bad_msg_signature = WECHAT.safe(message_xml(Content="x"))
        bad_msg_signature.params["msg_signature"] = "f" * 40
        garbage = WECHAT.safe(message_xml(Content="x"))
        query = WECHAT.query()
        garbage.params = query | {
            "encrypt_type": "aes",
            "msg_signature": sign(TOKEN, query["timestamp"], query["nonce"], "bm90IGEgY2lwaGVydGV4dA=="),
        }
        garbage.data = b"<xml><Encrypt><![CDATA[bm90IGEgY2lwaGVydGV4dA==]]></Encrypt></xml>"
        return [
            WECHAT.plain(plaintext_msg),  # plaintext in safe mode
            bad_msg_signature,
            garbage,
            forged_key.safe(plaintext_msg),  # encrypted with another key: msg_signature fine, garbage inside
            Req("POST", PATH, {"Content-Type": "text/xml"}, b"not xml", WECHAT.query()),
            WECHAT.safe('<!DOCTYPE x [<!ENTITY a "b">]><xml><A>&a;</A></xml>'),
            WECHAT.safe(message_xml(Content="")),
            WECHAT.safe(message_xml("location", Location_X="abc", Location_Y="117.3")),
            WECHAT.safe(message_xml("location", Location_X="95", Location_Y="117.3")),
            WECHAT.safe("<xml><MsgType>text</MsgType><Content>x</Content></xml>"),
            WECHAT.safe(message_xml(Content="x", MsgId="not-a-number")),
            Req("POST", PATH, {}, b"<xml/>", {"timestamp": "1", "nonce": "n"}),  # unsigned
        ]

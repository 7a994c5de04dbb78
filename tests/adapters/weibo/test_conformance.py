from __future__ import annotations

from tests.adapters.weibo.weibo import PATH, created_at, post, push, query
from tests.conformance.kit import AdapterConformance, Req

SENT_AT = created_at()


class TestWeiboConformance(AdapterConformance):
    kind = "weibo"
    channel_id = "weibo-gov"

    def valid_request(self) -> Req:
        return post(push(text="淮上区菜市场周边占道经营严重", created_at=SENT_AT))

    def forged_request(self) -> Req:
        return post(push(text="淮上区菜市场周边占道经营严重"), secret="not-our-secret")

    def malformed_requests(self) -> list[Req]:
        return [
            post(b"{not json"),
            post(b"[1, 2]"),
            post(b'<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>'),
            post(push(text="")),
            post(push(type="")),
            post(push(text="x", sender_id="abc")),
            post(push(text="x", sender_id=True)),
            post(push(text="x", created_at="yesterday")),
            post(push("position", data={"longitude": "east", "latitude": "32"})),
            post(push("position", data={"longitude": "117", "latitude": "95"})),
            post(push("image", data=[1])),
            post(push(text="长" * 20001)),
            Req("POST", PATH, {"Content-Type": "application/json"}, b"{}", {"nonce": "n"}),
            Req("POST", PATH, {"Content-Type": "application/json"}, b"{}", query(timestamp=1)),
        ]

from __future__ import annotations

import json

from tests.adapters.phone.conftest import BEARER, EVENTS
from tests.conformance.kit import AdapterConformance, Req

WORK_ORDER = {
    "event": "workOrder",
    "callId": "c-0001",
    "from": "13912341234",
    "callerName": "王先生",
    "content": "胜利路菜市场门口占道经营严重，早上车辆无法通行",
    "address": "蚌埠市龙子湖区胜利中路",
    "appealType": "投诉",
    "urgency": "一般",
}
JSON = {"Content-Type": "application/json"}


def post(body: object, headers: dict[str, str] = BEARER) -> Req:
    return Req("POST", EVENTS, headers=JSON | headers, data=json.dumps(body, ensure_ascii=False).encode())


class TestPhoneConformance(AdapterConformance):
    kind = "phone"
    channel_id = "phone-12345"

    def valid_request(self) -> Req:
        return post(WORK_ORDER)

    def forged_request(self) -> Req:
        return post(WORK_ORDER, {"Authorization": "Bearer forged-token"})

    def malformed_requests(self) -> list[Req]:
        return [
            Req("POST", EVENTS, headers=JSON | BEARER, data=b"{not json"),
            Req("POST", EVENTS, headers=JSON | BEARER, data=b"[1]"),
            post({"callId": "c-1"}),  # no event
            post({"event": "transfer", "callId": "c-1"}),
            post({**WORK_ORDER, "content": ""}),
            post({**WORK_ORDER, "from": None}),
            post({**WORK_ORDER, "content": {"nested": True}}),
            post({"event": "voicemail", "callId": "v-1", "from": "13912341234"}),
            post(
                {
                    "event": "voicemail",
                    "callId": "v-1",
                    "from": "1391234",
                    "recordingUrl": "file:///etc/passwd",
                }
            ),
            post({"event": "newCall", "from": "13912341234"}),  # no callId
            post({"event": "newCall", "callId": "c-9", "direction": "sideways"}),
            Req(
                "POST",
                EVENTS,
                headers={"Content-Type": "text/xml"} | BEARER,
                data=b'<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>',
            ),
        ]

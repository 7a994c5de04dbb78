from __future__ import annotations

import json

from tests.adapters.sms.standin import SMS_TOKEN, UPLINK
from tests.conformance.kit import AdapterConformance, Req

JSON = {"Content-Type": "application/json"}


def push(*items: dict[str, object], token: str = SMS_TOKEN) -> Req:
    return Req("POST", UPLINK, headers=JSON, data=json.dumps(list(items)).encode(), params={"token": token})


SMS = {
    "phone_number": "13912341234",
    "send_time": "2026-11-29 08:15:02",
    "content": "小区门口路灯坏了一个月没人修",
    "sign_name": "蚌埠12345",
    "dest_code": "12345",
    "sequence_id": 99001,
}


class TestSmsConformance(AdapterConformance):
    kind = "sms"
    channel_id = "sms-12345"

    def valid_request(self) -> Req:
        return push(SMS)

    def forged_request(self) -> Req:
        return push(SMS, token="forged-token")

    def malformed_requests(self) -> list[Req]:
        params = {"token": SMS_TOKEN}
        return [
            Req("POST", UPLINK, headers=JSON, data=b"{not json", params=params),
            Req("POST", UPLINK, headers=JSON, data=b"[]", params=params),
            Req("POST", UPLINK, headers=JSON, data=b'"text"', params=params),
            push({**SMS, "content": ""}),
            push({**SMS, "phone_number": None}),
            push({**SMS, "content": {"nested": 1}}),
            Req("POST", UPLINK, headers=JSON, data=b"[1, 2, 3]", params=params),
            Req(
                "POST",
                UPLINK,
                headers={"Content-Type": "text/xml"},
                data=b'<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>',
                params=params,
            ),
            Req("POST", UPLINK, headers=JSON, data=b"\xff\xfe[", params=params),
        ]

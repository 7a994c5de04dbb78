from __future__ import annotations

import json
import time
import uuid
from typing import Any

from adapters.feed.decode import signed_headers
from tests.adapters.feed.conftest import APP_KEY, APP_SECRET, CHANNEL
from tests.conformance.kit import AdapterConformance, Req

PUSH = f"/channels/{CHANNEL}"
ORDER = {
    "order_no": "AH12345-20261129-00001",
    "title": "燃气漏气",
    "content": "我们小区燃气管道漏气，楼道里煤气味很重，请尽快派人处理",
    "citizen": {"phone": "13912341234"},
    "deadline": "2026-12-04T18:00:00+08:00",
}


def push(body: Any, *, secret: str = APP_SECRET, stamp: int | None = None) -> Req:
    data = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    headers = signed_headers(APP_KEY, secret, stamp or int(time.time()), uuid.uuid4().hex, data)
    return Req("POST", PUSH, headers=headers | {"Content-Type": "application/json"}, data=data)


class TestFeedConformance(AdapterConformance):
    kind = "feed"
    channel_id = CHANNEL

    def valid_request(self) -> Req:
        return push(ORDER)

    def forged_request(self) -> Req:
        return push(ORDER, secret="forged-secret")

    def signed(self, body: bytes) -> Req:
        return push(body)

    def malformed_requests(self) -> list[Req]:
        return [
            push(b"{not json"),
            push(b"\xff\xfe["),
            push([ORDER]),
            push("text"),
            push({**ORDER, "order_no": ""}),
            push({**ORDER, "order_no": {"nested": 1}}),
            push({**ORDER, "content": ""}),
            push({**ORDER, "content": ["a"]}),
            push({**ORDER, "order_no": "x" * 300}),
            Req("POST", PUSH, headers={"Content-Type": "application/json"}, data=json.dumps(ORDER)),
        ]

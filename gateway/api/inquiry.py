"""Citizen inquiry without login (查询): ``GET /api/v1/inquiry?appeal_no=...&phone_tail=NNNN``.

The appeal number and the last four digits of the phone number the citizen gave are the only key.
The answer carries the state and a timeline of event types, times and Chinese labels: no content, no
notes, no names or numbers, no actor beyond the unit's name. A wrong tail, an appeal without a phone
and a missing appeal get the same 404, so the endpoint tells nothing about which appeals exist.

Rate limits (fixed windows in Redis, counted with INCR and EXPIRE in one script, Redis 6.2):
``ADDRESS_LIMIT`` requests per ``ADDRESS_WINDOW`` seconds per client address, and
``WRONG_TAIL_LIMIT`` failed lookups per ``WRONG_TAIL_WINDOW`` seconds per appeal number (existing or
not); past either, 429 with ``Retry-After``, whatever the tail.

``hl:inquiry:addr:<address>``  requests from one address in the current window
``hl:inquiry:miss:<no>``       failed lookups of one appeal number in the current window
"""

from __future__ import annotations

import hmac
from typing import Any

from aiohttp import web
from pydantic import Field

from gateway.api.declare import Declared, operation
from gateway.errors import NotFound, RateLimited
from gateway.http import json_response
from gateway.loop import State
from gateway.records import find_appeal
from gateway.runtime import RUNTIME, Runtime

routes = web.RouteTableDef()

ADDRESS_LIMIT = 10
ADDRESS_WINDOW = 60
WRONG_TAIL_LIMIT = 5
WRONG_TAIL_WINDOW = 3600


class InquiryQuery(Declared):
    appeal_no: str = Field(
        pattern=r"^[A-Z]{0,8}-?[0-9]{8}-[0-9]{6,12}$",
        max_length=40,
        description="the appeal number the citizen was given",
        examples=["BB-20261129-000042"],
    )
    phone_tail: str = Field(
        pattern=r"^[0-9]{4}$", description="the last 4 digits of the phone number given", examples=["1234"]
    )


# KEYS[1] counter; ARGV[1] window (s); ARGV[2] '1' counts this request, '0' only reads.
# Returns {count, seconds left in the window}.
_COUNT = """
local n
if ARGV[2] == '1' then
  n = redis.call('INCR', KEYS[1])
else
  n = tonumber(redis.call('GET', KEYS[1]) or '0')
end
local ttl = redis.call('TTL', KEYS[1])
if n > 0 and ttl < 0 then
  redis.call('EXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {n, ttl}
"""

STATE_LABELS: dict[str, str] = {
    State.accepted: "已受理",
    State.manual: "待派单",
    State.dispatched: "已派单",
    State.signed: "已签收",
    State.handling: "办理中",
    State.replied: "已答复",
    State.visited: "已回访",
    State.reviewed: "已审核",
    State.filed: "已办结归档",
}

# History event type -> what the citizen sees. Types not listed (internal ones) are left out.
EVENT_LABELS: dict[str, str] = {
    "accepted": "诉求已受理",
    "merged": "诉求信息已合并补充",
    "citizen_added": "市民已补充诉求",
    "manual": "转人工派单",
    "dispatched": "已派单至承办单位",
    "assigned": "已派单至承办单位",
    "returned": "承办单位退回，重新派单",
    "sub_assigned": "已转派下级承办单位",
    "signed": "承办单位已签收",
    "progress": "承办单位办理中",
    "extension_requested": "承办单位申请延期",
    "extension_approved": "延期已批准",
    "extension_denied": "延期未批准",
    "replied": "承办单位已答复",
    "visited": "已回访",
    "return_visit": "已回访",
    "reviewed": "已审核",
    "reopened": "重新办理",
    "filed": "已办结归档",
}


def phone_tail(phone: str | None) -> str | None:
    """The last four digits of a phone number; None when it has fewer."""
    digits = "".join(ch for ch in phone or "" if ch in "0123456789")  # not isdigit(): "²" is one
    return digits[-4:] if len(digits) >= 4 else None


def public_timeline(history: list[dict[str, Any]]) -> list[dict[str, str]]:
    """History events reduced to type, time and label; nothing else of them leaves."""
    return [
        {"type": event["type"], "at": str(event.get("at", "")), "label": EVENT_LABELS[event["type"]]}
        for event in history
        if event.get("type") in EVENT_LABELS
    ]


async def _count(runtime: Runtime, key: str, window: int, *, hit: bool) -> tuple[int, int]:
    script = runtime.redis.register_script(_COUNT)
    count, ttl = await script(keys=[key], args=[window, "1" if hit else "0"])
    return int(count), max(int(ttl), 1)


def _not_found() -> NotFound:
    return NotFound("no appeal with this number and phone")


async def _limit_address(request: web.Request) -> None:
    """Every request counts against its address's window, malformed ones too."""
    runtime = request.app[RUNTIME]
    address = request.remote or "unknown"
    used, left = await _count(runtime, runtime.keys.inquiry_address(address), ADDRESS_WINDOW, hit=True)
    if used > ADDRESS_LIMIT:
        raise RateLimited("too many inquiries from this address; try again later", retry_after=left)


@routes.get("/api/v1/inquiry")
@operation(
    "citizens",
    guard=_limit_address,
    responses={404: "no appeal with this number and phone", 429: "rate limited"},
)
async def inquiry(request: web.Request, query: InquiryQuery) -> web.Response:
    """A citizen's own appeal: state and timeline, by appeal number and phone tail (查询)."""
    runtime = request.app[RUNTIME]
    keys = runtime.keys
    appeal_no, tail = query.appeal_no, query.phone_tail
    misses_key = keys.inquiry_misses(appeal_no)
    misses, left = await _count(runtime, misses_key, WRONG_TAIL_WINDOW, hit=False)
    if misses >= WRONG_TAIL_LIMIT:
        raise RateLimited(
            "too many failed inquiries for this appeal number; try again later", retry_after=left
        )

    found = await find_appeal(runtime, appeal_no)  # from the record once Redis let it go
    record, history = found if found is not None else (None, [])
    expected = phone_tail(record.appeal.citizen.phone) if record is not None else None
    if record is None or expected is None or not hmac.compare_digest(expected, tail):
        await _count(runtime, misses_key, WRONG_TAIL_WINDOW, hit=True)
        raise _not_found()

    unit = runtime.config.network.get(record.unit) if record.unit else None
    body = {
        "appeal_no": appeal_no,
        "state": record.state.value,
        "state_label": STATE_LABELS.get(record.state, record.state.value),
        "channel": record.appeal.channel_id,
        "received_at": record.appeal.received_at.isoformat(),
        "unit_name": unit.name if unit is not None else None,
        "timeline": public_timeline(history),
    }
    return json_response(body, headers={"Cache-Control": "no-store"})

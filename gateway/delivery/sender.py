"""One delivery attempt: a structured CloudEvent, signed per Standard Webhooks, POSTed to a unit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp
from cloudevents.core.bindings.http import to_structured_event
from cloudevents.core.v1.event import CloudEvent
from standardwebhooks import Webhook

EVENT_ASSIGNED = "cn.gov.12345.appeal.assigned"  # a new assignment (also after passing down)
EVENT_REOPENED = "cn.gov.12345.appeal.reopened"  # the centre's review sent it back to the unit
EVENT_OVERDUE = "cn.gov.12345.appeal.overdue"  # a reminder: the unit missed a deadline (催办)
EVENT_UPDATED = "cn.gov.12345.appeal.updated"  # the citizen added to an appeal the unit holds


@dataclass(frozen=True)
class SendResult:
    ok: bool
    status: int | None
    error: str = ""
    retry_after: float | None = None


def build_event(
    *,
    delivery_id: str,
    source: str,
    event_type: str,
    subject: str,
    time: datetime,
    data: dict[str, Any],
) -> tuple[dict[str, str], bytes]:
    event = CloudEvent(
        {
            "id": delivery_id,
            "source": source,
            "type": event_type,
            "subject": subject,
            "time": time,
            "datacontenttype": "application/json",
        },
        data,
    )
    message = to_structured_event(event)
    return dict(message.headers), message.body


def sign_headers(delivery_id: str, body: bytes, secrets: list[str], at: datetime) -> dict[str, str]:
    """Standard Webhooks headers; several secrets (during a rotation) give several signatures."""
    at = at.astimezone(UTC)
    signatures = " ".join(Webhook(secret).sign(delivery_id, at, body.decode()) for secret in secrets)
    return {
        "webhook-id": delivery_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signatures,
    }


def _retry_after(value: str | None, now: datetime) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, (parsedate_to_datetime(value) - now).total_seconds())
    except (TypeError, ValueError):
        return None


async def post(
    session: aiohttp.ClientSession, url: str, headers: dict[str, str], body: bytes, now: datetime
) -> SendResult:
    try:
        async with session.post(url, data=body, headers=headers, allow_redirects=False) as response:
            await response.read()
            if 200 <= response.status < 300:
                return SendResult(True, response.status)
            retry_after = None
            if response.status in (429, 503):
                retry_after = _retry_after(response.headers.get("Retry-After"), now)
            return SendResult(False, response.status, f"HTTP {response.status}", retry_after)
    except (TimeoutError, aiohttp.ClientError, OSError) as e:
        return SendResult(False, None, f"{type(e).__name__}: {e}"[:300])

"""One delivery attempt: a structured CloudEvent, signed per Standard Webhooks, POSTed to a unit."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp
import orjson
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
    """A CloudEvents 1.0 event in structured mode (JSON, UTF-8; ``time`` in RFC 3339 with ``Z`` for
    UTC). Written with orjson: what ``cloudevents``' ``to_structured_event`` writes, in a tenth of
    its time, Chinese as UTF-8 rather than ``\\u`` escapes."""
    stamp = time.isoformat()
    if stamp.endswith("+00:00"):
        stamp = stamp[:-6] + "Z"
    event = {
        "specversion": "1.0",
        "id": delivery_id,
        "source": source,
        "type": event_type,
        "subject": subject,
        "time": stamp,
        "datacontenttype": "application/json",
        "data": data,
    }
    return {"content-type": "application/cloudevents+json"}, orjson.dumps(event)


@functools.lru_cache(maxsize=1024)
def _signer(secret: str) -> Webhook:
    """A secret's signer, kept: building one decodes the secret."""
    return Webhook(secret)


def sign_headers(delivery_id: str, body: bytes, secrets: list[str], at: datetime) -> dict[str, str]:
    """Standard Webhooks headers; several secrets (during a rotation) give several signatures."""
    at = at.astimezone(UTC)
    text = body.decode()
    signatures = " ".join(_signer(secret).sign(delivery_id, at, text) for secret in secrets)
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

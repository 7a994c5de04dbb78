"""Upstream work orders -> appeal drafts and write-backs -> platform bodies; pure functions, tested
against the fixtures in ``fixtures/``.

Signature (both directions, every request): ``X-App-Key``, ``X-Timestamp`` (Unix seconds), ``X-Nonce``
and ``X-Signature = hex(HMAC-SHA256(app_secret, app_key + timestamp + nonce + body))``; the body of a
GET is empty.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from adapters.feed.config import FeedConfig, FieldPaths, PullSettings, WritebackSettings
from adapters.parsing import load_json
from adapters.signatures import as_bytes
from gateway.errors import BadRequest
from normalizer import (
    SHANGHAI,
    AppealDraft,
    ChannelIdentity,
    Citizen,
    IdentityKind,
    Location,
    ReplyRoute,
    UpstreamRef,
    clean_text,
    normalize_phone,
    with_notes,
)

MAX_CONTENT = 20000
MARKED = frozenset({"1", "true", "yes", "y", "是"})


def sign(app_key: str, secret: str, timestamp: str, nonce: str, body: bytes) -> str:
    message = as_bytes(app_key + timestamp + nonce) + body
    return hmac.new(as_bytes(secret), message, hashlib.sha256).hexdigest()


def signed_headers(app_key: str, secret: str, timestamp: int, nonce: str, body: bytes) -> dict[str, str]:
    stamp = str(timestamp)
    return {
        "X-App-Key": app_key,
        "X-Timestamp": stamp,
        "X-Nonce": nonce,
        "X-Signature": sign(app_key, secret, stamp, nonce, body),
    }


def get_path(data: Any, path: str) -> Any:
    """The value at a dotted path (``data.orders``, ``items.0.no``); None when it is not there."""
    node = data
    for part in path.split("."):
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and _ascii_digits(part) and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def set_path(target: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    node = target
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value


def _scalar(value: Any, what: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise BadRequest(f"{what} is not a scalar")
    return str(value).strip()


def _field(order: dict[str, Any], path: str | None, what: str) -> str:
    return _scalar(get_path(order, path), what) if path else ""


def parse_time(value: Any) -> datetime | None:
    """ISO 8601, 'YYYY-MM-DD HH:MM:SS' (Beijing time when it has no offset) or epoch s/ms."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, int | float) or (isinstance(value, str) and _ascii_digits(value.strip())):
        seconds = float(value)
        if seconds > 10**11:
            seconds /= 1000
        try:
            return datetime.fromtimestamp(seconds, SHANGHAI) if seconds > 0 else None
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=SHANGHAI)


def _ascii_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def is_marked(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return isinstance(value, str | int) and str(value).strip().lower() in MARKED


@dataclass(frozen=True)
class Order:
    """One work order as the platform sent it: its number and its raw JSON (kept for audit)."""

    number: str
    data: dict[str, Any]

    @property
    def raw(self) -> bytes:
        return json.dumps(self.data, ensure_ascii=False, sort_keys=True).encode()


def order_of(data: Any, fields: FieldPaths) -> Order:
    if not isinstance(data, dict):
        raise BadRequest("a work order is a JSON object")
    number = _field(data, fields.number, "the order number")
    if not number:
        raise BadRequest(f"the work order has no number at {fields.number!r}")
    if len(number) > 200:
        raise BadRequest("the order number is longer than 200 characters")
    return Order(number, data)


def to_draft(order: Order, settings: FeedConfig, platform: str) -> AppealDraft:
    """One work order -> an appeal draft: external id and upstream number are the order number."""
    f = settings.fields
    data = order.data
    content = clean_text(_field(data, f.content, "content"))
    if not content:
        raise BadRequest(f"work order {order.number} has no text at {f.content!r}")
    category = _field(data, f.category, "category")
    # a category without a mapping is a hint we do not know: kept as a note, never refused
    notes = (
        [f"（上级平台分类：{category[:100]}）"]
        if category and category not in settings.category_types
        else []
    )
    phone = _field(data, f.phone, "phone")
    title = clean_text(_field(data, f.title, "title"))[:200]
    address = clean_text(_field(data, f.address, "address"))[:500]
    try:
        return AppealDraft(
            external_id=order.number,
            citizen=Citizen(
                name=_field(data, f.name, "name")[:100] or None,
                phone=normalize_phone(phone)[:32] if phone else None,
                identity=ChannelIdentity(
                    kind=IdentityKind.upstream, value=f"{platform}:{order.number}"[:256]
                ),
            ),
            subject=title or None,
            content=with_notes(content, notes, MAX_CONTENT),
            appeal_type=settings.category_types.get(category),
            location=Location(address=address or None),
            reply_route=ReplyRoute(address=order.number),
            upstream=UpstreamRef(
                platform=platform,
                number=order.number,
                deadline=parse_time(get_path(data, f.deadline)) if f.deadline else None,
                supervised=is_marked(get_path(data, f.supervised)) if f.supervised else False,
            ),
            occurred_at=parse_time(get_path(data, f.created_at)) if f.created_at else None,
        )
    except ValidationError as e:
        first = e.errors()[0]
        raise BadRequest(f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}") from None


@dataclass(frozen=True)
class Page:
    items: list[Any]
    next_cursor: str | None
    has_more: bool


def parse_page(body: bytes, pull: PullSettings) -> Page:
    """A page of the pull API. Raises BadRequest when it is not the configured shape."""
    data = load_json(body)
    items = get_path(data, pull.items_path)
    if items is None:
        items = []
    if not isinstance(items, list):
        raise BadRequest(f"{pull.items_path!r} of the page is not a list")
    cursor = get_path(data, pull.next_cursor_path)
    next_cursor = _scalar(cursor, "the next cursor") or None
    if pull.has_more_path:
        more = is_marked(get_path(data, pull.has_more_path))
    else:
        more = len(items) >= pull.page_size
    return Page(items, next_cursor, more and bool(items))


def writeback_values(item: dict[str, Any], settings: WritebackSettings) -> dict[str, Any]:
    """Our values of one queued write-back, by name (see ``WritebackSettings.fields``)."""
    return {
        "id": item["id"],
        "number": item["number"],
        "type": item["type"],
        "action": settings.actions.get(item["type"], item["type"]),
        "at": item["at"],
        "appeal_no": item["appeal_no"],
        "text": item.get("text"),
        "days": item.get("days"),
        "approved": item.get("approved"),
        "unit": item.get("unit"),
    }


def writeback_body(item: dict[str, Any], settings: WritebackSettings) -> dict[str, Any]:
    values = writeback_values(item, settings)
    body: dict[str, Any] = {}
    for path, name in settings.fields.items():
        value = values.get(name)
        if value is not None:
            set_path(body, path, value)
    return body


def writeback_item(
    appeal_no: str, number: str, event: dict[str, Any], *, item_id: str, text: str | None
) -> dict[str, Any]:
    """A loop event -> what is queued for write-back (JSON-safe)."""
    actor = str(event.get("actor", ""))
    unit = event.get("unit") or (actor.removeprefix("unit:") if actor.startswith("unit:") else None)
    approved = event.get("approved")
    if approved is None and "decision" in event:
        approved = event["decision"] == "approve"
    return {
        "id": item_id,
        "appeal_no": appeal_no,
        "number": number,
        "type": str(event.get("type", "")),
        "at": str(event.get("at") or datetime.now(UTC).isoformat()),
        "text": text or event.get("reason") or event.get("note"),
        "days": event.get("days"),
        "approved": approved,
        "unit": unit or None,
    }


def accepted(body: bytes, settings: WritebackSettings) -> bool:
    """Whether a 2xx answer of the platform accepts the write-back."""
    if settings.success_path is None:
        return True
    try:
        data = load_json(body)
    except BadRequest:
        return False
    value = get_path(data, settings.success_path)
    return value is not None and not isinstance(value, dict | list) and str(value) == settings.success_value

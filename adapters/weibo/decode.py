"""Weibo fans-service (粉丝服务平台) push JSON <-> appeal, pure functions (tested against ``fixtures/``).

A push is one JSON object: ``type`` (text, position, voice, image, event, mention), ``receiver_id``
(our account's uid), ``sender_id`` (the citizen's uid), ``created_at`` (``Mon Jul 16 18:09:20 +0800
2012``), ``text`` and a type-specific ``data`` object (position: ``longitude``/``latitude``; voice and
image: ``vfid``/``tovfid``; event: ``subtype``/``key``). One appeal per ``sender_id`` + ``created_at``.

The passive reply is also JSON: ``result``, ``receiver_id`` (the citizen), ``sender_id`` (us),
``type`` and ``data``, the URL-encoded JSON of the reply's content (``{"text": ...}``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from urllib.parse import quote

from pydantic import ValidationError

from gateway.errors import BadRequest
from normalizer import (
    AppealDraft,
    Attachment,
    AttachmentKind,
    ChannelIdentity,
    Citizen,
    Coordinates,
    IdentityKind,
    Location,
    ReplyRoute,
)

Kind = Literal["appeal", "follow", "event"]
CREATED_AT = "%a %b %d %H:%M:%S %z %Y"
MEDIA_SCHEME = "weibo-media:"
_FOLLOW = {"follow", "subscribe", "scan_follow"}
MAX_TEXT = 20000


@dataclass(frozen=True)
class Push:
    kind: Kind
    sender_id: str
    receiver_id: str
    key: str
    event: str | None = None
    draft: AppealDraft | None = None


def parse_json(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise BadRequest("the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object")
    return data


def _uid(push: Mapping[str, Any], name: str) -> str:
    value = push.get(name)
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise BadRequest(f"{name} must be a Weibo uid", field=name)
    text = str(value).strip()
    if not text.isdigit() or len(text) > 32:
        raise BadRequest(f"{name} must be a Weibo uid", field=name)
    return text


def _str(mapping: Mapping[str, Any], name: str) -> str:
    value = mapping.get(name)
    if value is None:
        return ""
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise BadRequest(f"{name} must be text", field=name)
    return str(value).strip()


def _created(push: Mapping[str, Any]) -> datetime:
    value = _str(push, "created_at")
    try:
        return datetime.strptime(value, CREATED_AT)
    except ValueError:
        raise BadRequest(
            "created_at must look like 'Mon Jul 16 18:09:20 +0800 2012'", field="created_at"
        ) from None


def _float(data: Mapping[str, Any], name: str) -> float:
    try:
        number = float(_str(data, name))
    except ValueError:
        raise BadRequest(f"data.{name} must be a number", field=f"data.{name}") from None
    return number


def _media(kind: AttachmentKind, data: Mapping[str, Any]) -> tuple[Attachment, ...]:
    vfid = _str(data, "vfid")
    return (Attachment(kind=kind, url=f"{MEDIA_SCHEME}{vfid}"),) if vfid else ()


def decode_push(push: Mapping[str, Any]) -> Push:
    """A push -> what it is (an appeal draft, a follow or another event). Raises BadRequest."""
    kind = _str(push, "type").lower()
    if not kind:
        raise BadRequest("type is required", field="type")
    sender, receiver = _uid(push, "sender_id"), _uid(push, "receiver_id")
    created = _created(push)
    key = f"weibo:{sender}:{int(created.timestamp())}"
    data = push.get("data") or {}
    if not isinstance(data, dict):
        raise BadRequest("data must be an object", field="data")
    text = _str(push, "text")
    if len(text) > MAX_TEXT:
        raise BadRequest(f"text is longer than {MAX_TEXT} characters", field="text")
    if kind == "event":
        subtype = _str(data, "subtype").lower()
        return Push("follow" if subtype in _FOLLOW else "event", sender, receiver, key, event=subtype)
    location = Location()
    attachments: tuple[Attachment, ...] = ()
    if kind == "text":
        if not text:
            raise BadRequest("text is required", field="text")
        content = text
    elif kind == "position":
        try:
            coordinates = Coordinates(lat=_float(data, "latitude"), lon=_float(data, "longitude"))
        except ValidationError:
            raise BadRequest("data.latitude/longitude are out of range", field="data") from None
        location = Location(coordinates=coordinates)
        content = text or "（位置）"
    elif kind == "voice":
        attachments = _media(AttachmentKind.audio, data)
        content = text or "（语音留言）"
    elif kind == "image":
        attachments = _media(AttachmentKind.image, data)
        content = text or "（图片）"
    else:
        return Push("event", sender, receiver, key, event=f"msg:{kind[:40]}")
    try:
        draft = AppealDraft(
            external_id=key,
            citizen=Citizen(identity=ChannelIdentity(kind=IdentityKind.weibo_uid, value=sender)),
            content=content,
            location=location,
            attachments=attachments,
            reply_route=ReplyRoute(address=sender),
            occurred_at=created,
        )
    except ValidationError as e:
        first = e.errors()[0]
        raise BadRequest(f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}") from None
    return Push("appeal", sender, receiver, key, draft=draft)


def text_reply(push: Push, content: str) -> dict[str, Any]:
    """The passive reply: a text private message back to the sender."""
    return {
        "result": True,
        "receiver_id": int(push.sender_id),
        "sender_id": int(push.receiver_id),
        "type": "text",
        "data": quote(json.dumps({"text": content}, ensure_ascii=False), safe=""),
    }

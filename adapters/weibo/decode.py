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
from typing import Annotated, Any, Literal
from urllib.parse import quote

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, ValidationError

from adapters.parsing import problem, validated
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


def _uid_text(value: Any) -> Any:
    return str(value).strip() if isinstance(value, int) and not isinstance(value, bool) else value


Uid = Annotated[
    str, BeforeValidator(_uid_text), StringConstraints(strip_whitespace=True, pattern=r"^[0-9]{1,32}$")
]
"""A Weibo uid: ASCII digits (``str.isdigit()`` would take '²', and then ``int()`` fails)."""
Scalar = Annotated[str | None, Field(max_length=2000)]


@dataclass(frozen=True)
class Push:
    kind: Kind
    sender_id: str
    receiver_id: str
    key: str
    event: str | None = None
    draft: AppealDraft | None = None


class WeiboPush(BaseModel):
    """The declared shape of a push (the fields we read; Weibo may add others)."""

    model_config = ConfigDict(extra="ignore", frozen=True, coerce_numbers_to_str=True)

    type: str = Field(min_length=1, max_length=40)
    sender_id: Uid
    receiver_id: Uid
    created_at: str = Field(max_length=64)
    text: str | None = Field(default=None, max_length=MAX_TEXT)
    data: dict[str, Scalar] | None = None


def _str(mapping: Mapping[str, Any], name: str) -> str:
    value = mapping.get(name)
    return "" if value is None else str(value).strip()


def _created(push: WeiboPush) -> datetime:
    value = push.created_at.strip()
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
    if len(vfid) > 200:
        raise BadRequest("data.vfid is longer than 200 characters", field="data.vfid")
    return (Attachment(kind=kind, url=f"{MEDIA_SCHEME}{vfid}"),) if vfid else ()


def decode_push(body: WeiboPush | Mapping[str, Any]) -> Push:
    """A push -> what it is (an appeal draft, a follow or another event). Raises BadRequest."""
    push = body if isinstance(body, WeiboPush) else validated(WeiboPush, body)
    kind = push.type.strip().lower()
    sender, receiver = push.sender_id, push.receiver_id
    created = _created(push)
    key = f"weibo:{sender}:{int(created.timestamp())}"
    data = push.data or {}
    text = (push.text or "").strip()
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
        raise problem(e) from None
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

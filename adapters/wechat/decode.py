"""WeChat official-account XML <-> appeal, pure functions (tested against ``fixtures/``).

Formats: 接收普通消息 (text, image, voice, video, shortvideo, location, link), 接收事件推送
(subscribe, unsubscribe, SCAN, LOCATION, CLICK, VIEW) and 被动回复用户消息 (the text reply).
A message's dedup key is its ``MsgId``; an event has none, so ``FromUserName`` + ``CreateTime``.

XML is parsed by xmltodict with entities disabled, and any DOCTYPE or ENTITY declaration is refused
before parsing: no entity expansion, no external entities.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal
from xml.parsers.expat import ExpatError

import xmltodict
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from adapters.parsing import problem, validated
from adapters.signatures import SignedQuery
from gateway.errors import BadRequest
from normalizer import (
    SHANGHAI,
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

Kind = Literal["appeal", "subscribe", "location", "event"]

_DECLARATION = re.compile(rb"<!\s*(DOCTYPE|ENTITY|ELEMENT|ATTLIST)", re.IGNORECASE)
# Events that open the 48-hour customer-service window (the citizen acted).
_ENGAGING_EVENTS = {"subscribe", "scan", "click"}
MEDIA_SCHEME = "wechat-media:"


@dataclass(frozen=True)
class Inbound:
    """One decoded push: what it is, who sent it and, for a message, its appeal draft."""

    kind: Kind
    openid: str
    account: str
    created: int
    key: str
    """Dedup key: ``msgid:<MsgId>``, or ``event:<openid>:<CreateTime>`` for an event."""
    event: str | None = None
    draft: AppealDraft | None = None
    coordinates: Coordinates | None = None

    @property
    def engages(self) -> bool:
        """Whether this opens WeChat's 48-hour customer-service window."""
        return self.kind == "appeal" or (self.event or "") in _ENGAGING_EVENTS


def parse_xml(body: bytes) -> dict[str, Any]:
    """The ``<xml>`` element of a WeChat push as a dict. Refuses DTDs and entities."""
    if _DECLARATION.search(body):
        raise BadRequest("XML declarations (DOCTYPE, ENTITY) are not accepted")
    try:
        data = xmltodict.parse(body, disable_entities=True)
    except (ExpatError, ValueError) as e:
        raise BadRequest(f"the body is not valid XML: {e}") from None
    root = data.get("xml") if isinstance(data, dict) else None
    if not isinstance(root, dict):
        raise BadRequest("the body must be one <xml> element with fields")
    return root


def _bounded(limit: int) -> Any:
    return Field(default=None, max_length=limit)


class WechatPush(BaseModel):
    """The declared shape of a push's ``<xml>`` fields (the ones we read; WeChat adds others). Each
    is text with a bound: an element with children or repeated is refused, a PicUrl over 2,000
    characters too (the appeal schema's URL bound)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    ToUserName: str | None = _bounded(128)
    FromUserName: str | None = _bounded(128)
    CreateTime: str | None = _bounded(20)
    MsgType: str | None = _bounded(40)
    MsgId: str | None = _bounded(64)
    Event: str | None = _bounded(64)
    EventKey: str | None = _bounded(1000)
    Content: str | None = _bounded(20000)
    PicUrl: str | None = _bounded(2000)
    MediaId: str | None = _bounded(256)
    Format: str | None = _bounded(20)
    Recognition: str | None = _bounded(20000)
    Location_X: str | None = _bounded(40)
    Location_Y: str | None = _bounded(40)
    Latitude: str | None = _bounded(40)
    Longitude: str | None = _bounded(40)
    Label: str | None = _bounded(2000)
    Title: str | None = _bounded(2000)
    Description: str | None = _bounded(5000)
    Url: str | None = _bounded(2000)
    Encrypt: str | None = _bounded(1_000_000)


def _lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


class WechatQuery(SignedQuery):
    """The declared query of a message push: the signed three, and what safe and compatible mode
    add. WeChat also sends ``openid`` (the sender; the body's ``FromUserName`` is what is used)."""

    encrypt_type: Annotated[Literal["raw", "aes"], BeforeValidator(_lower)] = Field(
        default="raw", description="aes: the body's Encrypt holds the message (compatible and safe mode)."
    )
    msg_signature: str = Field(
        default="",
        max_length=64,
        description="With encrypt_type=aes: sha1 of the sorted token, timestamp, nonce and Encrypt.",
    )
    openid: str | None = Field(default=None, max_length=128, description="The sender (not used).")


def _text(fields: Mapping[str, Any], name: str, *, required: bool = False) -> str:
    value = fields.get(name)
    if value is None:
        if required:
            raise BadRequest(f"{name} is required", field=name)
        return ""
    if not isinstance(value, str):
        raise BadRequest(f"{name} must be text", field=name)
    return value.strip()


def _number(fields: Mapping[str, Any], name: str, *, required: bool = False) -> float | None:
    value = _text(fields, name, required=required)
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        raise BadRequest(f"{name} must be a number", field=name) from None
    if not value.isascii() or number != number or number in (float("inf"), float("-inf")):
        raise BadRequest(f"{name} must be a finite number", field=name)
    return number


def _created(fields: Mapping[str, Any]) -> int:
    value = _text(fields, "CreateTime", required=True)
    if not (value.isascii() and value.isdigit()) or len(value) > 12:
        raise BadRequest("CreateTime must be a Unix time in seconds", field="CreateTime")
    return int(value)


def _coordinates(lat: float | None, lon: float | None, name: str) -> Coordinates:
    if lat is None or lon is None:
        raise BadRequest(f"{name} needs both coordinates", field=name)
    try:
        return Coordinates(lat=lat, lon=lon, system="gcj02")
    except ValidationError:
        raise BadRequest(f"{name} is out of range", field=name) from None


def _media(kind: AttachmentKind, media_id: str, **more: Any) -> Attachment:
    return Attachment(kind=kind, url=f"{MEDIA_SCHEME}{media_id}" if media_id else None, **more)


def decode_message(fields: Mapping[str, Any]) -> Inbound:
    """A parsed push -> what it is. Raises BadRequest naming the field."""
    validated(WechatPush, fields)
    openid = _text(fields, "FromUserName", required=True)
    account = _text(fields, "ToUserName", required=True)
    if not openid or len(openid) > 128:
        raise BadRequest("FromUserName must be an openid", field="FromUserName")
    created = _created(fields)
    msg_type = _text(fields, "MsgType", required=True).lower()
    if msg_type == "event":
        return _decode_event(fields, openid, account, created)
    msg_id = _text(fields, "MsgId", required=True)
    if not (msg_id.isascii() and msg_id.isdigit()):
        raise BadRequest("MsgId must be a number", field="MsgId")
    content, location, attachments = _message_body(msg_type, fields)
    if content is None:  # a kind of message that carries nothing for an appeal
        return Inbound("event", openid, account, created, f"msgid:{msg_id}", event=f"msg:{msg_type}")
    try:
        draft = AppealDraft(
            external_id=f"msgid:{msg_id}",
            citizen=Citizen(identity=ChannelIdentity(kind=IdentityKind.wechat_openid, value=openid)),
            content=content,
            location=location,
            attachments=attachments,
            reply_route=ReplyRoute(address=openid),
            occurred_at=datetime.fromtimestamp(created, SHANGHAI),
        )
    except ValidationError as e:
        raise problem(e) from None
    return Inbound("appeal", openid, account, created, draft.external_id, draft=draft)


def _message_body(
    msg_type: str, fields: Mapping[str, Any]
) -> tuple[str | None, Location, tuple[Attachment, ...]]:
    if msg_type == "text":
        content = _text(fields, "Content")
        if not content:
            raise BadRequest("Content is required", field="Content")
        return content, Location(), ()
    if msg_type == "voice":
        transcript = _text(fields, "Recognition")
        fmt = _text(fields, "Format").lower()
        audio = _media(
            AttachmentKind.audio,
            _text(fields, "MediaId"),
            mime_type=f"audio/{fmt}" if fmt.isalnum() else None,
            transcript=transcript or None,
        )
        return transcript or "（语音留言，未能识别文字）", Location(), (audio,)
    if msg_type == "image":
        url = _text(fields, "PicUrl")
        image = Attachment(kind=AttachmentKind.image, url=url) if url else None
        image = image or _media(AttachmentKind.image, _text(fields, "MediaId"))
        return "（图片）", Location(), (image,)
    if msg_type in ("video", "shortvideo"):
        return "（视频）", Location(), (_media(AttachmentKind.video, _text(fields, "MediaId")),)
    if msg_type == "location":
        coordinates = _coordinates(
            _number(fields, "Location_X", required=True),
            _number(fields, "Location_Y", required=True),
            "Location_X",
        )
        label = _text(fields, "Label")[:500] or None
        return f"位置：{label}" if label else "（位置）", Location(address=label, coordinates=coordinates), ()
    if msg_type == "link":
        title, url = _text(fields, "Title"), _text(fields, "Url")
        text = "\n".join(p for p in (title, _text(fields, "Description"), url) if p)
        if not text:
            raise BadRequest("a link needs a Title or Url", field="Title")
        links = (Attachment(kind=AttachmentKind.document, url=url),) if url else ()
        return text, Location(), links
    return None, Location(), ()


def _decode_event(fields: Mapping[str, Any], openid: str, account: str, created: int) -> Inbound:
    event = _text(fields, "Event", required=True).lower()
    key = f"event:{openid}:{created}"
    if event == "subscribe":
        return Inbound("subscribe", openid, account, created, key, event=event)
    if event == "location":
        coordinates = _coordinates(
            _number(fields, "Latitude", required=True),
            _number(fields, "Longitude", required=True),
            "Latitude",
        )
        return Inbound("location", openid, account, created, key, event=event, coordinates=coordinates)
    return Inbound("event", openid, account, created, key, event=event)


def _cdata(value: str) -> str:
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def text_reply(inbound: Inbound, content: str, now: int) -> str:
    """被动回复 a text message to the sender of ``inbound``."""
    return (
        f"<xml><ToUserName>{_cdata(inbound.openid)}</ToUserName>"
        f"<FromUserName>{_cdata(inbound.account)}</FromUserName>"
        f"<CreateTime>{now}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content>{_cdata(content)}</Content></xml>"
    )


def with_coordinates(draft: AppealDraft, coordinates: Coordinates) -> AppealDraft:
    """The draft with a reported location, unless the message carried its own."""
    if draft.location.coordinates is not None:
        return draft
    location = draft.location.model_copy(update={"coordinates": coordinates})
    return draft.model_copy(update={"location": location})

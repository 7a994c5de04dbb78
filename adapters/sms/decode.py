"""Uplink SMS -> appeal drafts, pure functions (tested against the fixtures in ``fixtures/``).

Three pushes are understood:

* Aliyun SmsUp HTTP batch push: a JSON array of ``{phone_number, send_time, content, sign_name,
  dest_code, sequence_id}``; the provider wants ``{"code": 0, "msg": "接收成功"}`` back and re-pushes the
  whole batch otherwise. One appeal per ``sequence_id``.
* Tencent Cloud SMS reply callback: one object ``{extend, mobile, nationcode, sign, text, time}``;
  answer ``{"result": 0, "errmsg": "OK"}``. It carries no message id: mobile + time + text is the key.
* A generic form gateway: ``mobile``, ``content``, ``msgid`` (optional), ``time`` (optional).

A batch may hold a message we cannot use (no phone, no text): it is reported, not stored, and the
rest of the batch still counts. A body that is not the provider's shape at all is a :class:`BadRequest`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, RootModel, ValidationError

from adapters.parsing import load_form, load_json, problem, validated
from gateway.errors import BadRequest
from normalizer import (
    SHANGHAI,
    AppealDraft,
    ChannelIdentity,
    Citizen,
    IdentityKind,
    clean_text,
    normalize_phone,
)

MAX_CONTENT = 2000
ACKS: dict[str, dict[str, Any]] = {
    "aliyun": {"code": 0, "msg": "接收成功"},
    "tencent": {"result": 0, "errmsg": "OK"},
    "form": {"code": 0, "msg": "OK"},
}


@dataclass(frozen=True)
class Uplink:
    """One citizen SMS as the provider reported it."""

    provider: str
    message_id: str
    phone: str
    content: str
    sent_at: datetime | None
    raw: bytes


@dataclass(frozen=True)
class Rejected:
    """A message of a batch we cannot use, with the reason (no personal data)."""

    message_id: str
    reason: str


def _text(limit: int) -> Any:
    return Field(default=None, max_length=limit)


class _Fields(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, coerce_numbers_to_str=True)


class AliyunUplink(_Fields):
    """One message of an Aliyun SmsUp batch push, as declared (bounded)."""

    phone_number: str | None = _text(32)
    send_time: str | None = _text(40)
    content: str | None = _text(5000)
    sign_name: str | None = _text(100)
    dest_code: str | None = _text(40)
    sequence_id: str | None = _text(100)


class TencentReply(_Fields):
    """A Tencent Cloud SMS reply callback, as declared (bounded)."""

    mobile: str | None = _text(32)
    nationcode: str | None = _text(8)
    text: str | None = _text(5000)
    time: str | None = _text(20)
    sign: str | None = _text(100)
    extend: str | None = _text(100)


class FormUplink(_Fields):
    """A generic form gateway's uplink, as declared (bounded)."""

    mobile: str | None = _text(32)
    content: str | None = _text(5000)
    msgid: str | None = _text(100)
    time: str | None = _text(40)


class AliyunPush(RootModel[list[AliyunUplink] | AliyunUplink]):
    """An Aliyun SmsUp push: a JSON array of uplinks (one object alone, posted by hand, is taken too).
    Each item is checked on its own: one that fails is reported and the rest of the batch is stored."""


class UplinkQuery(BaseModel):
    """The declared query of ``POST /uplink``: the channel's token (providers sign nothing)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    token: str = Field(default="", max_length=256, description="The channel's `token` setting.")


FORM = "application/x-www-form-urlencoded"
BODIES: dict[str, dict[str, type[BaseModel]]] = {
    "aliyun": {"application/json": AliyunPush},
    "tencent": {"application/json": TencentReply},
    "form": {FORM: FormUplink},
}
"""The declared body of each provider's push, by content type (what ``/openapi.json`` shows)."""


def _str(value: str | None) -> str:
    return (value or "").strip()


def _shanghai_time(text: str) -> datetime | None:
    if not text:
        return None
    for pattern in ("%Y-%m-%d %H:%M:%S", "%Y%m%d%H%M%S", "%Y-%m-%dT%H:%M:%S"):
        try:
            return datetime.strptime(text, pattern).replace(tzinfo=SHANGHAI)
        except ValueError:
            continue
    return None


def _epoch(value: str) -> datetime | None:
    if not value.isascii():
        return None
    try:
        seconds = int(value)
        return datetime.fromtimestamp(seconds, SHANGHAI) if 0 < seconds < 10**11 else None
    except (ValueError, OverflowError, OSError):
        return None


def _raw(item: Any) -> bytes:
    return json.dumps(item, ensure_ascii=False, sort_keys=True).encode()


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def decode_aliyun(body: bytes) -> tuple[list[Uplink], list[Rejected]]:
    data = load_json(body)
    if isinstance(data, dict):
        data = [data]  # a single message posted by hand
    if not isinstance(data, list) or not data:
        raise BadRequest("an Aliyun SmsUp push is a non-empty JSON array")
    good: list[Uplink] = []
    bad: list[Rejected] = []
    for i, item in enumerate(data):
        if not isinstance(item, dict):
            bad.append(Rejected(f"#{i}", "not an object"))
            continue
        try:
            uplink = validated(AliyunUplink, item)
        except BadRequest as e:
            bad.append(Rejected(f"#{i}", e.message))
            continue
        sequence = _str(uplink.sequence_id)
        phone, content = _str(uplink.phone_number), _str(uplink.content)
        sent = _shanghai_time(_str(uplink.send_time))
        if not sequence or not phone or not content:
            bad.append(Rejected(sequence or f"#{i}", "sequence_id, phone_number and content are required"))
            continue
        good.append(Uplink("aliyun", f"aliyun:{sequence}", phone, content, sent, _raw(item)))
    return good, bad


def decode_tencent(body: bytes) -> tuple[list[Uplink], list[Rejected]]:
    data = load_json(body)
    if not isinstance(data, dict):
        raise BadRequest("a Tencent Cloud reply callback is a JSON object")
    reply = validated(TencentReply, data)
    mobile, text = _str(reply.mobile), _str(reply.text)
    nation, time = _str(reply.nationcode) or "86", _str(reply.time)
    if not mobile or not text:
        raise BadRequest("mobile and text are required")
    phone = mobile if nation == "86" else f"+{nation}{mobile}"
    message_id = "tencent:" + _digest(nation, mobile, time, text)
    return [Uplink("tencent", message_id, phone, text, _epoch(time), _raw(data))], []


def decode_form(body: bytes) -> tuple[list[Uplink], list[Rejected]]:
    fields = load_form(body)
    form = validated(FormUplink, fields)
    mobile, content = _str(form.mobile), _str(form.content)
    if not mobile or not content:
        raise BadRequest("mobile and content are required")
    time, msgid = _str(form.time), _str(form.msgid)
    message_id = f"form:{msgid}" if msgid else "form:" + _digest(mobile, time, content)
    sent = _shanghai_time(time) or _epoch(time)
    return [Uplink("form", message_id, mobile, content, sent, _raw(fields))], []


DECODERS = {"aliyun": decode_aliyun, "tencent": decode_tencent, "form": decode_form}


def decode_push(provider: str, body: bytes) -> tuple[list[Uplink], list[Rejected]]:
    """A provider's push -> the SMS in it and the ones rejected. Raises BadRequest when the body
    is not that provider's shape at all."""
    return DECODERS[provider](body)


def to_draft(sms: Uplink) -> AppealDraft:
    """One SMS -> an appeal draft: the sender's phone is both contact and channel identity."""
    phone = normalize_phone(sms.phone)
    content = clean_text(sms.content)[:MAX_CONTENT]
    if not content:
        raise BadRequest("the SMS has no text")
    try:
        return AppealDraft(
            external_id=sms.message_id[:200],
            citizen=Citizen(phone=phone[:32], identity=ChannelIdentity(kind=IdentityKind.phone, value=phone)),
            content=content,
            occurred_at=sms.sent_at,
        )
    except ValidationError as e:
        raise problem(e) from None


def thread_of(phone: str) -> str:
    """The merge thread of a sender: a digest, so no phone number appears in a Redis key."""
    return _digest("sms-thread", normalize_phone(phone))


def template_text(text: str, limit: int) -> str:
    """Answer text fitted into one template variable."""
    flat = " ".join(clean_text(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"

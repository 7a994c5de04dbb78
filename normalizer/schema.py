"""The appeal schema: the one shape every channel is normalized into.

Versioned with ``SCHEMA_VERSION`` (semantic: a minor bump adds optional fields, a major bump
changes or removes one). ``hotline-gateway schema`` prints the JSON Schema of :class:`Appeal`;
``docs/appeal-schema.md`` explains every field.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

SCHEMA_VERSION = "1.0"

AppealNo = Annotated[
    str,
    Field(
        pattern=r"^[A-Z]{0,8}-?\d{8}-\d{6,}$",
        description="Human-readable, unique, sortable appeal number: prefix, local date, sequence.",
        examples=["BB-20261129-000042"],
    ),
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class AppealType(StrEnum):
    """What the citizen is doing (投诉, 求助, 咨询, 建议, 举报, 表扬)."""

    complaint = "complaint"
    help_request = "help_request"
    consultation = "consultation"
    suggestion = "suggestion"
    report = "report"
    praise = "praise"


class Urgency(StrEnum):
    """The time-limit grade; it decides the deadlines of dispatch, signing and reply."""

    emergency = "emergency"
    urgent_utility = "urgent_utility"
    general = "general"
    consultation = "consultation"
    complex = "complex"


class IdentityKind(StrEnum):
    phone = "phone"
    email = "email"
    wechat_openid = "wechat_openid"
    weibo_uid = "weibo_uid"
    portal_account = "portal_account"
    upstream = "upstream"
    other = "other"


class ChannelIdentity(_Model):
    """How the citizen is known on the channel (an openid, an e-mail address, an account)."""

    kind: IdentityKind
    value: str = Field(min_length=1, max_length=256)


class Citizen(_Model):
    name: str | None = Field(default=None, max_length=100)
    phone: str | None = Field(
        default=None,
        description="E.164 (+8613912341234) when the number could be parsed, else as given.",
        max_length=32,
    )
    identity: ChannelIdentity | None = None
    anonymous: bool = Field(default=False, description="The citizen asked not to be named to units.")


class Coordinates(_Model):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    system: str = Field(default="wgs84", description="wgs84, gcj02 (WeChat, Amap) or bd09.")


class Location(_Model):
    address: str | None = Field(default=None, max_length=500)
    coordinates: Coordinates | None = None
    area: str | None = Field(
        default=None, description="Id of the smallest area of the gazetteer the router resolved."
    )


class AttachmentKind(StrEnum):
    image = "image"
    audio = "audio"
    video = "video"
    document = "document"
    other = "other"


class Attachment(_Model):
    kind: AttachmentKind
    url: str | None = Field(default=None, max_length=2000)
    key: str | None = Field(default=None, description="Storage key when the gateway keeps the file.")
    mime_type: str | None = None
    size: int | None = Field(default=None, ge=0)
    transcript: str | None = Field(default=None, description="Speech-to-text of audio.")


class ReplyRouteKind(StrEnum):
    channel = "channel"
    sms = "sms"
    email = "email"
    none = "none"


class ReplyRoute(_Model):
    """How the answer reaches the citizen: back through the channel, or by SMS or e-mail."""

    kind: ReplyRouteKind = ReplyRouteKind.channel
    channel_id: str | None = None
    address: str | None = Field(
        default=None, description="Channel-specific address: openid, e-mail, phone, upstream id."
    )


class UpstreamRef(_Model):
    """The work order number and deadline of an upstream platform (provincial, national)."""

    platform: str
    number: str
    deadline: AwareDatetime | None = None
    supervised: bool = Field(default=False, description="The platform marks the work order as supervised.")


class RawRef(_Model):
    """Where the raw payload is kept for audit, and its fingerprint."""

    key: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    content_type: str
    size: int = Field(ge=0)


class Appeal(_Model):
    """One citizen appeal, whatever channel it came by."""

    schema_version: str = SCHEMA_VERSION
    appeal_no: AppealNo
    channel_id: str
    channel_kind: str
    external_id: str = Field(
        min_length=1, max_length=200, description="The channel's own message id; dedup key."
    )
    received_at: AwareDatetime = Field(description="When the gateway stored it (Asia/Shanghai).")
    citizen: Citizen = Field(default_factory=Citizen)
    subject: str = Field(max_length=200)
    content: str = Field(min_length=1, max_length=20000)
    appeal_type: AppealType = AppealType.complaint
    location: Location = Field(default_factory=Location)
    attachments: tuple[Attachment, ...] = ()
    urgency: Urgency = Urgency.general
    category: tuple[str, ...] = Field(
        default=(), description="Taxonomy path, first level first; set by the router."
    )
    reply_route: ReplyRoute = Field(default_factory=ReplyRoute)
    upstream: UpstreamRef | None = None
    raw: RawRef | None = None


class AppealDraft(_Model):
    """What an adapter's decoder produces: an appeal before the gateway numbers and stores it."""

    external_id: str = Field(min_length=1, max_length=200)
    citizen: Citizen = Field(default_factory=Citizen)
    subject: str | None = Field(default=None, max_length=200)
    content: str = Field(min_length=1, max_length=20000)
    appeal_type: AppealType | None = None
    location: Location = Field(default_factory=Location)
    attachments: tuple[Attachment, ...] = ()
    urgency: Urgency | None = None
    reply_route: ReplyRoute | None = None
    upstream: UpstreamRef | None = None
    occurred_at: datetime | None = Field(
        default=None, description="When the citizen sent it, as the channel says."
    )

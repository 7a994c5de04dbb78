"""The appeal schema and normalization. Pure: values in, values out."""

from normalizer.appeal_no import SHANGHAI, appeal_day, format_appeal_no
from normalizer.hints import hint_note, with_notes
from normalizer.merge import merge
from normalizer.normalize import clean_text, infer_appeal_type, normalize
from normalizer.phone import mask_phone, normalize_phone
from normalizer.schema import (
    SCHEMA_VERSION,
    Appeal,
    AppealDraft,
    AppealType,
    Attachment,
    AttachmentKind,
    ChannelIdentity,
    Citizen,
    Coordinates,
    IdentityKind,
    Location,
    RawRef,
    ReplyRoute,
    ReplyRouteKind,
    UpstreamRef,
    Urgency,
)

__all__ = [
    "SCHEMA_VERSION",
    "SHANGHAI",
    "Appeal",
    "AppealDraft",
    "AppealType",
    "Attachment",
    "AttachmentKind",
    "ChannelIdentity",
    "Citizen",
    "Coordinates",
    "IdentityKind",
    "Location",
    "RawRef",
    "ReplyRoute",
    "ReplyRouteKind",
    "UpstreamRef",
    "Urgency",
    "appeal_day",
    "clean_text",
    "format_appeal_no",
    "hint_note",
    "infer_appeal_type",
    "mask_phone",
    "merge",
    "normalize",
    "normalize_phone",
    "with_notes",
]

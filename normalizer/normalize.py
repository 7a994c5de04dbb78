"""Draft -> Appeal: the one place where channel drafts become appeals. Pure: no I/O, no clock."""

from __future__ import annotations

import re
from datetime import datetime

from normalizer.appeal_no import SHANGHAI
from normalizer.phone import normalize_phone
from normalizer.schema import (
    Appeal,
    AppealDraft,
    AppealType,
    Citizen,
    RawRef,
    ReplyRoute,
    Urgency,
)

_SPACE = re.compile(r"[ \t\u3000\xa0]+")
_BLANK_LINES = re.compile(r"\n{3,}")
SUBJECT_LENGTH = 40

# Ordered: the first type whose words appear wins; complaint is the default.
_TYPE_WORDS: tuple[tuple[AppealType, tuple[str, ...]], ...] = (
    (AppealType.praise, ("表扬", "感谢信", "点赞", "锦旗")),
    (AppealType.report, ("举报", "检举", "揭发")),
    (AppealType.help_request, ("求助", "救救", "帮帮", "被困")),
    (AppealType.suggestion, ("建议", "提议", "希望增设", "能否增设")),
    (AppealType.consultation, ("咨询", "请问", "想了解", "如何办理", "怎么办理", "是否可以")),
)


def clean_text(text: str) -> str:
    """Collapse runs of spaces, normalize line ends, drop control characters."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(ch for ch in text if ch == "\n" or ch >= " ")
    lines = [_SPACE.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def infer_appeal_type(text: str) -> AppealType:
    for appeal_type, words in _TYPE_WORDS:
        if any(word in text for word in words):
            return appeal_type
    return AppealType.complaint


def make_subject(content: str) -> str:
    first = content.split("\n", 1)[0]
    return first if len(first) <= SUBJECT_LENGTH else first[: SUBJECT_LENGTH - 1] + "…"


def normalize_citizen(citizen: Citizen) -> Citizen:
    if citizen.phone is None:
        return citizen
    return citizen.model_copy(update={"phone": normalize_phone(citizen.phone)})


def normalize(
    draft: AppealDraft,
    *,
    appeal_no: str,
    channel_id: str,
    channel_kind: str,
    received_at: datetime,
    raw: RawRef | None = None,
) -> Appeal:
    """Build the appeal from a channel's draft. ``received_at`` must be timezone-aware."""
    if received_at.tzinfo is None:
        raise ValueError("received_at must be timezone-aware")
    content = clean_text(draft.content)
    subject = clean_text(draft.subject) if draft.subject else ""
    if not subject:
        subject = make_subject(content)
    reply_route = draft.reply_route or ReplyRoute(channel_id=channel_id)
    if reply_route.channel_id is None:
        reply_route = reply_route.model_copy(update={"channel_id": channel_id})
    return Appeal(
        appeal_no=appeal_no,
        channel_id=channel_id,
        channel_kind=channel_kind,
        external_id=draft.external_id,
        received_at=received_at.astimezone(SHANGHAI),
        citizen=normalize_citizen(draft.citizen),
        subject=subject[:200],
        content=content,
        appeal_type=draft.appeal_type or infer_appeal_type(f"{subject}\n{content}"),
        location=draft.location,
        attachments=draft.attachments,
        urgency=draft.urgency or Urgency.general,
        reply_route=reply_route,
        upstream=draft.upstream,
        raw=raw,
    )

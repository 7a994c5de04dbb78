"""Merging a citizen's further messages into the appeal they belong to. Pure."""

from __future__ import annotations

from normalizer.normalize import clean_text, normalize_citizen
from normalizer.schema import Appeal, AppealDraft, Citizen


def _fill(base: Citizen, more: Citizen) -> Citizen:
    update = {
        name: getattr(more, name)
        for name in ("name", "phone", "identity")
        if getattr(base, name) is None and getattr(more, name) is not None
    }
    return base.model_copy(update=update) if update else base


def merge(appeal: Appeal, addition: AppealDraft) -> Appeal:
    """The appeal with ``addition`` appended: its text on a new line (unless already there), its
    attachments after the others, a location or contact detail only where the appeal had none."""
    text = clean_text(addition.content)
    content = appeal.content if not text or text in appeal.content else f"{appeal.content}\n{text}"
    location = appeal.location
    if location.coordinates is None and addition.location.coordinates is not None:
        location = location.model_copy(update={"coordinates": addition.location.coordinates})
    if location.address is None and addition.location.address is not None:
        location = location.model_copy(update={"address": addition.location.address})
    return appeal.model_copy(
        update={
            "content": content[:20000],
            "attachments": appeal.attachments + addition.attachments,
            "location": location,
            "citizen": _fill(appeal.citizen, normalize_citizen(addition.citizen)),
        }
    )

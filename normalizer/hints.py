"""Hints a channel gives (urgency, category, appeal type) that we do not know: kept, never refused.

A hint is advice: an agent's urgency word the gateway does not know, an upstream category it has no
mapping for. Such a message is still an appeal; the hint becomes a note at the end of its content
(so the unit and the router read it) and the appeal takes the default. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable

MAX_CONTENT = 20000
MAX_HINT = 100


def hint_note(label: str, value: str) -> str:
    """One note: ``（未识别的紧急程度：特特急，已按默认处理）``."""
    return f"（未识别的{label}：{value.strip()[:MAX_HINT]}，已按默认处理）"


def with_notes(content: str, notes: Iterable[str], limit: int = MAX_CONTENT) -> str:
    """``content`` with each note on a line of its own after it, within ``limit`` characters (the
    content gives way, the notes are kept whole)."""
    tail = "".join(f"\n{note}" for note in notes)
    if not tail:
        return content[:limit]
    return content[: max(limit - len(tail), 0)] + tail

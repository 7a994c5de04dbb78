"""Carrying a unit's reply to the citizen on the channel the appeal came by (or its reply route)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import structlog

from adapters.base import AnswerResult
from gateway.loop import HistoryEvent

if TYPE_CHECKING:
    from gateway.runtime import Runtime

log = structlog.get_logger("answers")


async def answer_citizen(runtime: Runtime, appeal_no: str) -> AnswerResult:
    """Send the stored reply through the channel's adapter; the outcome goes into the history, so an
    operator sees a reply that could not reach the citizen (``answered`` with ``delivered: false``)."""
    record = await runtime.loop.require(appeal_no)
    appeal = record.appeal
    text = (record.reply or {}).get("content", "")
    channel_id = appeal.reply_route.channel_id or appeal.channel_id
    adapter = runtime.adapters.get(channel_id)
    if adapter is None:
        result = AnswerResult(delivered=False, via="none", detail=f"channel {channel_id} is not running")
    else:
        try:
            result = await adapter.answer(appeal, text)
        except Exception as e:  # an adapter's failure must reach the operator, not stop the gateway
            result = AnswerResult(delivered=False, via=adapter.kind, detail=f"{type(e).__name__}: {e}"[:300])
    await runtime.loop.record_event(
        record,
        HistoryEvent(
            "answered",
            f"channel:{channel_id}",
            runtime.clock(),
            detail={"delivered": result.delivered, "via": result.via, "detail": result.detail},
        ),
    )
    (log.info if result.delivered else log.warning)(
        "citizen.answered" if result.delivered else "citizen.not_answered",
        appeal_no=appeal_no,
        channel=channel_id,
        via=result.via,
        detail=result.detail,
    )
    return result

"""What each role gets: operators and admins the whole appeal (a read of personal data, audited),
supervisors a supervised appeal with every piece of personal data masked; asking outright for
personal data as a supervisor is refused (403) and the attempt audited."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy import select

from gateway.accounts import audit
from gateway.accounts.auth import READERS, Principal, audited, principal, require
from gateway.accounts.mask import has_contact, known_of, mask_appeal, mask_history, mask_text, mask_value
from gateway.accounts.store import Role
from gateway.errors import Forbidden
from gateway.loop import AppealRecord
from gateway.records.db import padded
from gateway.records.schema import appeals
from gateway.records.search import SearchQuery
from gateway.runtime import Runtime
from gateway.supervision import supervision_of


async def refuse(runtime: Runtime, who: Principal, action: str, appeal_no: str | None, message: str) -> None:
    """Audit a refused attempt at personal data, then answer 403."""
    await audited(runtime, who, action, appeal_no, allowed=False)
    raise Forbidden(message, role=who.role.value)


async def appeal_view(
    request: web.Request,
    record: AppealRecord,
    history: list[dict[str, Any]],
    *,
    reveal: str | None = None,
    masked: bool = False,
) -> dict[str, Any]:
    """The answer of ``GET /api/v1/appeals/{no}`` for the caller's role: masked for supervisors, and
    for anyone who asks (``masked``: the workbench shows personal data only on a deliberate, audited
    reveal of the contact)."""
    runtime = require(request, READERS)
    who = principal(request)
    appeal_no = record.appeal.appeal_no
    appeal = record.appeal.model_dump(mode="json")
    body = record.summary() | {"decision": record.decision, "supervision": supervision_of(record, history)}
    if who.role is Role.supervisor:
        if body["supervision"] is None:
            raise Forbidden("supervisors read supervised appeals only", role=who.role.value)
        if reveal:
            await refuse(runtime, who, audit.REVEAL_CONTACT, appeal_no, "supervisors never see personal data")
    if who.role is Role.supervisor or (masked and not reveal):
        hidden: dict[str, Any] = mask_value(body, known_of(appeal))
        return hidden | {
            "appeal": mask_appeal(appeal),
            "history": mask_history(history, appeal),
            "masked": True,
        }
    if has_contact(appeal):
        await audited(runtime, who, audit.REVEAL_CONTACT if reveal else audit.READ_APPEAL, appeal_no)
    return body | {"appeal": appeal, "history": history, "masked": False}


async def contact_view(request: web.Request, record: AppealRecord) -> dict[str, Any]:
    """The citizen's contact, for operators and admins (audited); 403 (audited) for supervisors."""
    runtime = require(request, READERS)
    who = principal(request)
    appeal_no = record.appeal.appeal_no
    if who.role is Role.supervisor:
        await refuse(runtime, who, audit.REVEAL_CONTACT, appeal_no, "supervisors never see personal data")
    await audited(runtime, who, audit.REVEAL_CONTACT, appeal_no)
    appeal = record.appeal
    return {
        "appeal_no": appeal_no,
        "citizen": appeal.citizen.model_dump(mode="json"),
        "address": appeal.location.address,
        "reply_route": appeal.reply_route.model_dump(mode="json"),
    }


async def search_scope(request: web.Request, query: SearchQuery) -> SearchQuery:
    """The search the caller may make: supervisors only over supervised appeals and never by phone
    (refused, audited); a search by phone by anyone else is audited."""
    runtime = require(request, READERS)
    who = principal(request)
    if who.role is Role.supervisor:
        if query.phone:
            await refuse(runtime, who, audit.SEARCH_PHONE, None, "supervisors may not search by phone")
        if query.supervised is False:
            raise Forbidden("supervisors search supervised appeals only", role=who.role.value)
        return query.model_copy(update={"supervised": True})
    if query.phone:
        await audited(runtime, who, audit.SEARCH_PHONE, None)
    return query


async def search_view(request: web.Request, found: dict[str, Any]) -> dict[str, Any]:
    """Search results as the caller may see them (supervisors: subjects masked)."""
    if principal(request).role is not Role.supervisor or not found["items"]:
        return found
    runtime = require(request, READERS)
    assert runtime.records is not None
    numbers = [item["appeal_no"] for item in found["items"]]
    async with runtime.records.engine.connect() as conn:
        rows = await conn.execute(
            select(appeals.c.appeal_no, appeals.c.appeal).where(appeals.c.appeal_no.in_(padded(numbers)))
        )
        known = {row.appeal_no: known_of(row.appeal) for row in rows}
    items = [
        item | {"subject": mask_text(item["subject"], known.get(item["appeal_no"], ()))}
        for item in found["items"]
    ]
    return found | {"items": items}

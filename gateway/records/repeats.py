"""Repeats and cross-channel duplicates in the record: detected when the recorder records a new appeal
(:func:`link_new`, in the recorder's transaction), listed for review, confirmed or unlinked by an
operator, and the repeat context a delivery can carry (:func:`repeat_context`).

The decision itself is pure (:mod:`gateway.records.links`). A link is never removed: unlinking keeps
the row with ``status = unlinked`` and who decided, so a detection run again never links it anew.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import and_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway.records.links import Candidate, Link, LinkPolicy, decide
from gateway.records.schema import appeal_links, appeals
from gateway.records.write import _insert
from normalizer import Appeal
from normalizer.phone import normalize_phone

STATUSES = ("linked", "confirmed", "unlinked")
KINDS = ("repeat", "duplicate")
DETECTOR = "system:repeats"
CANDIDATES = 200  # earlier appeals compared, per way of matching (newest first)
Decision = Literal["confirmed", "unlinked"]
_COLUMNS = [getattr(appeals.c, name) for name in Candidate.__dataclass_fields__]


async def _candidates(conn: AsyncConnection, new: Candidate, policy: LinkPolicy) -> list[Candidate]:
    """Earlier appeals that could be linked: the same citizen or the same place and topic within the
    window, any within the duplicate hours. One indexed query each (an OR would scan the window)."""
    since = new.received_at - policy.horizon
    ways = [appeals.c.received_at >= new.received_at - timedelta(hours=policy.duplicate_hours)]
    if new.phone:
        ways.append(appeals.c.phone == new.phone)
    if new.identity:
        ways.append(appeals.c.identity == new.identity)
    if new.area:
        ways.append(and_(appeals.c.area == new.area, appeals.c.category == new.category))
    found: dict[str, Candidate] = {}
    for way in ways:
        query = (
            select(*_COLUMNS)
            .where(way, appeals.c.received_at.between(since, new.received_at))
            .where(appeals.c.appeal_no != new.appeal_no)
            .order_by(appeals.c.received_at.desc())
            .limit(CANDIDATES)
        )
        for row in await conn.execute(query):
            found.setdefault(row.appeal_no, Candidate.of(dict(row._mapping)))
    return list(found.values())


async def link_new(
    conn: AsyncConnection, appeal_nos: Sequence[str], policy: LinkPolicy, now: datetime
) -> list[Link]:
    """Detect and write the links of these (newly recorded) appeals; idempotent (a pair already
    decided keeps its decision)."""
    if not appeal_nos:
        return []
    rows = await conn.execute(select(*_COLUMNS).where(appeals.c.appeal_no.in_(list(appeal_nos))))
    found: list[Link] = []
    for row in rows.all():
        new = Candidate.of(dict(row._mapping))
        found.extend(decide(new, await _candidates(conn, new, policy), policy, now))
    if found:
        stmt = _insert(conn, appeal_links).on_conflict_do_nothing(index_elements=["appeal_no", "earlier_no"])
        await conn.execute(
            stmt,
            [
                {
                    "appeal_no": link.appeal_no,
                    "earlier_no": link.earlier_no,
                    "kind": link.kind,
                    "why": link.why,
                    "status": "linked",
                    "decided_by": DETECTOR,
                    "at": now,
                }
                for link in found
            ],
        )
    return found


async def list_links(
    engine: AsyncEngine,
    *,
    status: str | None = None,
    kind: str | None = None,
    limit: int = 100,
    appeal_no: str | None = None,
) -> list[dict[str, Any]]:
    """Links newest first (``status`` and ``kind`` already validated by the caller); with
    ``appeal_no``, only the links of that appeal, to earlier ones or from later ones."""
    query = select(appeal_links).order_by(appeal_links.c.at.desc(), appeal_links.c.id.desc()).limit(limit)
    if status:
        query = query.where(appeal_links.c.status == status)
    if kind:
        query = query.where(appeal_links.c.kind == kind)
    if appeal_no:
        query = query.where(
            (appeal_links.c.appeal_no == appeal_no) | (appeal_links.c.earlier_no == appeal_no)
        )
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    return [
        {
            "appeal_no": r.appeal_no,
            "earlier": r.earlier_no,
            "kind": r.kind,
            "why": r.why,
            "status": r.status,
            "decided_by": r.decided_by,
            "at": r.at.isoformat(),
        }
        for r in rows
    ]


async def set_status(
    engine: AsyncEngine,
    appeal_no: str,
    earlier_no: str,
    status: Decision,
    actor: str,
    now: datetime,
) -> bool:
    """An operator's decision on a link; False when no such link exists."""
    async with engine.begin() as conn:
        result = await conn.execute(
            update(appeal_links)
            .where(appeal_links.c.appeal_no == appeal_no, appeal_links.c.earlier_no == earlier_no)
            .values(status=status, decided_by=actor[:200], at=now)
        )
    return bool(result.rowcount)


def _context(row: Any, kind: str) -> dict[str, Any]:
    raw = (row.record or {}).get("reply")
    reply = json.loads(raw) if raw else None
    return {
        "earlier": row.earlier_no,
        "kind": kind,
        "unit": row.unit,
        "state": row.state,
        "reply": {"content": reply.get("content"), "at": reply.get("at")} if reply else None,
    }


async def repeat_context(engine: AsyncEngine, appeal_no: str) -> dict[str, Any] | None:
    """What a unit's delivery says of a recorded appeal that repeats an earlier one: the earlier
    appeal's number, its unit, its state and its reply (None: not linked, or unlinked)."""
    query = (
        select(
            appeal_links.c.earlier_no, appeal_links.c.kind, appeals.c.unit, appeals.c.state, appeals.c.record
        )
        .join(appeals, appeals.c.appeal_no == appeal_links.c.earlier_no)
        .where(appeal_links.c.appeal_no == appeal_no, appeal_links.c.status != "unlinked")
        .order_by(appeals.c.received_at.desc())
        .limit(1)
    )
    async with engine.connect() as conn:
        row = (await conn.execute(query)).first()
    return None if row is None else _context(row, row.kind)


async def repeat_of(
    engine: AsyncEngine, appeal: Appeal, policy: LinkPolicy, now: datetime
) -> dict[str, Any] | None:
    """The repeat context of an appeal about to be delivered, which the recorder may not have
    recorded yet: decided here from the appeal itself against the record (the same rules as
    :func:`link_new`; a pair an operator unlinked stays apart). The hook for the loop's delivery
    payload (``repeat_of``); the ``why`` comes along for the unit's reader."""
    citizen, location = appeal.citizen, appeal.location
    new = Candidate(
        appeal.appeal_no,
        appeal.received_at,
        appeal.channel_id,
        appeal.subject,
        appeal.content,
        phone=normalize_phone(citizen.phone) if citizen.phone else None,
        identity=f"{citizen.identity.kind.value}:{citizen.identity.value}"[:300]
        if citizen.identity
        else None,
        category=appeal.category[0] if appeal.category else None,
        area=location.area,
    )
    async with engine.connect() as conn:
        found = decide(new, await _candidates(conn, new, policy), policy, now)
        apart = set(
            (
                await conn.execute(
                    select(appeal_links.c.earlier_no).where(
                        appeal_links.c.appeal_no == new.appeal_no, appeal_links.c.status == "unlinked"
                    )
                )
            ).scalars()
        )
        link = next((link for link in found if link.earlier_no not in apart), None)
        if link is None:
            return None
        row = (
            await conn.execute(
                select(
                    appeals.c.appeal_no.label("earlier_no"), appeals.c.unit, appeals.c.state, appeals.c.record
                ).where(appeals.c.appeal_no == link.earlier_no)
            )
        ).first()
    if row is None:
        return None
    return _context(row, link.kind) | {"why": link.why}

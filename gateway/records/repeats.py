"""Repeats and cross-channel duplicates in the record: detected when the recorder records a new appeal
(:func:`link_new`, in the recorder's transaction), listed for review, confirmed or unlinked by an
operator, and what a unit's delivery says of the earlier appeal (``repeat_of``: :func:`repeat_of` at
assignment, :func:`standing` once the recorder has linked it).

The decision itself is pure (:mod:`gateway.records.links`). A link is never removed: unlinking keeps
the row with ``status = unlinked`` and who decided, so a detection run again never links it anew.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway.records.db import padded, writing
from gateway.records.links import Candidate, Link, LinkPolicy, bands, decide, explain, rank, signature
from gateway.records.schema import appeal_bands, appeal_links, appeals
from gateway.records.write import _insert
from normalizer import Appeal
from normalizer.phone import normalize_phone

STATUSES = ("linked", "confirmed", "unlinked")
KINDS = ("repeat", "duplicate")
DETECTOR = "system:repeats"
CANDIDATES = 200  # earlier appeals compared, per way of matching (newest first)
Decision = Literal["confirmed", "unlinked"]
_COLUMNS = [getattr(appeals.c, name) for name in Candidate.__dataclass_fields__]
# what a candidate is compared by: its signature, not its text (read only for the links kept)
_SLIM = [c for c in _COLUMNS if c.name not in ("subject", "content")]


def _way(*match: Any, columns: Sequence[Any] = _SLIM, since: str = "since") -> Any:
    """One way of matching, built once with bound parameters (building a query costs more than
    SQLite takes to answer it): the newest ``CANDIDATES`` earlier appeals it finds since the
    parameter ``since``."""
    c = appeals.c
    return (
        select(*columns)
        .where(*match, c.received_at.between(bindparam(since), bindparam("at")))
        .where(c.appeal_no != bindparam("no"))
        .order_by(c.received_at.desc())
        .limit(CANDIDATES)
    )


# a duplicate is always of another channel and a near-duplicate text: the newest appeal of each
# other channel within the duplicate hours that shares a MinHash band with it (``appeal_bands``;
# links.bands), however many the hours hold, and only those are read
_BANDED = select(appeal_bands.c.appeal_no).where(
    appeal_bands.c.band.in_(bindparam("bands", expanding=True)),
    appeal_bands.c.channel_id != bindparam("channel"),
    appeal_bands.c.received_at.between(bindparam("recent"), bindparam("at")),
)
_DUPLICATES = _way(
    appeals.c.appeal_no.in_(_BANDED), appeals.c.channel_id != bindparam("channel"), since="recent"
)
_SAME_PHONE = _way(appeals.c.phone == bindparam("phone"))
_SAME_IDENTITY = _way(appeals.c.identity == bindparam("identity"))
_SAME_PLACE_AND_TOPIC = _way(appeals.c.area == bindparam("area"), appeals.c.category == bindparam("category"))
_NEW = select(*_COLUMNS).where(appeals.c.appeal_no.in_(bindparam("nos", expanding=True)))
_TEXTS = select(appeals.c.appeal_no, appeals.c.subject, appeals.c.content).where(
    appeals.c.appeal_no.in_(bindparam("nos", expanding=True))
)
_SIGN = update(appeals).where(appeals.c.appeal_no == bindparam("no")).values(minhash=bindparam("sig"))


async def _candidates(conn: AsyncConnection, new: Candidate, policy: LinkPolicy) -> list[Candidate]:
    """Earlier appeals that could be linked: the same citizen or the same place and topic within the
    window, any of another channel within the duplicate hours. One indexed query each (an OR would
    scan the window)."""
    window = {"since": new.received_at - policy.horizon, "at": new.received_at, "no": new.appeal_no}
    ways: list[tuple[Any, dict[str, Any]]] = [
        (
            _DUPLICATES,
            {
                "recent": new.received_at - policy.duplicate_span,
                "channel": new.channel_id,
                "bands": padded(bands(new.minhash or signature(new.text))),
            },
        )
    ]
    if new.phone:
        ways.append((_SAME_PHONE, {"phone": new.phone}))
    if new.identity:
        ways.append((_SAME_IDENTITY, {"identity": new.identity}))
    if new.area and new.category:  # the rule needs both (no category is no topic)
        ways.append((_SAME_PLACE_AND_TOPIC, {"area": new.area, "category": new.category}))
    found: dict[str, Candidate] = {}
    for query, params in ways:
        for row in await conn.execute(query, window | params):
            if row[0] not in found:  # the candidate's fields in order, less subject and content
                found[row[0]] = Candidate(row[0], row[1], row[2], "", "", *row[3:])
    return list(found.values())


async def _with_texts(conn: AsyncConnection, candidates: Sequence[Candidate]) -> list[Candidate]:
    """The candidates with their subject and content read (one query)."""
    if not candidates:
        return []
    nos = [c.appeal_no for c in candidates]
    texts = {row.appeal_no: row for row in await conn.execute(_TEXTS, {"nos": padded(nos)})}
    return [
        replace(one, subject=texts[one.appeal_no].subject, content=texts[one.appeal_no].content)
        for one in candidates
    ]


async def _band(conn: AsyncConnection, news: Sequence[Candidate], policy: LinkPolicy) -> None:
    """Write the new appeals' bands (each the newest of its channel under them), and drop those older
    than the duplicate hours before the newest of them: the table holds the hours' appeals only."""
    if not news:
        return
    newest_of_channel: dict[tuple[int, str], dict[str, Any]] = {}
    for c in sorted(news, key=lambda c: c.received_at):  # one row a band and channel: the newest
        for band in bands(c.minhash or signature(c.text)):
            newest_of_channel[(band, c.channel_id)] = {
                "band": band,
                "channel_id": c.channel_id,
                "appeal_no": c.appeal_no,
                "received_at": c.received_at,
            }
    stmt = _insert(conn, appeal_bands)
    stmt = stmt.on_conflict_do_update(
        index_elements=["band", "channel_id"],
        set_={"appeal_no": stmt.excluded.appeal_no, "received_at": stmt.excluded.received_at},
        where=appeal_bands.c.received_at <= stmt.excluded.received_at,  # an older one recorded late stays out
    )
    await conn.execute(stmt, list(newest_of_channel.values()))
    newest = max(c.received_at for c in news)
    await conn.execute(
        delete(appeal_bands).where(appeal_bands.c.received_at < newest - policy.duplicate_span)
    )


async def link_new(
    conn: AsyncConnection, appeal_nos: Sequence[str], policy: LinkPolicy, now: datetime
) -> list[Link]:
    """Detect and write the links of these (newly recorded) appeals; idempotent (a pair already
    decided keeps its decision)."""
    if not appeal_nos:
        return []
    found: list[Link] = []
    signed: list[dict[str, Any]] = []
    news = []
    for row in (await conn.execute(_NEW, {"nos": padded(list(appeal_nos))})).all():
        new = Candidate(*row)  # its signature written with its row (rows.appeal_row)
        news.append(new if new.minhash else replace(new, minhash=signature(new.text)))
    await _band(conn, news, policy)  # all of them first: one of the batch can duplicate another
    for new in news:
        earlier = await _candidates(conn, new, policy)
        unsigned = await _with_texts(conn, [c for c in earlier if c.minhash is None])  # recorded before 0007
        unsigned = [replace(c, minhash=signature(c.text)) for c in unsigned]
        signed += [{"no": c.appeal_no, "sig": c.minhash} for c in unsigned]
        earlier = [c for c in earlier if c.minhash is not None] + unsigned
        matches = rank(new, earlier, policy, now)
        olds = {
            c.appeal_no: c for c in await _with_texts(conn, [m.old for m in matches if not m.old.content])
        }
        found += [explain(new, replace(m, old=olds.get(m.old.appeal_no, m.old))) for m in matches]
    if signed:
        await conn.execute(_SIGN, signed)
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
    async with writing(engine) as conn:
        result = await conn.execute(
            update(appeal_links)
            .where(appeal_links.c.appeal_no == appeal_no, appeal_links.c.earlier_no == earlier_no)
            .values(status=status, decided_by=actor[:200], at=now)
        )
    return bool(result.rowcount)


def told_reply(reply: Mapping[str, Any] | None, earlier: Mapping[str, Any]) -> dict[str, Any] | None:
    """The earlier appeal's reply as a unit is told it (content and time). It may speak to another
    citizen (a duplicate, the same place and topic): the earlier appeal's citizen's name, address,
    phone and ID numbers are masked in it (``earlier``: that appeal as JSON)."""
    if not reply:
        return None
    content = reply.get("content")
    if content:
        # pure, but its package's __init__ reaches the runtime, which imports the record
        from gateway.accounts.mask import known_of, mask_text

        content = mask_text(content, known_of(dict(earlier)))
    return {"content": content, "at": reply.get("at")}


def _context(row: Any, kind: str, why: Any) -> dict[str, Any]:
    """The ``repeat_of`` a unit is told: the earlier appeal's number, the kind of link, its unit,
    state and reply (as the record holds them), and why."""
    raw = (row.record or {}).get("reply")
    return {
        "appeal_no": row.earlier_no,
        "kind": kind,
        "unit": row.unit,
        "state": row.state,
        "reply": told_reply(json.loads(raw) if raw else None, row.appeal or {}),
        "why": why,
    }


_EARLIER = (
    appeals.c.appeal_no.label("earlier_no"),
    appeals.c.unit,
    appeals.c.state,
    appeals.c.record,
    appeals.c.appeal,
)


_LINKS = (
    select(
        appeal_links.c.appeal_no, appeal_links.c.kind, appeal_links.c.why, appeal_links.c.status, *_EARLIER
    )
    .join(appeals, appeals.c.appeal_no == appeal_links.c.earlier_no)
    .order_by((appeal_links.c.status == "confirmed").desc(), appeals.c.received_at.desc())
)


def _stands(rows: Iterable[Any]) -> dict[str, dict[str, Any]]:
    """Each appeal's link that stands (not unlinked) as its ``repeat_of``, from rows of ``_LINKS``:
    an operator's confirmed one first, then the one to the most recent earlier appeal."""
    found: dict[str, dict[str, Any]] = {}
    for row in rows:
        if row.status != "unlinked" and row.appeal_no not in found:
            found[row.appeal_no] = _context(row, row.kind, row.why)
    return found


async def _standing(conn: AsyncConnection, appeal_nos: Sequence[str]) -> dict[str, dict[str, Any]]:
    listed = appeal_links.c.appeal_no.in_(padded(list(appeal_nos)))
    query = _LINKS.where(listed, appeal_links.c.status != "unlinked")
    return _stands(await conn.execute(query))


async def repeat_context(engine: AsyncEngine, appeal_no: str) -> dict[str, Any] | None:
    """What a unit's delivery says of a recorded appeal that repeats an earlier one (None: not
    linked, or unlinked)."""
    return (await standing(engine, [appeal_no])).get(appeal_no)


async def standing(engine: AsyncEngine, appeal_nos: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The ``repeat_of`` of each of these appeals that has a link standing."""
    if not appeal_nos:
        return {}
    async with engine.connect() as conn:
        return await _standing(conn, appeal_nos)


def candidate(appeal: Appeal) -> Candidate:
    """What the decision reads of an appeal not yet recorded (as :func:`rows.appeal_row` would)."""
    citizen, location = appeal.citizen, appeal.location
    return Candidate(
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


async def _same_citizen(conn: AsyncConnection, new: Candidate, policy: LinkPolicy) -> list[Any]:
    """The same citizen's earlier appeals within the window (by phone, by channel identity: one
    indexed query each), with what a unit is told of them."""
    since = new.received_at - policy.horizon
    ways = []
    if new.phone:
        ways.append(appeals.c.phone == new.phone)
    if new.identity:
        ways.append(appeals.c.identity == new.identity)
    found: dict[str, Any] = {}
    for way in ways:
        query = (
            select(*_COLUMNS, *_EARLIER)
            .where(way, appeals.c.received_at.between(since, new.received_at))
            .where(appeals.c.appeal_no != new.appeal_no)
            .order_by(appeals.c.received_at.desc())
            .limit(CANDIDATES)
        )
        for row in await conn.execute(query):
            found.setdefault(row.appeal_no, row)
    return list(found.values())


async def repeat_of(
    engine: AsyncEngine, appeal: Appeal, policy: LinkPolicy, now: datetime, *, first: bool = False
) -> dict[str, Any] | None:
    """The ``repeat_of`` of an appeal about to be assigned, cheap enough for dispatch: the link
    that stands when the recorder has linked it already (a re-dispatch, an operator's assignment);
    else decided here against the same citizen's earlier appeals in the record (by phone or channel
    identity: one indexed query each, a handful of rows), with the rules of :func:`link_new`; a
    pair an operator unlinked stays apart. ``first``: the router's first dispatch, which the
    recorder has not linked yet (it records an appeal a moment after accepting it): the links are
    not read, and an appeal without phone or identity costs no query at all. Links by place and
    topic, and other citizens' reports of the same matter, are the recorder's to find (the unit is
    told by an ``appeal.updated``)."""
    new = candidate(appeal)
    if first and not (new.phone or new.identity):
        return None
    async with engine.connect() as conn:
        links = (
            []
            if first
            else (await conn.execute(_LINKS.where(appeal_links.c.appeal_no == new.appeal_no))).all()
        )
        found = _stands(links)
        if new.appeal_no in found:
            return found[new.appeal_no]
        if not (new.phone or new.identity):
            return None
        rows = await _same_citizen(conn, new, policy)
    apart = {row.earlier_no for row in links}  # none stands: every one was unlinked
    by_no = {row.appeal_no: row for row in rows}
    earlier = [Candidate.of(dict(row._mapping)) for row in rows]
    for link in decide(new, earlier, policy, now):
        if link.earlier_no not in apart:
            return _context(by_no[link.earlier_no], link.kind, link.why)
    return None

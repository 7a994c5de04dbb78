"""The weekly and monthly reports: every figure computed from the record (definitions in
docs/reports.md). :func:`build` reads the period's appeals, their events and links; :func:`figures`
(pure) computes the report from them."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.logging import scrub
from gateway.records.periods import Period
from gateway.records.schema import appeal_events, appeal_links, appeals

HOT_ISSUES = 10
DIFFICULT = 20
EXAMPLES = 3
SATISFIED = ("satisfied", "basically_satisfied")
COLUMNS = ("appeal_no", "channel_id", "category", "county", "area", "unit", "subject", "satisfaction")


@dataclass
class Appeal:
    """One appeal of the period with what the report reads of its history."""

    appeal_no: str
    channel_id: str
    category: str | None
    county: str | None
    area: str | None
    unit: str | None
    subject: str
    satisfaction: str | None
    deadlines: dict[str, Any]
    events: list[tuple[str, datetime, dict[str, Any]]] = field(default_factory=list)
    links: list[str] = field(default_factory=list)  # kinds of its links that stand

    def first(self, event_type: str) -> datetime | None:
        return next((at for t, at, _ in self.events if t == event_type), None)

    def count(self, event_type: str) -> int:
        return sum(1 for t, _, _ in self.events if t == event_type)


def _step(appeal: Appeal, event_type: str, deadline: str, now: datetime) -> str | None:
    """``on_time``, ``late``, or None (no such deadline, or not done and not yet due)."""
    due_raw = appeal.deadlines.get(deadline)
    if not due_raw:
        return None
    due = datetime.fromisoformat(due_raw)
    done = appeal.first(event_type)
    if done is None:
        return "late" if due <= now else None
    return "on_time" if done < due else "late"


def _rate(steps: Iterable[str | None]) -> dict[str, Any]:
    counted = Counter(s for s in steps if s is not None)
    due = counted["on_time"] + counted["late"]
    return {
        "due": due,
        "on_time": counted["on_time"],
        "rate": round(counted["on_time"] / due, 4) if due else None,
    }


def _volume(items: Sequence[Appeal]) -> dict[str, dict[str, int]]:
    def count(values: Iterable[str | None], missing: str) -> dict[str, int]:
        return dict(Counter(v or missing for v in values).most_common())

    return {
        "by_channel": count((a.channel_id for a in items), "unknown"),
        "by_category": count((a.category for a in items), "uncategorized"),
        "by_county": count((a.county for a in items), "unplaced"),
        "by_unit": count((a.unit for a in items), "unassigned"),
    }


def _change(now: Mapping[str, int], before: Mapping[str, int]) -> dict[str, int]:
    return {k: now.get(k, 0) - before.get(k, 0) for k in dict.fromkeys([*now, *before])}


def _topic_place(a: Appeal) -> tuple[str, str]:
    return (a.category or "uncategorized", a.county or a.area or "unplaced")


def _hot(items: Sequence[Appeal], previous: Sequence[Appeal]) -> list[dict[str, Any]]:
    groups: dict[tuple[str, str], list[Appeal]] = {}
    for a in items:
        groups.setdefault(_topic_place(a), []).append(a)
    before = Counter(_topic_place(a) for a in previous)
    hot = sorted(((k, v) for k, v in groups.items() if len(v) >= 2), key=lambda kv: (-len(kv[1]), kv[0]))
    result = []
    for (topic, place), members in hot[:HOT_ISSUES]:
        earlier = before.get((topic, place), 0)
        trend = (
            "new"
            if earlier == 0
            else "up"
            if len(members) > earlier
            else "down"
            if len(members) < earlier
            else "same"
        )
        examples = list(dict.fromkeys(scrub(a.subject) for a in members))[:EXAMPLES]
        result.append(
            {
                "topic": topic,
                "place": place,
                "count": len(members),
                "previous": earlier,
                "trend": trend,
                "examples": examples,
            }
        )
    return result


def _difficult(items: Sequence[Appeal], now: datetime) -> list[dict[str, Any]]:
    found = []
    for a in items:
        reasons = []
        if "late" in (_step(a, "signed", "sign_by", now), _step(a, "replied", "reply_by", now)):
            reasons.append("overdue")
        if a.count("returned") >= 2:
            reasons.append("returned twice")
        if "repeat" in a.links:
            reasons.append("repeated")
        if reasons:
            found.append(
                {"appeal_no": a.appeal_no, "subject": scrub(a.subject), "unit": a.unit, "reasons": reasons}
            )
    return sorted(found, key=lambda d: (-len(d["reasons"]), d["appeal_no"]))


def figures(
    period: Period, items: Sequence[Appeal], previous: Sequence[Appeal], now: datetime
) -> dict[str, Any]:
    """The report of ``period`` from its appeals (and the previous period's, for the changes)."""
    volume, before = _volume(items), _volume(previous)
    sign = _rate(_step(a, "signed", "sign_by", now) for a in items)
    reply = _rate(_step(a, "replied", "reply_by", now) for a in items)
    visited = [a.satisfaction for a in items if a.satisfaction]
    satisfaction = dict(Counter(visited))
    difficult = _difficult(items, now)
    return {
        "kind": period.kind,
        "period": period.name,
        "start": period.start.isoformat(),
        "end": period.end.isoformat(),
        "generated_at": now.isoformat(),
        "total": len(items),
        **volume,
        "previous": {"period": period.previous().name, "total": len(previous)},
        "change": {"total": len(items) - len(previous)} | {k: _change(volume[k], before[k]) for k in volume},
        "timely_response_rate": sign["rate"],
        "on_time_reply_rate": reply["rate"],
        "signing": sign,
        "replies": reply,
        "overdue": {"sign": sign["due"] - sign["on_time"], "reply": reply["due"] - reply["on_time"]},
        "returns": sum(a.count("returned") for a in items),
        "reroutes": sum(max(0, a.count("dispatched") - 1) for a in items),
        "extensions": {
            "requested": sum(a.count("extension_requested") for a in items),
            "approved": sum(
                1
                for a in items
                for t, _, e in a.events
                if t == "extension_decided" and e.get("decision") == "approve"
            ),
        },
        "satisfaction": {
            "visited": len(visited),
            **{k: satisfaction.get(k, 0) for k in (*SATISFIED, "unsatisfied")},
            "rate": round(sum(satisfaction.get(k, 0) for k in SATISFIED) / len(visited), 4)
            if visited
            else None,
        },
        "repeats": {k: sum(1 for a in items if k in a.links) for k in ("repeat", "duplicate")},
        "hot_issues": _hot(items, previous),
        "difficult": difficult[:DIFFICULT],
        "difficult_total": len(difficult),
    }


_PERSONAL = (
    appeals.c.address,
    appeals.c.identity,
    appeals.c.appeal[("citizen", "name")].as_string().label("citizen_name"),
    appeals.c.appeal[("reply_route", "address")].as_string().label("reply_address"),
)


def _known(row: Any) -> list[str]:
    """What names or places the appeal's citizen, to be masked in its subject wherever it appears
    (phone and ID numbers are masked by their shape)."""
    identity = (row.identity or "").split(":", 1)[-1]
    values = [row.citizen_name, row.address, row.reply_address, identity]
    found = [str(v) for v in values if v]
    return found + [v.replace(" ", "") for v in found if " " in v]


async def read_period(engine: AsyncEngine, period: Period) -> list[Appeal]:
    """The appeals received in the period, with their events and standing links. Their subjects
    come without the citizen's name, address, phone or ID numbers: the report is read by the
    centre's leaders and the joint supervisors, and shows subjects as examples."""
    # pure, but its package's __init__ reaches the runtime, which imports the record
    from gateway.accounts.mask import mask_text

    within = (appeals.c.received_at >= period.start) & (appeals.c.received_at < period.end)
    columns = [appeals.c[n] for n in COLUMNS]
    async with engine.connect() as conn:
        rows = (await conn.execute(select(*columns, *_PERSONAL, appeals.c.record).where(within))).all()
        found = {}
        for r in rows:
            deadlines = (r.record or {}).get("deadlines")
            values = {n: getattr(r, n) for n in COLUMNS}
            values["subject"] = mask_text(r.subject or "", _known(r))
            found[r.appeal_no] = Appeal(**values, deadlines=json.loads(deadlines) if deadlines else {})
        events = await conn.execute(
            select(appeal_events.c.appeal_no, appeal_events.c.type, appeal_events.c.at, appeal_events.c.event)
            .join(appeals, appeals.c.appeal_no == appeal_events.c.appeal_no)
            .where(within)
            .order_by(appeal_events.c.appeal_no, appeal_events.c.seq)
        )
        for no, event_type, at, body in events:
            found[no].events.append((event_type, at, dict(body)))
        links = await conn.execute(
            select(appeal_links.c.appeal_no, appeal_links.c.kind)
            .join(appeals, appeals.c.appeal_no == appeal_links.c.appeal_no)
            .where(within, appeal_links.c.status != "unlinked")
        )
        for no, kind in links:
            found[no].links.append(kind)
    return list(found.values())


async def build(engine: AsyncEngine, period: Period, now: datetime) -> dict[str, Any]:
    return figures(
        period, await read_period(engine, period), await read_period(engine, period.previous()), now
    )

"""``hotline-gateway demo history``: the public citizen messages of ``../shared/data`` as a months-long
history of the sample city in the record, so that a newcomer sees real reports and repeats at once.

Appeals are spread over the months, the configured channels, units and areas (a few areas and topics
weigh more, so hot issues show), and over outcomes: most are signed and replied in time, some late,
some returned and routed again, some extended, most visited with a satisfaction; the last days' are
still open. Some citizens write again about the same matter (repeats), and some matters arrive
through a second channel within hours (duplicates). Seeded: the same arguments give the same history.
The citizens' phone numbers are made up (one per message author)."""

from __future__ import annotations

import json
import random
import zlib
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.config import Config
from gateway.progress import Track, quiet
from gateway.records import write
from gateway.records.db import writing
from gateway.records.links import LinkPolicy
from gateway.records.repeats import link_new
from gateway.records.rows import appeal_row, county, event_row
from gateway.sla import deadlines
from normalizer import Appeal, appeal_day, format_appeal_no
from router import route

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
SATISFACTION = (["satisfied"] * 7) + (["basically_satisfied"] * 2) + ["unsatisfied"]


def messages(data: Path) -> Iterator[dict[str, Any]]:
    """Labelled messages (with their category) first, then those with a department's reply."""
    for name in ("messages-labelled.jsonl", "messages-replied.jsonl"):
        with (data / name).open(encoding="utf-8") as lines:
            for line in lines:
                if line.strip():
                    yield json.loads(line)


class History:
    def __init__(self, config: Config, now: datetime, months: int, seed: int) -> None:
        self.config, self.now, self.rng = config, now, random.Random(seed)
        self.start = now - timedelta(days=30 * months)
        self.channels = [c.id for c in config.channels if c.enabled] or ["portal-bengbu"]
        self.kinds = {c.id: c.kind for c in config.channels}
        self.units = sorted(config.units)
        areas = sorted(a for a, v in config.router.gazetteer.areas.items() if v.depth >= 1)
        self.areas: list[str | None] = list(areas) or [None]
        self.weights = [1.0 / (i + 1) for i in range(len(self.areas))]
        self.sequence: dict[str, int] = {}
        self.hashes: list[dict[str, str]] = []
        self.events: list[dict[str, Any]] = []

    def _no(self, at: datetime) -> str:
        day = appeal_day(at)
        self.sequence[day] = self.sequence.get(day, 0) + 1
        return format_appeal_no(self.config.gateway.centre.appeal_no_prefix, day, self.sequence[day])

    def add(self, message: dict[str, Any], at: datetime, channel: str, area: str | None) -> None:
        rng = self.rng
        no = self._no(at)
        phone = f"139{zlib.crc32(message['user'].encode()) % 10**8:08d}" if message.get("user") else None
        subject, content = (
            message["title"][:200] or message["text"][:30],
            message["text"][:5000] or message["title"],
        )
        decision = route(self.config.router, subject=subject, content=content, at=at)
        category = message.get("category") or (decision.category[0] if decision.category else None)
        appeal = Appeal.model_validate(
            {
                "appeal_no": no,
                "channel_id": channel,
                "channel_kind": self.kinds.get(channel, "portal"),
                "external_id": f"demo-{message['id']}-{no}",
                "received_at": at,
                "citizen": {"phone": phone},
                "subject": subject,
                "content": content,
                "category": [category] if category else [],
                "location": {"area": decision.area or area},
            }
        )
        due = deadlines(appeal.urgency, at, self.config.sla)
        unit = decision.unit or rng.choice(self.units)
        events: list[tuple[str, datetime, dict[str, Any]]] = [("accepted", at, {"state": "accepted"})]
        t = at + timedelta(minutes=rng.randint(1, 20))
        events.append(("dispatched", t, {"state": "dispatched", "unit": unit}))
        if rng.random() < 0.06:  # returned once (rarely twice) and routed again
            for _ in range(2 if rng.random() < 0.3 else 1):
                t += timedelta(hours=rng.uniform(0.5, 6))
                events.append(("returned", t, {"state": "accepted", "unit": unit}))
                unit = rng.choice(self.units)
                t += timedelta(minutes=rng.randint(5, 60))
                events.append(("dispatched", t, {"state": "dispatched", "unit": unit}))
        sign_at = due.sign_by - (due.sign_by - t) * rng.uniform(0.1, 0.9)
        if rng.random() < 0.03:
            sign_at = due.sign_by + timedelta(hours=rng.uniform(1, 12))
        state, satisfaction, reply = "dispatched", None, None
        if sign_at < self.now:
            events.append(("signed", sign_at, {"state": "signed"}))
            state = "signed"
            if rng.random() < 0.05:
                events.append(
                    ("extension_requested", sign_at + timedelta(hours=2), {"state": "signed", "days": 3})
                )
                events.append(
                    (
                        "extension_decided",
                        sign_at + timedelta(hours=5),
                        {"state": "signed", "decision": "approve", "days": 3},
                    )
                )
            reply_at = sign_at + (due.reply_by - sign_at) * rng.uniform(0.1, 0.9)
            if rng.random() < 0.08:
                reply_at = due.reply_by + timedelta(days=rng.uniform(0.5, 4))
            if reply_at < self.now:
                reply = {
                    "content": message.get("reply") or "已转交相关部门办理。",
                    "unit": unit,
                    "at": reply_at.isoformat(),
                }
                events.append(("replied", reply_at, {"state": "replied"}))
                state = "replied"
                visit_at = reply_at + timedelta(days=rng.uniform(0.5, 3))
                if visit_at < self.now:
                    satisfaction = rng.choice(SATISFACTION)
                    events.append(("visited", visit_at, {"state": "visited", "satisfaction": satisfaction}))
                    events.append(("filed", visit_at + timedelta(hours=1), {"state": "filed"}))
                    state = "filed"
        fields = {
            "appeal": appeal.model_dump_json(),
            "state": state,
            "unit": unit,
            "channel": channel,
            "updated_at": events[-1][1].isoformat(),
            "deadlines": due.model_dump_json(),
            "returned_by": json.dumps([]),
        }
        if satisfaction:
            fields["satisfaction"] = satisfaction
        if reply:
            fields["reply"] = json.dumps(reply, ensure_ascii=False)
        self.hashes.append(fields)
        for seq, (kind, when, detail) in enumerate(events, 1):
            actor = (
                "router"
                if kind == "dispatched"
                else f"unit:{unit}"
                if kind in ("signed", "replied")
                else "operator"
            )
            body = {"type": kind, "actor": actor, "at": when.isoformat(), **detail}
            self.events.append(event_row(no, seq, json.dumps(body, ensure_ascii=False)))

    def build(self, count: int, data: Path, track: Track = quiet) -> None:
        rng = self.rng
        span = (self.now - self.start).total_seconds()
        chosen = [m for m, _ in zip(messages(data), range(count), strict=False)]
        planned: list[tuple[datetime, dict[str, Any], str, str | None]] = []
        for message in chosen:
            at = self.start + timedelta(seconds=rng.uniform(0, span))
            area = rng.choices(self.areas, self.weights)[0]
            channel = rng.choice(self.channels)
            planned.append((at, message, channel, area))
            roll = rng.random()
            if roll < 0.05:  # the citizen writes again about the same matter
                again = at + timedelta(days=rng.uniform(2, 20))
                planned.append((again, message, rng.choice(self.channels), area))
            elif roll < 0.08:  # the same matter through another channel within hours
                others = [c for c in self.channels if c != channel] or [channel]
                planned.append(
                    (
                        at + timedelta(hours=rng.uniform(0.2, 3)),
                        message | {"user": None},
                        rng.choice(others),
                        area,
                    )
                )
        for at, message, channel, area in track(sorted(planned, key=lambda p: p[0]), "composing appeals"):
            if at < self.now:
                self.add(message, at.replace(microsecond=0), channel, area)


async def load(
    engine: AsyncEngine,
    config: Config,
    now: datetime,
    *,
    months: int = 3,
    per_month: int = 300,
    seed: int = 14,
    data: Path = DATA,
    track: Track = quiet,
) -> tuple[int, int]:
    """Write the history into the record; returns (appeals, links). Run again: the same appeals are
    rewritten (same numbers), nothing doubles. ``track`` shows the progress (the CLI's bar)."""
    history = History(config, now, months, seed)
    history.build(per_month * months, data, track)
    gazetteer = config.router.gazetteer
    rows = [appeal_row(h, lambda a: county(gazetteer, a), now) for h in history.hashes]
    async with writing(engine) as conn:
        for i in track(range(0, len(rows), 500), "writing appeals (500 each)"):
            await write.upsert_appeals(conn, rows[i : i + 500])
        for i in track(range(0, len(history.events), 1000), "writing events (1,000 each)"):
            await write.insert_events(conn, history.events[i : i + 1000])
        links = await link_new(conn, [r["appeal_no"] for r in rows], LinkPolicy(), now)
    return len(rows), len(links)

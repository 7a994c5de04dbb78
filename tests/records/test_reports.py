"""The weekly and monthly reports: a fixture history written into the record, and every figure of
the report recomputed here independently from the fixture itself."""

from __future__ import annotations

import json
import re
import zlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.records import render, write
from gateway.records.links import LinkPolicy
from gateway.records.repeats import link_new
from gateway.records.rows import appeal_row, event_row
from normalizer import SHANGHAI
from tests.conftest import OPERATOR_TOKEN, Gateway
from tests.records.seed import appeal_hash

WEEK = datetime(2026, 11, 16, tzinfo=SHANGHAI)  # Monday of 2026-W47
COUNTY = {"shengli": "longzihu-district", "donghai": "bengshan-district"}
AUTH = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
PIPE = "胜利路和解放路路口的自来水管道爆裂，路面全是水，车辆无法通行，请尽快派人抢修"


@dataclass
class Spec:
    no: str
    day: float  # days after the week's Monday
    channel: str = "portal-bengbu"
    category: str = "城乡建设"
    area: str | None = "shengli"
    unit: str = "water-supply"
    text: str = ""
    phone: str | None = None
    sign_after: float | None = 1.0  # hours after receipt; None: never signed
    reply_after: float | None = 48.0
    returns: int = 0
    extension: bool = False
    satisfaction: str | None = None
    events: list[tuple[str, float, dict[str, Any]]] = field(default_factory=list)

    SIGN_BY, REPLY_BY = 2.0, 72.0  # hours after receipt

    @property
    def at(self) -> datetime:
        return WEEK + timedelta(days=self.day)


TEXTS = {
    1: "小区垃圾三天没人清运，气味很大",
    2: "路灯坏了一个月没人修，晚上很黑",
    3: "楼上装修噪音从早到晚，影响休息",
    4: "公交站台被占用，车辆乱停乱放",
    5: "燃气表走字异常，费用突然增加",
    6: "道路井盖松动，车辆经过响声很大",
    7: "小区垃圾还是三天没人清运，气味很大",
    10: "医院挂号排队时间太长",
    11: "自行车道被汽车占用",
    12: "高架桥下积水严重",
}


def no(n: int) -> str:
    return f"BB-20261116-{n:06d}"


HISTORY = [
    Spec(no(1), 0.1, text=TEXTS[1], phone="13900000001", satisfaction="satisfied"),
    Spec(no(2), 0.5, text=TEXTS[2], sign_after=3.0, satisfaction="unsatisfied"),  # signed late
    Spec(no(3), 1.0, text=TEXTS[3], reply_after=80.0, channel="wechat-bengbu"),  # replied late
    Spec(no(4), 1.2, text=TEXTS[4], sign_after=None, reply_after=None, category="交通运输", area="donghai"),
    Spec(no(5), 2.0, text=TEXTS[5], returns=2, unit="gas-supply"),  # returned twice, routed again
    Spec(
        no(6),
        2.5,
        text=TEXTS[6],
        extension=True,
        satisfaction="basically_satisfied",
        category="交通运输",
        area="donghai",
    ),
    Spec(no(7), 3.0, text=TEXTS[7], phone="13900000001"),  # repeats no(1): same citizen, same matter
    Spec(no(8), 4.0, text=PIPE, channel="portal-bengbu"),
    Spec(no(9), 4.03, text=PIPE, channel="wechat-bengbu"),  # duplicates no(8), 45 minutes later
    Spec(no(10), 5.0, text=TEXTS[10], reply_after=None, category="卫生计生", area=None),  # never replied
    # the week before (2026-W46), for the changes
    Spec(no(11), -3.0, text=TEXTS[11]),
    Spec(no(12), -2.0, text=TEXTS[12], category="交通运输", area="donghai"),
]


def events_of(s: Spec) -> list[tuple[str, datetime, dict[str, Any]]]:
    at = s.at
    found: list[tuple[str, datetime, dict[str, Any]]] = [("accepted", at, {"state": "accepted"})]
    found.append(("dispatched", at + timedelta(minutes=5), {"state": "dispatched", "unit": s.unit}))
    for n in range(s.returns):
        found.append(("returned", at + timedelta(minutes=10 + n), {"state": "accepted"}))
        found.append(("dispatched", at + timedelta(minutes=12 + n), {"state": "dispatched", "unit": s.unit}))
    if s.sign_after is not None:
        found.append(("signed", at + timedelta(hours=s.sign_after), {"state": "signed"}))
    if s.extension:
        found.append(("extension_requested", at + timedelta(hours=5), {"state": "signed", "days": 3}))
        found.append(
            ("extension_decided", at + timedelta(hours=6), {"state": "signed", "decision": "approve"})
        )
    if s.reply_after is not None:
        found.append(("replied", at + timedelta(hours=s.reply_after), {"state": "replied"}))
    if s.satisfaction:
        found.append(("visited", at + timedelta(hours=s.reply_after or 0, minutes=30), {"state": "visited"}))
    return found


async def write_history(engine: AsyncEngine, history: list[Spec]) -> None:
    rows, events = [], []
    for s in history:
        h = appeal_hash(
            s.no,
            content=s.text,
            received_at=s.at,
            phone=s.phone,
            unit=s.unit,
            channel=s.channel,
            category=(s.category,),
            area=s.area,
        )
        due = {
            "sign_by": (s.at + timedelta(hours=s.SIGN_BY)).isoformat(),
            "reply_by": (s.at + timedelta(hours=s.REPLY_BY)).isoformat(),
        }
        h |= {"deadlines": json.dumps(due), "satisfaction": s.satisfaction or ""}
        rows.append(appeal_row(h, COUNTY.get, s.at))
        for seq, (kind, at, detail) in enumerate(events_of(s), 1):
            body = {"type": kind, "actor": "test", "at": at.isoformat(), **detail}
            events.append(event_row(s.no, seq, json.dumps(body, ensure_ascii=False)))
    async with engine.begin() as conn:
        await write.upsert_appeals(conn, rows)
        await write.insert_events(conn, events)
        await link_new(conn, [r["appeal_no"] for r in rows], LinkPolicy(), WEEK + timedelta(days=30))


def expected(history: list[Spec]) -> dict[str, Any]:
    """The figures as docs/reports.md defines them, straight from the fixture."""
    week = [s for s in history if 0 <= s.day < 7]
    before = [s for s in history if s.day < 0]
    signed = [s for s in week if s.sign_after is not None and s.sign_after < s.SIGN_BY]
    replied = [s for s in week if s.reply_after is not None and s.reply_after < s.REPLY_BY]
    visited = [s.satisfaction for s in week if s.satisfaction]
    return {
        "period": "2026-W47",
        "total": len(week),
        "by_channel": dict(Counter(s.channel for s in week)),
        "by_category": dict(Counter(s.category for s in week)),
        "by_county": dict(Counter(COUNTY.get(s.area or "", "unplaced") for s in week)),
        "by_unit": dict(Counter(s.unit for s in week)),
        "change_total": len(week) - len(before),
        "timely_response_rate": round(len(signed) / len(week), 4),
        "on_time_reply_rate": round(len(replied) / len(week), 4),
        "overdue": {"sign": len(week) - len(signed), "reply": len(week) - len(replied)},
        "returns": sum(s.returns for s in week),
        "reroutes": sum(s.returns for s in week),
        "extensions": {"requested": 1, "approved": 1},
        "satisfaction_rate": round(sum(v != "unsatisfied" for v in visited) / len(visited), 4),
        "repeats": {"repeat": 1, "duplicate": 1},
    }


async def test_the_weekly_report_equals_our_own_computation_from_the_same_history(recording: Gateway) -> None:
    gw = recording
    assert gw.runtime.records is not None
    await write_history(gw.runtime.records.engine, HISTORY)
    response = await gw.client.get("/api/v1/reports/weekly/2026-W47", headers=AUTH)
    assert response.status == 200, await response.text()
    report = await response.json()
    want = expected(HISTORY)
    for key in (
        "period",
        "total",
        "by_channel",
        "by_category",
        "by_county",
        "by_unit",
        "timely_response_rate",
        "on_time_reply_rate",
        "overdue",
        "returns",
        "reroutes",
        "extensions",
        "repeats",
    ):
        assert report[key] == want[key], key
    assert report["change"]["total"] == want["change_total"] and report["previous"]["period"] == "2026-W46"
    assert report["change"]["by_category"]["交通运输"] == 2 - 1
    assert report["satisfaction"]["rate"] == want["satisfaction_rate"]
    hot = {(h["topic"], h["place"]): h for h in report["hot_issues"]}
    building = hot[("城乡建设", "longzihu-district")]
    week = [s for s in HISTORY if 0 <= s.day < 7]
    assert building["count"] == sum(1 for s in week if (s.category, s.area) == ("城乡建设", "shengli"))
    assert (building["previous"], building["trend"]) == (1, "up") and len(building["examples"]) == 3
    assert hot[("交通运输", "bengshan-district")]["trend"] == "up"
    difficult = {d["appeal_no"]: d["reasons"] for d in report["difficult"]}
    assert difficult[no(5)] == ["returned twice"] and difficult[no(7)] == ["repeated"]
    assert difficult[no(2)] == ["overdue"] and no(1) not in difficult

    html = await gw.client.get("/api/v1/reports/weekly/2026-W47?format=html", headers=AUTH)
    page = await html.text()
    assert html.status == 200 and "data:image/png;base64," in page
    # for the leaders, in Chinese
    assert "12345热线周报 2026-W47" in page and "及时签收率" in page and "各渠道来件" in page
    channels = {c.id: c.name for c in gw.runtime.config.channels}
    known = [c for c in report["by_channel"] if c in channels]
    assert known
    for channel in known:  # by the names they know, not our ids
        assert f"<td>{channels[channel]}</td>" in page and f"<td>{channel}</td>" not in page


async def test_a_period_without_appeals_is_an_empty_report_and_unknown_periods_are_named(
    recording: Gateway,
) -> None:
    gw = recording
    response = await gw.client.get("/api/v1/reports/monthly/2025-01", headers=AUTH)
    assert response.status == 200
    report = await response.json()
    assert (report["total"], report["by_channel"], report["hot_issues"]) == (0, {}, [])
    assert report["timely_response_rate"] is None and report["period"] == "2025-01"
    for path, named in (
        ("weekly/2026-W60", "2026-W60"),
        ("monthly/2026-13", "2026-13"),
        ("daily/2026-11", "daily"),
    ):
        bad = await gw.client.get(f"/api/v1/reports/{path}", headers=AUTH)
        assert bad.status == 400 and named in (await bad.json())["error"]["message"], path
    for query in ("format=docx", "unit=gas-supply"):
        bad = await gw.client.get(f"/api/v1/reports/weekly/2026-W47?{query}", headers=AUTH)
        assert bad.status == 400 and query.split("=")[0] in (await bad.json())["error"]["message"]
    assert (await gw.client.get("/api/v1/reports/weekly/2026-W47")).status == 401


def test_the_pdf_renders_with_a_chart_and_chinese_text() -> None:
    report = {
        "kind": "weekly",
        "period": "2026-W47",
        "start": "s",
        "end": "e",
        "generated_at": "g",
        "total": 3,
        "by_channel": {"电话": 2, "微信": 1},
        "by_category": {"城乡建设": 3},
        "by_county": {},
        "by_unit": {},
        "previous": {"period": "2026-W46", "total": 1},
        "change": {
            "total": 2,
            "by_channel": {"电话": 2, "微信": 1},
            "by_category": {"城乡建设": 3},
            "by_county": {},
            "by_unit": {},
        },
        "timely_response_rate": 1.0,
        "on_time_reply_rate": 0.5,
        "signing": {"due": 3},
        "replies": {"due": 2},
        "overdue": {"sign": 0, "reply": 1},
        "returns": 0,
        "reroutes": 0,
        "extensions": {"requested": 0, "approved": 0},
        "satisfaction": {"visited": 0, "rate": None},
        "repeats": {"repeat": 0, "duplicate": 0},
        "hot_issues": [
            {
                "topic": "城乡建设",
                "place": "龙子湖区",
                "count": 3,
                "previous": 1,
                "trend": "up",
                "examples": ["自来水管道爆裂"],
            }
        ],
        "difficult": [],
        "difficult_total": 0,
    }
    pdf = render.pdf(report)
    assert pdf.startswith(b"%PDF") and b"/Subtype /Image" in pdf
    fonts = b"".join(_inflate(m) for m in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S)) + pdf
    assert b"CJK" in fonts  # the Chinese text is set in an embedded CJK font, not as missing glyphs


def _inflate(data: bytes) -> bytes:
    try:
        return zlib.decompress(data)
    except zlib.error:
        return b""

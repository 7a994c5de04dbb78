"""A report as a self-contained HTML page in Chinese (charts by matplotlib, embedded as PNG) and as
PDF (WeasyPrint), for the city's leaders: channels, units and places by their names (``names``, from
:func:`display_names`). Chinese needs a CJK font: ``make test-deps`` installs Debian's fonts-noto-cjk."""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping
from html import escape
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gateway.config import Config

CJK_FONTS = ["Noto Sans CJK SC", "Noto Sans CJK JP", "WenQuanYi Zen Hei", "DejaVu Sans"]
TITLES = {"weekly": "12345热线周报", "monthly": "12345热线月报"}
TREND = {"new": "新出现", "up": "上升", "down": "下降", "same": "持平"}
WHY = {"overdue": "超期", "returned twice": "两次以上退回", "repeated": "重复投诉"}
MISSING = {"unknown": "未知渠道", "uncategorized": "未分类", "unplaced": "未识别地点", "unassigned": "未派单"}


def display_names(config: Config) -> dict[str, str]:
    """Ids as a reader knows them: channels, units and areas (a town with its county's name)."""
    gazetteer = config.router.gazetteer
    names = {a: "".join(gazetteer.path_names(a)[-2:]) for a in gazetteer.areas}
    return (
        names
        | {u.id: u.name for u in config.network.units.values()}
        | {c.id: c.name for c in config.channels}
    )


def _chart(title: str, counts: dict[str, int], limit: int = 12) -> str:
    """A horizontal bar chart as an <img> with its PNG inline."""
    import matplotlib
    from matplotlib.figure import Figure

    matplotlib.rcParams["font.sans-serif"] = CJK_FONTS
    matplotlib.rcParams["axes.unicode_minus"] = False
    items = list(counts.items())[:limit][::-1]
    # the object API, not pyplot: no global figure state, so reports can render in worker threads
    fig = Figure(figsize=(7, 0.35 * max(3, len(items)) + 0.8), dpi=100)
    ax = fig.subplots()
    ax.barh([k for k, _ in items], [v for _, v in items], color="#3b6ea5")
    ax.set_title(title)
    for i, (_, v) in enumerate(items):
        ax.text(v, i, f" {v}", va="center", fontsize=8)
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png")
    data = base64.b64encode(out.getvalue()).decode()
    return f'<img class="chart" alt="{escape(title)}" src="data:image/png;base64,{data}">'


def _pct(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def _table(head: list[str], rows: list[list[Any]]) -> str:
    cells = "".join("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return "<table><tr>" + "".join(f"<th>{escape(h)}</th>" for h in head) + f"</tr>{cells}</table>"


def _volume(report: dict[str, Any], key: str, title: str, name: Mapping[str, str]) -> str:
    change = report["change"][key]
    named = {_name(k, name): v for k, v in report[key].items()}
    rows = [[_name(k, name), v, f"{change.get(k, 0):+d}"] for k, v in report[key].items()]
    chart = _chart(title, named) if named else ""
    return f"<h2>{escape(title)}</h2>{chart}" + _table(["", "件数", "较上期"], rows)


def _name(key: str | None, names: Mapping[str, str]) -> str:
    if not key:
        return "—"
    return names.get(key) or MISSING.get(key) or key


def html(report: dict[str, Any], names: Mapping[str, str] | None = None) -> str:
    """The report as a page; ``names`` turns ids into names (without it, ids show)."""
    name = names or {}
    kind = TITLES.get(report["kind"], "12345热线报告")
    sat = report["satisfaction"]
    headline = [
        [
            "来件总数",
            report["total"],
            f"较上期（{report['previous']['period']}）{report['change']['total']:+d}",
        ],
        ["及时签收率", _pct(report["timely_response_rate"]), f"应签收 {report['signing']['due']} 件"],
        ["按时答复率", _pct(report["on_time_reply_rate"]), f"应答复 {report['replies']['due']} 件"],
        ["超期环节（签收 / 答复）", f"{report['overdue']['sign']} / {report['overdue']['reply']}", ""],
        ["退回 / 重新派单", f"{report['returns']} / {report['reroutes']}", ""],
        [
            "延期（申请 / 同意）",
            f"{report['extensions']['requested']} / {report['extensions']['approved']}",
            "",
        ],
        ["满意率（回访）", _pct(sat["rate"]), f"回访 {sat['visited']} 件"],
        ["重复件 / 同一事件", f"{report['repeats']['repeat']} / {report['repeats']['duplicate']}", ""],
    ]
    hot = report["hot_issues"]
    hot_rows = [
        [
            h["topic"],
            _name(h["place"], name),
            h["count"],
            h["previous"],
            TREND.get(h["trend"], h["trend"]),
            "；".join(h["examples"]),
        ]
        for h in hot
    ]
    hot_counts = {f"{h['topic']} · {_name(h['place'], name)}": h["count"] for h in hot}
    hot_chart = _chart("热点问题", hot_counts) if hot else ""
    hard = [
        [d["appeal_no"], d["subject"], _name(d["unit"], name), "、".join(WHY.get(r, r) for r in d["reasons"])]
        for d in report["difficult"]
    ]
    body = (
        f"<h1>{kind} {escape(report['period'])}</h1>"
        f"<p class='muted'>统计期间 {escape(report['start'][:10])} 至 {escape(report['end'][:10])}（不含）；"
        f"生成于 {escape(report['generated_at'][:16].replace('T', ' '))}</p>"
        + _table(["指标", "数值", "说明"], headline)
        + _volume(report, "by_channel", "各渠道来件", name)
        + _volume(report, "by_category", "各分类来件", name)
        + _volume(report, "by_county", "各县区来件", name)
        + _volume(report, "by_unit", "各承办单位", name)
        + f"<h2>热点问题</h2>{hot_chart}"
        + (_table(["话题", "地点", "件数", "上期", "趋势", "示例"], hot_rows) if hot else "<p>无。</p>")
        + f"<h2>难点问题（共 {report['difficult_total']} 件）</h2>"
        + (_table(["诉求编号", "标题", "承办单位", "原因"], hard) if hard else "<p>无。</p>")
    )
    style = (
        "body{font-family:'Noto Sans CJK SC',sans-serif;margin:2em;color:#222}"
        "table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:3px 8px;"
        "font-size:10pt;text-align:left}.chart{max-width:100%}.muted{color:#777}"
    )
    return (
        f"<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'>"
        f"<title>{kind} {escape(report['period'])}</title><style>{style}</style></head>"
        f"<body>{body}</body></html>"
    )


def pdf(report: dict[str, Any], names: Mapping[str, str] | None = None) -> bytes:
    from weasyprint import HTML

    data: bytes = HTML(string=html(report, names)).write_pdf()
    return data

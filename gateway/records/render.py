"""A report as a self-contained HTML page (charts by matplotlib, embedded as PNG) and as PDF
(WeasyPrint). Chinese labels need a CJK font: ``make test-deps`` installs Debian's fonts-noto-cjk."""

from __future__ import annotations

import base64
import io
from html import escape
from typing import Any

CJK_FONTS = ["Noto Sans CJK SC", "Noto Sans CJK JP", "WenQuanYi Zen Hei", "DejaVu Sans"]
TITLES = {"weekly": "Weekly report", "monthly": "Monthly report"}


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


def _volume(report: dict[str, Any], key: str, title: str) -> str:
    change = report["change"][key]
    rows = [[k, v, f"{change.get(k, 0):+d}"] for k, v in report[key].items()]
    chart = _chart(title, report[key]) if report[key] else ""
    return f"<h2>{escape(title)}</h2>{chart}" + _table(["", "appeals", "change"], rows)


def html(report: dict[str, Any]) -> str:
    kind = TITLES.get(report["kind"], "Report")
    sat = report["satisfaction"]
    headline = [
        ["Appeals", report["total"], f"{report['change']['total']:+d} on {report['previous']['period']}"],
        [
            "Timely response rate (signed in time)",
            _pct(report["timely_response_rate"]),
            f"{report['signing']['due']} due",
        ],
        ["On-time reply rate", _pct(report["on_time_reply_rate"]), f"{report['replies']['due']} due"],
        ["Overdue steps (sign / reply)", f"{report['overdue']['sign']} / {report['overdue']['reply']}", ""],
        ["Returns / re-routes", f"{report['returns']} / {report['reroutes']}", ""],
        [
            "Extensions (requested / approved)",
            f"{report['extensions']['requested']} / {report['extensions']['approved']}",
            "",
        ],
        ["Satisfaction (return visits)", _pct(sat["rate"]), f"{sat['visited']} visited"],
        ["Repeats / duplicates", f"{report['repeats']['repeat']} / {report['repeats']['duplicate']}", ""],
    ]
    hot = report["hot_issues"]
    hot_rows = [
        [h["topic"], h["place"], h["count"], h["previous"], h["trend"], "；".join(h["examples"])] for h in hot
    ]
    hot_chart = _chart("Hot issues", {f"{h['topic']} · {h['place']}": h["count"] for h in hot}) if hot else ""
    hard = [
        [d["appeal_no"], d["subject"], d["unit"] or "", ", ".join(d["reasons"])] for d in report["difficult"]
    ]
    body = (
        f"<h1>{kind} {escape(report['period'])}</h1>"
        f"<p class='muted'>{escape(report['start'])} – {escape(report['end'])}; "
        f"generated {escape(report['generated_at'])}</p>"
        + _table(["", "value", ""], headline)
        + _volume(report, "by_channel", "By channel")
        + _volume(report, "by_category", "By category")
        + _volume(report, "by_county", "By county / district")
        + _volume(report, "by_unit", "By unit")
        + f"<h2>Hot issues</h2>{hot_chart}"
        + (
            _table(["topic", "place", "appeals", "previous", "trend", "examples"], hot_rows)
            if hot
            else "<p>None.</p>"
        )
        + f"<h2>Difficult appeals ({report['difficult_total']})</h2>"
        + (_table(["appeal", "subject", "unit", "why"], hard) if hard else "<p>None.</p>")
    )
    style = (
        "body{font-family:'Noto Sans CJK SC',sans-serif;margin:2em;color:#222}"
        "table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:3px 8px;"
        "font-size:10pt;text-align:left}.chart{max-width:100%}.muted{color:#777}"
    )
    return (
        f"<!doctype html><html lang='zh'><head><meta charset='utf-8'><title>{kind} {escape(report['period'])}"
        f"</title><style>{style}</style></head><body>{body}</body></html>"
    )


def pdf(report: dict[str, Any]) -> bytes:
    from weasyprint import HTML

    data: bytes = HTML(string=html(report)).write_pdf()
    return data

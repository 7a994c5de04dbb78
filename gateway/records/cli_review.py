"""``hotline-gateway report weekly|monthly``, ``repeats list|confirm|unlink`` and ``demo history``:
the review over the record from the command line (same database as ``appeals search``)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from gateway.errors import BadRequest
from gateway.progress import progress, track
from gateway.records import periods, repeats
from gateway.records.cli import _with_engine, url
from gateway.records.db import safe_url
from gateway.records.report import build
from gateway.runtime import shanghai_now

FORMATS = ("json", "html", "pdf")


def _names(config_dir: str) -> dict[str, str] | None:
    """The names of channels, units and places of the configuration, if it is there."""
    from gateway.config import load_config
    from gateway.records import render
    from gateway.registry import load_kinds

    if not Path(config_dir).is_dir():
        return None
    return render.display_names(load_config(config_dir, kinds=load_kinds(strict=False).kinds))


def cmd_report(args: argparse.Namespace) -> int:
    from gateway.records import render

    try:
        period = periods.parse(args.kind, args.period, shanghai_now())
    except BadRequest as e:
        print(e.message, file=sys.stderr)
        return 2
    suffix = Path(args.output).suffix.lstrip(".") if args.output else ""
    fmt = args.format or (suffix if suffix in FORMATS else "json")
    names = _names(args.config) if fmt != "json" else None
    with progress(f"{args.kind} report {period.name}: reading, rendering {fmt}", total=2) as advance:
        report = _with_engine(lambda engine: build(engine, period, shanghai_now()))
        advance(1)
        body: bytes = (
            render.pdf(report, names)
            if fmt == "pdf"
            else (
                render.html(report, names)
                if fmt == "html"
                else json.dumps(report, ensure_ascii=False, indent=2)
            ).encode()
        )
        advance(1)
    if args.output and args.output != "-":
        Path(args.output).write_bytes(body)
        print(
            f"{args.kind} report {period.name} ({report['total']} appeals) -> {args.output}", file=sys.stderr
        )
    else:
        sys.stdout.buffer.write(body + (b"\n" if fmt != "pdf" else b""))
    return 0


def cmd_repeats(args: argparse.Namespace) -> int:
    if args.repeats_command == "list":
        wanted = None if args.status == "all" else args.status
        items = _with_engine(lambda e: repeats.list_links(e, status=wanted, kind=args.kind, limit=args.limit))
        if args.json:
            print(json.dumps({"items": items}, ensure_ascii=False, indent=2))
            return 0
        for item in items:
            why = item["why"]
            print(
                f"{item['appeal_no']}  {item['kind']:<9} of {item['earlier']}  {item['status']:<9} "
                f"similarity {why.get('similarity')}  {why.get('rule')}  {' '.join(why.get('words', [])[:3])}"
            )
        print(f"{len(items)} links", file=sys.stderr)
        return 0
    status: repeats.Decision = "confirmed" if args.repeats_command == "confirm" else "unlinked"
    done = _with_engine(
        lambda e: repeats.set_status(e, args.appeal_no, args.earlier, status, "operator:cli", shanghai_now())
    )
    if not done:
        print(f"no link of {args.appeal_no} to {args.earlier}", file=sys.stderr)
        return 1
    print(f"{args.appeal_no} -> {args.earlier}: {status}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from gateway.cli import _config
    from gateway.records.demo import load

    if not (1 <= args.months <= 24 and 1 <= args.per_month <= 5000):
        print("--months: from 1 to 24; --per-month: from 1 to 5000", file=sys.stderr)
        return 2
    if not Path(args.data, "messages-labelled.jsonl").exists():
        print(f"--data: no messages-labelled.jsonl in {args.data}", file=sys.stderr)
        return 2
    config = _config(args)
    count, links = _with_engine(
        lambda e: load(
            e,
            config,
            shanghai_now(),
            months=args.months,
            per_month=args.per_month,
            data=Path(args.data),
            track=track,
        )
    )
    print(f"{count} appeals over {args.months} months ({links} repeat/duplicate links) in {safe_url(url())}")
    return 0


def add_parsers(sub: Any, default_config: str) -> None:
    from gateway.records.demo import DATA

    report = sub.add_parser("report", help="the weekly or monthly report from the record")
    report.add_argument("kind", choices=periods.KINDS)
    report.add_argument("--period", help="2026-W48 (weekly) or 2026-11 (monthly); default: the last one")
    report.add_argument("--format", choices=FORMATS, help="default: from --output's suffix, else json")
    report.add_argument("--output", help="a file (default: standard output)")
    report.add_argument("--config", default="config", help="for the names of channels, units and places")
    report.set_defaults(fn=cmd_report)

    rep = sub.add_parser("repeats", help="repeats and cross-channel duplicates to review")
    rep_sub = rep.add_subparsers(dest="repeats_command", required=True)
    listing = rep_sub.add_parser("list", help="links newest first")
    listing.add_argument("--status", choices=(*repeats.STATUSES, "all"), default="linked")
    listing.add_argument("--kind", choices=repeats.KINDS)
    listing.add_argument("--limit", type=int, default=100)
    listing.add_argument("--json", action="store_true")
    for name, text in (("confirm", "agree: a repeat/duplicate"), ("unlink", "disagree: separate matters")):
        decide = rep_sub.add_parser(name, help=text)
        decide.add_argument("appeal_no")
        decide.add_argument("earlier")
    rep.set_defaults(fn=cmd_repeats)

    demo = sub.add_parser("demo", help="sample data for a newcomer")
    demo_sub = demo.add_subparsers(dest="demo_command", required=True)
    history = demo_sub.add_parser("history", help="load the public messages as months of history")
    history.add_argument("--months", type=int, default=3)
    history.add_argument("--per-month", type=int, default=300, help="appeals a month (default 300)")
    history.add_argument("--data", default=str(DATA), help="the messages' folder")
    history.add_argument("--config", default=default_config)
    demo.set_defaults(fn=cmd_demo)

"""``hotline-gateway route`` and ``rules suggest``: try the router by hand, over a file of past
appeals, or against another configuration before deploying it."""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

import yaml

from gateway.config import Config, load_config
from gateway.progress import track
from gateway.registry import load_kinds
from gateway.store import Keys
from gateway.words import segmenter
from normalizer import Appeal, AppealType
from router import Decision, Example, route, suggest_keywords, with_keywords
from router.learned import departments, labelled_by_reply, learn_weights, learned_file, sector_names


def _load(directory: str) -> Config:
    return load_config(directory, kinds=load_kinds().kinds)


def _lines(path: str) -> Iterator[tuple[int, dict[str, Any]]]:
    stream: TextIO = sys.stdin if path == "-" else open(path, encoding="utf-8")  # noqa: SIM115
    with stream:
        for number, line in enumerate(stream, 1):
            if line.strip():
                yield number, json.loads(line)


def decide(config: Config, item: dict[str, Any]) -> Decision:
    appeal_type = item.get("appeal_type")
    return route(
        config.router,
        subject=str(item.get("title") or ""),
        content=str(item.get("text") or ""),
        address=item.get("address"),
        channel=item.get("channel"),
        appeal_type=AppealType(appeal_type) if appeal_type else None,
    )


def decision_json(decision: Decision) -> dict[str, Any]:
    return {
        "unit": decision.unit,
        "category": list(decision.category),
        "rule": decision.rule,
        "confidence": decision.confidence,
        "urgency": decision.urgency.value if decision.urgency else None,
        "area": decision.area,
        "pass_to": decision.pass_to,
        "explanation": decision.explanation,
        "candidates": [c.model_dump(mode="json") for c in decision.candidates],
    }


def _print_one(config: Config, decision: Decision) -> None:
    unit = config.network.get(decision.unit) if decision.unit else None
    print(f"unit:        {f'{unit.name} ({unit.id})' if unit else 'manual queue (the centre decides)'}")
    print(f"category:    {'/'.join(decision.category) or '-'}")
    print(f"rule:        {decision.rule or '-'}")
    print(f"confidence:  {decision.confidence:.2f}")
    if decision.urgency:
        print(f"urgency:     {decision.urgency.value}")
    if decision.place:
        print(f"place:       {' / '.join(decision.place)}")
    below = config.network.get(decision.pass_to) if decision.pass_to else None
    if below is not None:
        print(f"pass to:     {below.name} ({below.id})")
    print(f"why:         {decision.explanation}")
    for i, c in enumerate(decision.candidates, 1):
        print(f"candidate {i}: {c.unit or '-'}: {c.reason}")


_SPAN = re.compile(r"^(\d+)([dhm])$")


def parse_since(text: str) -> timedelta:
    """ "30d", "12h", "90m" -> a time span."""
    match = _SPAN.match(text.strip())
    if match is None:
        raise argparse.ArgumentTypeError(f"{text!r}: give a number and d, h or m (30d, 12h, 90m)")
    n, unit = int(match.group(1)), match.group(2)
    return timedelta(days=n) if unit == "d" else timedelta(hours=n) if unit == "h" else timedelta(minutes=n)


async def stored_items(redis: Any, keys: Keys, since: datetime) -> list[tuple[str, dict[str, Any]]]:
    """The appeals the gateway holds that arrived after ``since``, as ``--batch`` lines, oldest first."""
    found: list[tuple[datetime, str, dict[str, Any]]] = []
    async for key in redis.scan_iter(match=keys.appeal("*"), count=500):
        data = await redis.hget(key, "appeal")
        if data is None:
            continue
        appeal = Appeal.model_validate_json(data)
        if appeal.received_at < since:
            continue
        item = {
            "title": appeal.subject,
            "text": appeal.content,
            "address": appeal.location.address,
            "channel": appeal.channel_id,
            "appeal_type": appeal.appeal_type.value,
        }
        found.append((appeal.received_at, appeal.appeal_no, item))
    found.sort(key=lambda f: (f[0], f[1]))
    return [(no, item) for _at, no, item in found]


def _items(args: argparse.Namespace) -> list[tuple[str, dict[str, Any]]]:
    if args.from_store:
        from gateway.cli import _with_store

        since = datetime.now(UTC) - args.since
        return _with_store(lambda redis, keys: stored_items(redis, keys, since))
    return [(f"line {n}", item) for n, item in _lines(args.batch)]


def cmd_route(args: argparse.Namespace) -> int:
    config = _load(args.config)
    if args.batch is None and not args.from_store:
        if not args.text:
            print("give a TEXT or --batch FILE", file=sys.stderr)
            return 2
        decision = decide(
            config, {"title": "", "text": args.text, "channel": args.channel, "address": args.address}
        )
        if args.json:
            print(json.dumps(decision_json(decision), ensure_ascii=False, indent=2))
        else:
            _print_one(config, decision)
        return 0
    if args.compare:
        return _compare(config, _load(args.compare), _items(args), args.examples)
    for _label, item in track(_items(args), "routing"):
        print(json.dumps(decision_json(decide(config, item)), ensure_ascii=False), flush=False)
    sys.stdout.flush()
    return 0


def _compare(
    current: Config, proposed: Config, items: list[tuple[str, dict[str, Any]]], examples: int
) -> int:
    """How many decisions move, grouped from unit to unit (most moved first), with examples."""
    moves: dict[tuple[str, str], list[str]] = {}
    changed = 0
    for label, item in track(items, "comparing"):
        a, b = decide(current, item), decide(proposed, item)
        if (a.unit, a.category) == (b.unit, b.category):
            continue
        changed += 1
        title = str(item.get("title") or item.get("text") or "")[:30]
        moves.setdefault((a.unit or "manual", b.unit or "manual"), []).append(
            f"{label} {title}: {'/'.join(a.category) or '-'} -> {'/'.join(b.category) or '-'}"
        )
    total = len(items)
    print(f"{changed} of {total} decisions change ({changed / max(total, 1):.1%})")
    for (before, after), lines in sorted(moves.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        print(f"  {before} -> {after}: {len(lines)}")
        for line in lines[:examples]:
            print(f"      {line}")
    return 0


def cmd_rules_learn(args: argparse.Namespace) -> int:
    """``rules suggest --learn``: keyword weights from history into a learned.yaml for review."""
    config = _load(args.config)
    labelled: list[tuple[str, str, str]] = []
    if args.source:
        labelled += [
            (str(item.get("title") or ""), str(item.get("text") or ""), str(item["category"]))
            for _n, item in _lines(args.source)
            if item.get("category")
        ]
    by_reply: list[tuple[str, str, str]] = []
    if args.replied:
        named = departments(sector_names(config.network.units.values()), args.city)
        keep = {c for _s, _t, c in labelled} or None
        replied = (item for _n, item in track(_lines(args.replied), "reading replies"))
        by_reply = [(*text.partition("。")[::2], c) for text, c in labelled_by_reply(replied, named, keep)]
    background = (
        [f"{item.get('title') or ''}。{item.get('text') or ''}" for _n, item in _lines(args.background)]
        if args.background
        else []
    )
    if not labelled and not by_reply:
        print("give --from FILE (with category) and/or --replied FILE (with reply)", file=sys.stderr)
        return 2
    excluded: list[str] = []
    if args.write and Path(args.write).exists():  # what reviewers struck out stays out
        previous = yaml.safe_load(Path(args.write).read_text(encoding="utf-8")) or {}
        excluded = [str(w) for w in previous.get("excluded") or ()]
    words = segmenter()
    weights = learn_weights(
        [(s, t, words(f"{s}。{t}"), c) for s, t, c in track(labelled + by_reply, "segmenting labelled")],
        background,
        min_support=3 if args.min_support is None else args.min_support,
        l2=args.l2,
        prior=args.prior,
        per_category=args.per_category,
        repeat_cap=config.router.repeat_cap,
        subject_weight=config.router.subject_weight,
        exclude=set(excluded),
    )
    source = (
        f"{len(labelled)} labelled appeals ({args.source or '-'}), {len(by_reply)} appeals labelled by "
        f"the department that replied ({args.replied or '-'}), word frequencies of {len(background)} "
        f"({args.background or '-'})"
    )
    for category, table in weights.items():
        top = "、".join(f"{w}({v:g})" for w, v in list(table.items())[:8])
        print(f"{category}: {len(table)} words, strongest {top}")
    text = "# Learned keyword weights: review before use (docs/routing.md, 'Learned weights').\n"
    text += yaml.safe_dump(
        learned_file(weights, source, args.scale, excluded), allow_unicode=True, sort_keys=False, width=110
    )
    if args.write:
        Path(args.write).write_text(text, encoding="utf-8")
        kept_out = f" ({len(excluded)} excluded words kept out)" if excluded else ""
        print(f"# written to {args.write}{kept_out}; name it in routing.yaml `learned:`", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def cmd_rules_suggest(args: argparse.Namespace) -> int:
    if args.learn:
        return cmd_rules_learn(args)
    if not args.source:
        print("give --from FILE.jsonl", file=sys.stderr)
        return 2
    config = _load(args.config)
    history = [
        Example(str(item.get("title") or ""), str(item.get("text") or ""), str(item["category"]))
        for _n, item in _lines(args.source)
        if item.get("category")
    ]
    suggestions = suggest_keywords(
        track(history, "counting words"),
        config.router,
        min_support=4 if args.min_support is None else args.min_support,
        min_precision=args.min_precision,
    )
    print(
        f"# {len(suggestions)} suggested keywords from {len(history)} past appeals; review each",
        file=sys.stderr,
    )
    for suggestion in suggestions:
        print(suggestion)
    if args.write:
        routing = yaml.safe_load((config.source / "routing.yaml").read_text(encoding="utf-8"))
        out = Path(args.write)
        out.write_text(
            yaml.safe_dump(with_keywords(routing, suggestions), allow_unicode=True, sort_keys=False),
            encoding="utf-8",
        )
        print(f"# written to {out}; try it with `route --batch FILE --compare DIR`", file=sys.stderr)
    return 0


def cmd_places_generate(args: argparse.Namespace) -> int:
    from gateway.places_generate import generate

    out = Path(args.out)
    previous = yaml.safe_load(out.read_text(encoding="utf-8")) if out.exists() else None
    try:
        text, kept = generate(args.city, args.province, [Path(c) for c in args.codes], previous)
    except ImportError:
        print("jionlp is needed: pip install -e '.[places]'", file=sys.stderr)
        return 2
    except KeyError as e:
        print(f"not in jionlp's division table: {e}", file=sys.stderr)
        return 2
    out.write_text(text, encoding="utf-8")
    print(f"{out} written ({kept} hand-made areas kept); run check-config", file=sys.stderr)
    return 0


def add_parsers(sub: Any, default_config: str) -> None:
    places = sub.add_parser("places", help="the gazetteer (config/places.yaml)")
    places_sub = places.add_subparsers(dest="places_command", required=True)
    generate = places_sub.add_parser(
        "generate", help="write places.yaml from jionlp's division tables and the statistics' codes"
    )
    generate.add_argument("--province", default="安徽省")
    generate.add_argument("--city", default="蚌埠市")
    generate.add_argument(
        "--codes",
        nargs="+",
        required=True,
        metavar="CSV",
        help="the statistics' code tables: china-division's streets.csv and villages.csv",
    )
    generate.add_argument("--out", default=f"{default_config}/places.yaml")
    generate.set_defaults(fn=cmd_places_generate)

    route_p = sub.add_parser("route", help="where a text (or a file of them) would be routed, and why")
    route_p.add_argument("text", nargs="?", help="the appeal's text")
    route_p.add_argument("--config", default=default_config)
    route_p.add_argument("--channel", help="the channel id it came by")
    route_p.add_argument("--address", help="the address the citizen gave")
    route_p.add_argument("--json", action="store_true")
    route_p.add_argument(
        "--batch",
        metavar="FILE.jsonl",
        help="lines with title and text (channel, address optional); '-' for stdin",
    )
    route_p.add_argument(
        "--compare",
        metavar="CONFIG_DIR",
        help="with --batch or --from-store: how many decisions another configuration moves, and where",
    )
    route_p.add_argument(
        "--from-store",
        action="store_true",
        help="the appeals the gateway holds (REDIS_URL or the embedded store) instead of a file",
    )
    route_p.add_argument(
        "--since", type=parse_since, default=timedelta(days=30), help="with --from-store: 30d, 12h, 90m"
    )
    route_p.add_argument("--examples", type=int, default=3, help="with --compare: examples per move")
    route_p.set_defaults(fn=cmd_route)

    rules = sub.add_parser("rules", help="routing rules")
    rules_sub = rules.add_subparsers(dest="rules_command", required=True)
    suggest = rules_sub.add_parser("suggest", help="propose keywords from labelled past appeals")
    suggest.add_argument(
        "--from",
        dest="source",
        metavar="FILE.jsonl",
        help="lines with title, text and category (first-level name)",
    )
    suggest.add_argument(
        "--learn",
        action="store_true",
        help="learn keyword weights (a learned.yaml for review) instead of proposing keywords",
    )
    suggest.add_argument(
        "--replied",
        metavar="FILE.jsonl",
        help="--learn: lines with title, text and reply; the department replying gives the category",
    )
    suggest.add_argument(
        "--background", metavar="FILE.jsonl", help="--learn: unlabelled lines, for word frequencies"
    )
    suggest.add_argument("--city", default="蚌埠市", help="--learn: the city's name, as units are named")
    suggest.add_argument(
        "--l2", type=float, default=1e-3, help="--learn: penalty on large weights (larger: fewer, smaller)"
    )
    suggest.add_argument(
        "--prior", type=float, default=2.0, help="--learn: score every category starts with when fitting"
    )
    suggest.add_argument("--per-category", type=int, default=400, help="--learn: words kept per category")
    suggest.add_argument("--scale", type=float, default=1.0, help="--learn: the file's `scale`")
    suggest.add_argument("--config", default=default_config)
    suggest.add_argument(
        "--min-support",
        type=int,
        default=None,
        help="appeals a word must be in (4; --learn: 3, any category)",
    )
    suggest.add_argument("--min-precision", type=float, default=0.8)
    suggest.add_argument(
        "--write", metavar="YAML", help="write routing.yaml with them added (--learn: the learned.yaml)"
    )
    suggest.set_defaults(fn=cmd_rules_suggest)


__all__ = ["add_parsers", "decide", "decision_json"]

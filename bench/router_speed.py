"""Decisions per second of the router on one core, with the full sample configuration.

    .venv/bin/python -m bench.router_speed [--rounds N] [--reference GIT_REV] [--json]

Routes every message of messages-hot.jsonl (subject + text, as citizens wrote them) N times in
this one process (one core) and prints decisions per second (CPU time, best round); the target
is >= 20,000/s. With ``--reference``, the router and configuration of that git revision (e.g.
``main``) are exported to a temporary directory and measured the same way in a child process,
round by round alternately with this tree, so both see the same load of the machine.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench._common import ROOT, read_jsonl, sample_config
from router import route


def one_round() -> tuple[float, int, int, int, float]:
    config = sample_config().router
    messages = [(m["title"], m["text"]) for m in read_jsonl("messages-hot.jsonl")]
    for subject, content in messages[:200]:  # warm up
        route(config, subject=subject, content=content)
    start = time.process_time()
    for subject, content in messages:
        route(config, subject=subject, content=content)
    rate = len(messages) / (time.process_time() - start)
    chars = sum(len(s) + len(c) for s, c in messages) / len(messages)
    return rate, config.keyword_count, len(config.rules), len(config.gazetteer), chars


# What --one-round does, written against the interfaces every revision has, for the reference.
_ONE_ROUND = """
import json, time
from bench._common import read_jsonl, sample_config
from router import route
config = sample_config().router
messages = [(m["title"], m["text"]) for m in read_jsonl("messages-hot.jsonl")]
for subject, content in messages[:200]:
    route(config, subject=subject, content=content)
start = time.process_time()
for subject, content in messages:
    route(config, subject=subject, content=content)
print(json.dumps({"rate": len(messages) / (time.process_time() - start)}))
"""


def _reference(tree: Path) -> float:
    out = subprocess.run(
        [sys.executable, "-c", _ONE_ROUND],
        cwd=tree,
        env={"PYTHONPATH": str(tree), "HOTLINE_DATA": str(ROOT.parent / "shared" / "data"), "PATH": ""},
        capture_output=True,
        text=True,
        check=True,
    )
    return float(json.loads(out.stdout.strip().splitlines()[-1])["rate"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--reference", metavar="GIT_REV", help="also measure this revision, alternately")
    parser.add_argument("--one-round", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one_round:
        print(json.dumps({"rate": one_round()[0]}))
        return
    with tempfile.TemporaryDirectory(prefix="router-ref-") as tmp:
        tree = Path(tmp)
        if args.reference:
            archive = subprocess.run(
                ["git", "-C", str(ROOT), "archive", args.reference], capture_output=True, check=True
            ).stdout
            subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        best, ref_best = 0.0, 0.0
        for _ in range(args.rounds):
            rate, keywords, rules, areas, chars = one_round()
            best = max(best, rate)
            if args.reference:
                ref_best = max(ref_best, _reference(tree))
    print(f"messages:        4326 (mean {chars:.0f} characters)")
    print(f"keywords:        {keywords}, rules: {rules}, areas: {areas}")
    print(f"decisions/s:     {best:,.0f} (one core, CPU time, best of {args.rounds} rounds)")
    print(f"per decision:    {1e6 / best:.1f} µs")
    if args.reference:
        print(f"reference {args.reference}: {ref_best:,.0f} decisions/s ({1e6 / ref_best:.1f} µs), same run")
    print(f"target >= 20,000/s: {'met' if best >= 20_000 else 'NOT met'}")


if __name__ == "__main__":
    main()

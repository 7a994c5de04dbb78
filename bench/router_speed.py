"""Decisions per second of the router on one core, with the full sample configuration.

    .venv/bin/python -m bench.router_speed [--rounds N]

Routes every message of messages-hot.jsonl (subject + text, as citizens wrote them) N times in
this one process (one core) and prints decisions per second; the target is >= 20,000/s.
"""

from __future__ import annotations

import argparse
import time

from bench._common import read_jsonl, sample_config
from router import route


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    config = sample_config().router
    messages = [(m["title"], m["text"]) for m in read_jsonl("messages-hot.jsonl")]
    for subject, content in messages[:200]:  # warm up
        route(config, subject=subject, content=content)
    best = 0.0
    for _ in range(args.rounds):
        start = time.process_time()
        for subject, content in messages:
            route(config, subject=subject, content=content)
        elapsed = time.process_time() - start
        best = max(best, len(messages) / elapsed)
    chars = sum(len(s) + len(c) for s, c in messages) / len(messages)
    print(f"messages:        {len(messages)} (mean {chars:.0f} characters)")
    print(
        f"keywords:        {config.keyword_count}, rules: {len(config.rules)}, areas: {len(config.gazetteer)}"
    )
    print(f"decisions/s:     {best:,.0f} (one core, CPU time, best of {args.rounds} rounds)")
    print(f"per decision:    {1e6 / best:.1f} µs")
    print(f"target >= 20,000/s: {'met' if best >= 20_000 else 'NOT met'}")


if __name__ == "__main__":
    main()

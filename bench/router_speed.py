"""Decisions per second of the router on one core, with the full sample configuration.

    .venv/bin/python -m bench.router_speed [--rounds N] [--reference GIT_REV] [--json]

Routes every message of messages-hot.jsonl (subject + text, as citizens wrote them) once per
round, in a fresh process on one core, and prints decisions per second (CPU time, best of N
rounds); the target is >= 20,000/s. With ``--reference``, the router and configuration of that
git revision (e.g. ``main``) are exported to a temporary directory and measured by the same code,
round by round alternately with this tree, so both see the same load of the machine.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from bench._common import ROOT

# One round in a fresh process, written against the interfaces every revision has, so that this
# tree and the reference are measured by the very same code.
_ONE_ROUND = """
import json, time
from bench._common import read_jsonl, sample_config
from router import route
config = sample_config().router
messages = [(m["title"], m["text"]) for m in read_jsonl("messages-hot.jsonl")]
for subject, content in messages[:200]:
    route(config, subject=subject, content=content)
seconds = []
for _ in range(3):  # the best of three passes: a pass is a third of a second, short beside the noise
    start = time.process_time()
    for subject, content in messages:
        route(config, subject=subject, content=content)
    seconds.append(time.process_time() - start)
print(json.dumps({
    "rate": len(messages) / min(seconds),
    "chars": sum(len(s) + len(c) for s, c in messages) / len(messages),
    "keywords": config.keyword_count, "rules": len(config.rules), "areas": len(config.gazetteer),
}))
"""


def one_round(tree: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", _ONE_ROUND],
        cwd=tree,
        env={"PYTHONPATH": str(tree), "HOTLINE_DATA": str(ROOT.parent / "shared" / "data"), "PATH": ""},
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--reference", metavar="GIT_REV", help="also measure this revision, alternately")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="router-ref-") as tmp:
        tree = Path(tmp)
        if args.reference:
            archive = subprocess.run(
                ["git", "-C", str(ROOT), "archive", args.reference], capture_output=True, check=True
            ).stdout
            subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        best, ref_best = 0.0, 0.0
        for _ in range(args.rounds):
            mine = one_round(ROOT)
            best = max(best, mine["rate"])
            if args.reference:
                ref_best = max(ref_best, one_round(tree)["rate"])
    print(f"messages:        4326 (mean {mine['chars']:.0f} characters)")
    print(f"keywords:        {mine['keywords']:.0f}, rules: {mine['rules']:.0f}, areas: {mine['areas']:.0f}")
    print(f"decisions/s:     {best:,.0f} (one core, CPU time, best of {args.rounds} rounds)")
    print(f"per decision:    {1e6 / best:.1f} µs")
    if args.reference:
        print(f"reference {args.reference}: {ref_best:,.0f} decisions/s ({1e6 / ref_best:.1f} µs), same run")
    print(f"target >= 20,000/s: {'met' if best >= 20_000 else 'NOT met'}")


if __name__ == "__main__":
    main()

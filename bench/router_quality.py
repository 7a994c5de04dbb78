"""Routing quality on the public labelled messages (shared/data/messages-labelled.jsonl).

    .venv/bin/python -m bench.router_quality [--folds K]

1. The sample configuration as shipped: first-level macro-F1, F1 per class and the manual share
   (a manual decision counts as a miss). Nothing in the configuration is fitted to these labels
   by a program: keywords are written by people, word weights come from unlabelled history
   (messages-hot + messages-replied); a few thresholds were chosen by looking at these figures.
2. K-fold cross-validation of learning from labelled history: per fold, keyword suggestions
   (router.suggest) are learned on the other folds, added to the configuration, and the held-out
   fold is routed. This is the honest figure for what `rules suggest` adds.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import yaml

from bench._common import ROOT, read_jsonl, sample_config
from router.evaluate import Quality, cross_validate, evaluate
from router.suggest import Example


def _print(title: str, q: Quality) -> None:
    print(f"== {title}")
    print(f"   macro-F1 {q.macro_f1:.4f}   manual {q.manual_share:.1%}   accuracy {q.accuracy:.1%}", end="")
    print(f"   n={q.count}")
    for name, f1 in sorted(q.per_class.items(), key=lambda kv: -kv[1]):
        print(f"     {name:<10} F1 {f1:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--config", type=Path, default=ROOT / "config")
    args = parser.parse_args()
    config = sample_config(args.config)
    examples = [Example(m["title"], m["text"], m["category"]) for m in read_jsonl("messages-labelled.jsonl")]
    start = time.perf_counter()
    shipped = evaluate(config.router, examples)
    _print(
        "sample configuration as shipped (hand-written keywords, weights from unlabelled history)", shipped
    )
    routing = yaml.safe_load((args.config / "routing.yaml").read_text(encoding="utf-8"))
    places = yaml.safe_load((args.config / "places.yaml").read_text(encoding="utf-8"))
    cv = cross_validate(routing, config.router.taxonomy, config.network, places, examples, folds=args.folds)
    _print(f"{args.folds}-fold cross-validated: + keyword suggestions learned on the other folds", cv)
    met = shipped.macro_f1 >= 0.85 and shipped.manual_share <= 0.10
    print(f"bar: macro-F1 >= 0.85 and manual <= 10%: {'met' if met else 'NOT met'}")
    print(f"({time.perf_counter() - start:.1f} s)")


if __name__ == "__main__":
    main()

"""Routing quality on the public labelled messages (shared/data/messages-labelled.jsonl), measured
on splits the learned layer never saw, and across sources.

    .venv/bin/python -m bench.router_quality [--folds K] [--scale S] [--curve]

The learned layer (router.learned) is learned anew for each split, from its training part only,
plus the replied appeals whose department names their category (messages-replied) that do not
repeat a test message, with word frequencies from messages-hot. Each split is measured twice:
with the hand-written keywords of routing.yaml and the learned layer (what is shipped), and with
the learned layer alone. The hand-written keywords were written by people who had read the 494
labelled messages, so every figure on those messages that includes them is optimistic; the
learned-only figures and the figures on the other source are the ones nothing was tuned on.

1. K-fold cross-validation of the 494 and a split by time (learned on the earlier 80%); and the
   cross-validation again without the hand keywords that only the held-out fold contains (words
   nobody could have taken from the other folds).
2. Leave a source out: learned on the replied appeals only, measured on the 494; learned on the
   494 only, measured on the replied appeals (their labels come from the department that
   answered: noisy, a reply naming a department is not a classification).
3. For comparison: the hand-written keywords alone, and the configuration as shipped on the 494
   (in-sample: the shipped layer was learned from them; not a result).
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import time
from datetime import datetime
from pathlib import Path

import yaml

from bench._common import ROOT, read_jsonl, sample_config
from gateway.words import segmenter
from router.evaluate import (
    LearnSetup,
    Quality,
    Sources,
    cross_source,
    cross_validate_learned,
    evaluate,
    time_split_learned,
)
from router.learned import departments, labelled_by_reply, sector_names
from router.suggest import Example

_rows: list[tuple[str, Quality]] = []


def _print(title: str, q: Quality) -> None:
    _rows.append((title, q))
    print(f"== {title}")
    print(f"   macro-F1 {q.macro_f1:.4f}   manual {q.manual_share:.1%}   accuracy {q.accuracy:.1%}", end="")
    print(f"   n={q.count}")
    for name, f1 in sorted(q.per_class.items(), key=lambda kv: -kv[1]):
        print(f"     {name:<10} F1 {f1:.3f}")


def learning_curve(bare: Sources, examples: list[Example], setup: LearnSetup, folds: int) -> None:
    """Learned-only cross-validation on random subsets of the labelled messages (three subsets a
    size, the mean), with and without the replied appeals: whether more labelled messages of the
    same kind would still raise the learned figure."""
    without = dataclasses.replace(setup, replied=(), _seen=setup._seen)
    print("| labelled messages | learned with replied | learned from the labelled alone |")
    print("| ---: | ---: | ---: |")
    for n in (150, 250, 350, len(examples)):
        cells = []
        for s in (setup, without):
            subsets = (
                [random.Random(100 + k).sample(examples, n) for k in range(3)]
                if n < len(examples)
                else [examples]
            )
            scores = [cross_validate_learned(bare, sub, s, folds=folds).macro_f1 for sub in subsets]
            cells.append(f"{sum(scores) / len(scores):.4f} ({', '.join(f'{x:.3f}' for x in scores)})")
        print(f"| {n} | {cells[0]} | {cells[1]} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument(
        "--scale", type=float, default=None, help="learned scale (default: the shipped file's)"
    )
    parser.add_argument("--config", type=Path, default=ROOT / "config")
    parser.add_argument(
        "--curve",
        action="store_true",
        help="only the learning curve: learned-only 5-fold on random subsets of the 494",
    )
    args = parser.parse_args()
    config = sample_config(args.config)
    labelled = list(read_jsonl("messages-labelled.jsonl"))
    examples = [Example(m["title"], m["text"], m["category"]) for m in labelled]
    times = [datetime.strptime(m["time"], "%Y/%m/%d %H:%M:%S") for m in labelled]
    routing = yaml.safe_load((args.config / "routing.yaml").read_text(encoding="utf-8"))
    learned_name = routing.pop("learned", None)  # the shipped learned layer saw every labelled message
    shipped = yaml.safe_load((args.config / learned_name).read_text(encoding="utf-8")) if learned_name else {}
    scale = args.scale if args.scale is not None else float(shipped.get("scale", 1.0))
    places = yaml.safe_load((args.config / "places.yaml").read_text(encoding="utf-8"))
    words = departments(sector_names(config.network.units.values()), "蚌埠市")
    replied = labelled_by_reply(read_jsonl("messages-replied.jsonl"), words, {e.category for e in examples})
    background = [f"{m['title']}。{m['text']}" for m in read_jsonl("messages-hot.jsonl")]
    options = {"exclude": frozenset(shipped.get("excluded") or ())}  # words reviewers struck out
    setup = LearnSetup(replied, background, scale, options, segmenter())
    start = time.perf_counter()
    base = Sources(routing, config.router.taxonomy, config.network, places)
    bare = base.without_keywords()
    if args.curve:
        learning_curve(bare, examples, setup, args.folds)
        return
    print(f"replied appeals labelled by their department: {len(replied)}; learned scale {scale:g}")
    f = args.folds
    _print(f"{f}-fold CV, hand keywords + learned", cross_validate_learned(base, examples, setup, folds=f))
    _print("time split, hand keywords + learned", time_split_learned(base, examples, times, setup))
    _print(
        f"{f}-fold CV, hand keywords the other folds contain + learned",
        cross_validate_learned(base, examples, setup, folds=f, train_keywords_only=True),
    )
    _print(f"{f}-fold CV, learned only", cross_validate_learned(bare, examples, setup, folds=f))
    _print("time split, learned only", time_split_learned(bare, examples, times, setup))
    # Leave a source out. Replied -> labelled: learned from the replied appeals alone.
    _print("learned on replied, measured on the 494: learned only", cross_source(bare, [], examples, setup))
    _print(
        "learned on replied, measured on the 494: hand keywords + learned",
        cross_source(base, [], examples, setup),
    )
    # Labelled -> replied: learned from the 494 alone, measured on the replied appeals.
    others = [Example(*t.partition("。")[::2], c) for t, c in replied]
    from_labelled = LearnSetup((), background, scale, setup.options, setup.words, setup._seen)
    _print(
        "learned on the 494, measured on replied: hand keywords + learned",
        cross_source(base, examples, others, from_labelled),
    )
    _print(
        "learned on the 494, measured on replied: learned only",
        cross_source(bare, examples, others, from_labelled),
    )
    _print("(optimistic) hand keywords only, measured on replied", evaluate(base.build(None), others))
    bare_setup = LearnSetup(scale=0.0)  # (learns nothing that counts)
    _print(
        f"(optimistic) hand keywords only, {f}-fold",
        cross_validate_learned(base, examples, bare_setup, folds=f),
    )
    _print(
        "(optimistic) hand keywords only, time split", time_split_learned(base, examples, times, bare_setup)
    )
    _print(
        f"hand keywords only, the ones the other folds contain, {f}-fold",
        cross_validate_learned(base, examples, bare_setup, folds=f, train_keywords_only=True),
    )
    _print("(in-sample) configuration as shipped, all 494", evaluate(config.router, examples))
    print()
    print("| split | macro-F1 | manual | accuracy | n |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for title, q in _rows:
        print(f"| {title} | {q.macro_f1:.4f} | {q.manual_share:.1%} | {q.accuracy:.1%} | {q.count} |")
    shipped_rows = [q for _t, q in _rows[:2]]
    met = all(q.macro_f1 >= 0.85 and q.manual_share <= 0.10 for q in shipped_rows)
    manual_ok = all(q.manual_share <= 0.10 for _t, q in _rows)
    verdict = "met" if met else "NOT met"
    print(f"bar (CV, time split, hand + learned): macro-F1 >= 0.85, manual <= 10%: {verdict}")
    print(f"manual <= 10% on every split: {'yes' if manual_ok else 'NO'}")
    print(f"({time.perf_counter() - start:.1f} s)")


if __name__ == "__main__":
    main()

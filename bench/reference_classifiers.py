"""Standard text classifiers on the router's splits: how far a learned model of the usual kind gets
on the same 494 labelled messages, as a reference for the router's learned layer.

    pip install --target /tmp/sk scikit-learn      # not a dependency of the gateway
    PYTHONPATH=/tmp/sk .venv/bin/python -m bench.reference_classifiers [--folds 5]

The splits are exactly those of ``bench.router_quality``: the same shuffled folds (seed 0, every
fold-th message), the same time split (the earlier 80 % by message time), and the two
leave-a-source-out directions with the replied appeals labelled by their department. Each
classifier is trained on the training part alone, and again with the replied appeals that do not
repeat a test message added (what the router's learner is given). A classifier always answers, so
its manual share is 0; the router's figures sit beside them in docs/benchmarks.md.

Four models: TF-IDF (sublinear counts) over character 1-2 or 1-3 grams, or over jieba's words (the
router's own segmenter), with logistic regression or a linear SVM, classes weighted by their
inverse frequency. Their settings were picked by trying a few on the 5-fold split itself, so their
figures are if anything optimistic. None of them is a rule set staff can read; they are here to
say how much a model of the usual kind could add on this much data.
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from bench._common import read_jsonl, sample_config
from gateway.words import segmenter
from router.evaluate import Quality, measure
from router.learned import departments, labelled_by_reply, sector_names, split_by_time

Texts = Sequence[str]
Labels = Sequence[str]


def models(words: Callable[[str], frozenset[str]]) -> dict[str, Callable[[], Any]]:
    try:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.svm import LinearSVC
    except ImportError:
        raise SystemExit("scikit-learn is not installed: see this module's docstring") from None

    def chars(lo: int, hi: int) -> Any:
        return TfidfVectorizer(analyzer="char", ngram_range=(lo, hi), sublinear_tf=True)

    def jieba() -> Any:
        return TfidfVectorizer(analyzer=lambda t: sorted(seen(t)), sublinear_tf=True)

    cache: dict[str, frozenset[str]] = {}

    def seen(text: str) -> frozenset[str]:
        if text not in cache:
            cache[text] = words(text)
        return cache[text]

    def lr() -> Any:
        return LogisticRegression(C=10.0, max_iter=2000, class_weight="balanced")

    def svm(c: float) -> Any:
        return LinearSVC(C=c, class_weight="balanced")

    return {
        "char 1-2 grams + logistic regression": lambda: make_pipeline(chars(1, 2), lr()),
        "char 1-3 grams + linear SVM": lambda: make_pipeline(chars(1, 3), svm(0.5)),
        "jieba words + logistic regression": lambda: make_pipeline(jieba(), lr()),
        "jieba words + linear SVM": lambda: make_pipeline(jieba(), svm(0.5)),
    }


def fit_predict(make: Callable[[], Any], train: tuple[Texts, Labels], test: Texts) -> list[str]:
    model = make()
    model.fit(list(train[0]), list(train[1]))
    return [str(p) for p in model.predict(list(test))]


def score(gold: Labels, predicted: Sequence[str]) -> Quality:
    return measure(gold, predicted, [False] * len(gold))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()
    labelled = list(read_jsonl("messages-labelled.jsonl"))
    texts = [f"{m['title']}。{m['text']}" for m in labelled]
    gold = [m["category"] for m in labelled]
    times = [datetime.strptime(m["time"], "%Y/%m/%d %H:%M:%S") for m in labelled]
    config = sample_config()
    words = departments(sector_names(config.network.units.values()), "蚌埠市")
    replied = labelled_by_reply(read_jsonl("messages-replied.jsonl"), words, set(gold))
    cut = segmenter()

    def with_replied(train: list[int], held: list[int]) -> tuple[list[str], list[str]]:
        """The training part and the replied appeals that do not repeat a held-out message."""
        held_keys = {texts[i].partition("。")[2][:40] for i in held}
        extra = [(t, c) for t, c in replied if t.partition("。")[2][:40] not in held_keys]
        return [texts[i] for i in train] + [t for t, _ in extra], [gold[i] for i in train] + [
            c for _, c in extra
        ]

    order = list(range(len(texts)))
    random.Random(0).shuffle(order)
    folds = [order[k :: args.folds] for k in range(args.folds)]
    early, late = split_by_time(times, 0.8)
    rows: list[tuple[str, str, Quality]] = []
    for name, make in models(cut).items():
        for extra in (False, True):
            predicted = [""] * len(texts)
            for held in folds:
                train = [i for i in order if i not in set(held)]
                part = (
                    with_replied(train, held)
                    if extra
                    else ([texts[i] for i in train], [gold[i] for i in train])
                )
                for i, p in zip(held, fit_predict(make, part, [texts[i] for i in held]), strict=True):
                    predicted[i] = p
            suffix = " + replied" if extra else ""
            rows.append((name, f"{args.folds}-fold{suffix}", score(gold, predicted)))
            part = (
                with_replied(early, late) if extra else ([texts[i] for i in early], [gold[i] for i in early])
            )
            late_pred = fit_predict(make, part, [texts[i] for i in late])
            rows.append((name, f"time split{suffix}", score([gold[i] for i in late], late_pred)))
        rows.append(
            (
                name,
                "replied -> 494",
                score(gold, fit_predict(make, ([t for t, _ in replied], [c for _, c in replied]), texts)),
            )
        )
        rows.append(
            (
                name,
                "494 -> replied",
                score([c for _, c in replied], fit_predict(make, (texts, gold), [t for t, _ in replied])),
            )
        )
        for model, split, q in rows[-6:]:
            print(
                f"{model:<40} {split:<22} macro-F1 {q.macro_f1:.4f}  accuracy {q.accuracy:.1%}  n={q.count}"
            )
    print()
    splits = list(dict.fromkeys(s for _, s, _ in rows))
    print("| model | " + " | ".join(splits) + " |")
    print("| --- |" + " ---: |" * len(splits))
    for name in dict.fromkeys(m for m, _, _ in rows):
        cells = {s: q for m, s, q in rows if m == name}
        print(f"| {name} | " + " | ".join(f"{cells[s].macro_f1:.4f}" for s in splits) + " |")


if __name__ == "__main__":
    main()

"""Measuring routing quality on labelled history: first-level macro-F1, per-class F1, manual share,
and k-fold cross-validation of keyword suggestions (learned on k-1 folds, measured on the k-th)."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from router.config import RouterConfig, build_router_config
from router.network import Network
from router.route import route
from router.suggest import Example, suggest_keywords, with_keywords
from router.taxonomy import Taxonomy


@dataclass(frozen=True)
class Quality:
    macro_f1: float  # over the categories of the gold labels
    per_class: Mapping[str, float]
    manual_share: float
    accuracy: float
    count: int


def measure(gold: Sequence[str], predicted: Sequence[str | None], manual: Sequence[bool]) -> Quality:
    """F1 per gold category (a manual decision counts as a miss), their mean, and the manual share."""
    per_class: dict[str, float] = {}
    for c in sorted(set(gold)):
        tp = sum(g == c and p == c for g, p in zip(gold, predicted, strict=True))
        fp = sum(g != c and p == c for g, p in zip(gold, predicted, strict=True))
        fn = sum(g == c and p != c for g, p in zip(gold, predicted, strict=True))
        per_class[c] = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    n = len(gold)
    return Quality(
        macro_f1=sum(per_class.values()) / len(per_class) if per_class else 0.0,
        per_class=per_class,
        manual_share=sum(manual) / n if n else 0.0,
        accuracy=sum(g == p for g, p in zip(gold, predicted, strict=True)) / n if n else 0.0,
        count=n,
    )


def evaluate(config: RouterConfig, examples: Sequence[Example]) -> Quality:
    """Route every example; the prediction is the decision's first-level category, None if manual."""
    predicted: list[str | None] = []
    manual: list[bool] = []
    for e in examples:
        d = route(config, subject=e.subject, content=e.content)
        manual.append(d.unit is None)
        predicted.append(None if d.unit is None or not d.category else d.category[0])
    return measure([e.category for e in examples], predicted, manual)


def cross_validate(
    routing: Mapping[str, Any],
    taxonomy: Taxonomy,
    network: Network,
    places: Mapping[str, Any] | None,
    examples: Sequence[Example],
    *,
    folds: int = 5,
    seed: int = 0,
    **suggest: Any,
) -> Quality:
    """Per fold: suggest keywords from the other folds, add them all, route the held-out fold.
    The pooled predictions of every fold are measured together."""
    order = list(range(len(examples)))
    random.Random(seed).shuffle(order)
    predicted: list[str | None] = [None] * len(examples)
    manual = [False] * len(examples)
    for k in range(folds):
        held = set(order[k::folds])
        train = [examples[i] for i in order if i not in held]
        base = build_router_config(routing, taxonomy, network, places)
        config = build_router_config(
            with_keywords(routing, suggest_keywords(train, base, **suggest)), taxonomy, network, places
        )
        for i in held:
            e = examples[i]
            d = route(config, subject=e.subject, content=e.content)
            manual[i] = d.unit is None
            predicted[i] = None if d.unit is None or not d.category else d.category[0]
    return measure([e.category for e in examples], predicted, manual)

"""Measuring routing quality on labelled history: first-level macro-F1, per-class F1, manual share,
k-fold cross-validation and a time split of the learned layer (learned on the training part only,
measured on the rest)."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from router.config import RouterConfig, build_router_config
from router.learned import grams, learn_weights, learned_file, split_by_time
from router.network import Network
from router.route import route
from router.scan import Scanner
from router.suggest import Example
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


@dataclass(frozen=True)
class Sources:
    """What a router configuration is built from, but for its learned layer."""

    routing: Mapping[str, Any]
    taxonomy: Taxonomy
    network: Network
    places: Mapping[str, Any] | None

    def build(self, learned: Mapping[str, Any] | None) -> RouterConfig:
        return build_router_config(self.routing, self.taxonomy, self.network, self.places, learned)

    def keywords_seen_in(self, train: Sequence[Example], held: Sequence[Example]) -> Sources:
        """The same without the hand-written keywords that some ``held`` example contains and no
        ``train`` example does: words nobody could have taken from the training part."""
        listed = sorted({w for c in self.routing.get("categories", ()) for w in c["keywords"]})
        scanner = Scanner(listed)

        def found(examples: Sequence[Example]) -> set[str]:
            return {listed[i] for e in examples for i in scanner.indexes(f"{e.subject}。{e.content}")}

        unseen = found(held) - found(train)
        categories = []
        for c in self.routing.get("categories", ()):
            kept = [w for w in c["keywords"] if w not in unseen]
            if kept:
                categories.append({**c, "keywords": kept})
        return dataclasses.replace(self, routing={**self.routing, "categories": categories})

    def without_keywords(self) -> Sources:
        """The same without the hand-written keywords: the learned layer alone decides the
        category (the measurement where nothing written by people who read the messages counts)."""
        return dataclasses.replace(self, routing={**self.routing, "categories": []})


@dataclass(frozen=True)
class LearnSetup:
    """What a learned layer is learned from, besides the labelled training part: appeals whose
    category is known from the answering department (``replied``: (subject。text, category)),
    unlabelled texts for word frequencies (``background``), the learner's settings
    (:func:`router.learned.learn_weights`), and how a text is cut into candidate words (``words``:
    :func:`router.learned.grams`, or a segmenter given by the caller)."""

    replied: Sequence[tuple[str, str]] = ()
    background: Sequence[str] = ()
    scale: float = 1.0
    options: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    words: Callable[[str], Collection[str]] = grams
    _seen: dict[str, Collection[str]] = dataclasses.field(default_factory=dict, repr=False)

    def words_of(self, text: str) -> Collection[str]:
        found = self._seen.get(text)
        if found is None:
            found = self._seen[text] = self.words(text)
        return found


def _learned_config(
    base: Sources,
    train: Sequence[Example],
    held: Sequence[Example],
    setup: LearnSetup,
) -> RouterConfig:
    """A configuration whose learned layer saw only ``train`` and the replied appeals that are not
    in ``held`` (the same message can be in both files)."""
    if setup.scale == 0:
        return base.build(None)
    held_keys = {e.content[:40] for e in held}
    labelled = [(e.subject, e.content, e.category) for e in train]
    for text, category in setup.replied:
        subject, _, content = text.partition("。")
        if content[:40] not in held_keys:
            labelled.append((subject, content, category))
    background = [t for t in setup.background if t.partition("。")[2][:40] not in held_keys]
    weights = learn_weights(
        [(s, c, setup.words_of(f"{s}。{c}"), category) for s, c, category in labelled],
        background,
        **setup.options,
    )
    return base.build(learned_file(weights, "cross-validation", setup.scale))


def _route_all(config: RouterConfig, examples: Sequence[Example]) -> list[tuple[str | None, bool]]:
    out = []
    for e in examples:
        d = route(config, subject=e.subject, content=e.content)
        out.append((None if d.unit is None or not d.category else d.category[0], d.unit is None))
    return out


def cross_validate_learned(
    base: Sources,
    examples: Sequence[Example],
    setup: LearnSetup,
    *,
    folds: int = 5,
    seed: int = 0,
    train_keywords_only: bool = False,
) -> Quality:
    """Per fold: learn the weights on the other folds (and the replied appeals), route the fold.
    With ``train_keywords_only`` the hand-written keywords that only the fold's own messages
    contain are left out too (:meth:`Sources.keywords_seen_in`)."""
    order = list(range(len(examples)))
    random.Random(seed).shuffle(order)
    predicted: list[str | None] = [None] * len(examples)
    manual = [False] * len(examples)
    for k in range(folds):
        held = order[k::folds]
        held_set = set(held)
        train = [examples[i] for i in order if i not in held_set]
        test = [examples[i] for i in held]
        sources = base.keywords_seen_in(train, test) if train_keywords_only else base
        config = _learned_config(sources, train, test, setup)
        for i, (p, m) in zip(held, _route_all(config, [examples[i] for i in held]), strict=True):
            predicted[i], manual[i] = p, m
    return measure([e.category for e in examples], predicted, manual)


def time_split_learned(
    base: Sources,
    examples: Sequence[Example],
    times: Sequence[Any],
    setup: LearnSetup,
    share: float = 0.8,
) -> Quality:
    """Learn on the earlier ``share`` of the examples (by ``times``), measure on the later rest."""
    early, late = split_by_time(times, share)
    train = [examples[i] for i in early]
    test = [examples[i] for i in late]
    config = _learned_config(base, train, test, setup)
    results = _route_all(config, test)
    return measure([e.category for e in test], [p for p, _ in results], [m for _, m in results])


def cross_source(
    base: Sources, train: Sequence[Example], test: Sequence[Example], setup: LearnSetup
) -> Quality:
    """Learn on ``train`` (and ``setup``'s replied appeals), measure on ``test`` from elsewhere."""
    results = _route_all(_learned_config(base, train, test, setup), test)
    return measure([e.category for e in test], [p for p, _ in results], [m for _, m in results])

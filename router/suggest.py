"""Keyword suggestions from labelled history (``hotline-gateway rules suggest --from FILE``).

Pure: history in, suggestions out. A suggestion is a word (2-4 Chinese characters) that many past
appeals of one first-level category contain and few of the others do, and that no category lists
yet. Staff review them and add the ones that make sense to ``routing.yaml``; once there, a word
explains a decision like every other keyword (which word, which category). :func:`with_keywords`
adds suggestions to a routing mapping, for trying them (``--compare``) and for cross-validation.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from router.config import RouterConfig
from router.learned import EDGE, grams


@dataclass(frozen=True)
class Example:
    """One labelled past appeal: subject, text and its first-level category."""

    subject: str
    content: str
    category: str


@dataclass(frozen=True)
class Suggestion:
    category: str  # first-level category name
    word: str
    support: int  # past appeals of the category containing the word
    precision: float  # share of all past appeals containing it that are of the category

    def __str__(self) -> str:
        return f"{self.category}: {self.word} ({self.support} appeals, {self.precision:.0%} of its uses)"


def suggest_keywords(
    history: Iterable[Example],
    config: RouterConfig | None = None,
    *,
    min_support: int = 4,
    min_precision: float = 0.8,
    per_category: int = 25,
    lengths: tuple[int, ...] = (2, 3, 4),
) -> tuple[Suggestion, ...]:
    """Words worth adding, best first within each category (by support, then precision).
    Words ``config`` already knows, and words inside a longer suggestion just as frequent, are left out."""
    by_word: dict[str, Counter[str]] = {}
    for example in history:
        for gram in grams(example.subject + "。" + example.content, lengths):
            by_word.setdefault(gram, Counter())[example.category] += 1
    known = {k.word for k in config.keywords} if config is not None else set()
    known_parts = {g for w in known for g in grams(w, lengths)}
    picked: dict[str, list[Suggestion]] = {}
    for word, counts in by_word.items():
        category, support = counts.most_common(1)[0]
        if support < min_support or word[0] in EDGE or word[-1] in EDGE:
            continue
        precision = support / sum(counts.values())
        if precision < min_precision or word in known_parts or grams(word, (2, 3)) & known:
            continue  # a known word, a piece of one, or one with a known word inside adds nothing
        picked.setdefault(category, []).append(Suggestion(category, word, support, round(precision, 3)))
    out: list[Suggestion] = []
    for category in sorted(picked):
        items = picked[category]
        longer = {(s.word, s.support) for s in items}
        kept = [
            s
            for s in items
            if not any(len(w) > len(s.word) and s.word in w and n >= s.support for w, n in longer)
        ]
        kept.sort(key=lambda s: (-s.support, -s.precision, s.word))
        out.extend(kept[:per_category])
    return tuple(out)


def with_keywords(routing: Mapping[str, Any], suggestions: Iterable[Suggestion]) -> dict[str, Any]:
    """A copy of a ``routing.yaml`` mapping with each suggested word added to its first-level entry."""
    data = dict(routing)
    categories = [dict(c) for c in data.get("categories", ())]
    index = {str(c["path"]): c for c in categories}
    for s in suggestions:
        entry = index.get(s.category)
        if entry is None:
            entry = {"path": s.category, "keywords": []}
            categories.append(entry)
            index[s.category] = entry
        words = list(entry["keywords"])
        if s.word not in words:
            words.append(s.word)
        entry["keywords"] = words
    data["categories"] = categories
    return data


def history_counts(texts: Iterable[str], config: RouterConfig) -> tuple[int, dict[str, int]]:
    """For ``routing.yaml`` ``history``: how many texts there are, and how many contain each
    configured word (words no text contains are left out: they weigh 1, like new words)."""
    counts: Counter[str] = Counter()
    total = 0
    for text in texts:
        total += 1
        counts.update({config.keywords[i].word for i in config.scanner.found(text)})
    return total, {w: n for w, n in sorted(counts.items()) if n}

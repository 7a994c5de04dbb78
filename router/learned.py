"""Keyword weights learned from history (``config/learned.yaml``, written by ``hotline-gateway rules
suggest --learn``), reviewed by staff like any other configuration file.

A learned weight says how much more often past appeals of one first-level category contain a word
than the others do: the log-odds ratio ``ln(P(word | category) / P(word | other categories))`` of
the word's presence, with add-one smoothing. Words kept are 2-4 Chinese characters that at least
``min_support`` past appeals of the category contain, that recur in the unlabelled history
(``messages-hot``: a phrase citizens use, not a fragment of a few texts), and whose ratio is at
least ``min_ratio``. At routing time a learned word adds ``weight x scale`` to its category for
each time it counts (see :mod:`router.route`), beside the hand-written keywords; the explanation of
every decision lists the words and weights that decided it. Pure: history in, a table out.

Labelled history can be the centre's own classified appeals, or appeals whose answering department
is known (the reply names it: :func:`category_from_reply` maps the department to its category).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

_HAN = re.compile(r"[\u4e00-\u9fff]+")
# Function characters: a word starting or ending with one is a fragment, not a word.
EDGE = frozenset("的了是在和对不也就都而及与或被把让给从向这那我你他她它们有个之其很还又要会能到说")


class LearnedFile(BaseModel):
    """``learned.yaml``: first-level category -> word -> weight."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    scale: float = Field(default=1.0, ge=0, description="Every learned weight is multiplied by this.")
    source: str = Field(default="", description="What the weights were learned from (for reviewers).")
    categories: dict[str, dict[str, float]] = Field(default_factory=dict)


def grams(text: str, lengths: tuple[int, ...] = (2, 3, 4)) -> set[str]:
    """Every run of 2-4 Chinese characters in ``text`` (the candidate words)."""
    out: set[str] = set()
    for run in _HAN.findall(text):
        for n in lengths:
            for i in range(len(run) - n + 1):
                out.add(run[i : i + n])
    return out


def category_from_reply(reply: str, departments: Mapping[str, str], head: int = 200) -> str | None:
    """The first-level category of the department a reply names near its start, when it names the
    departments of exactly one category (else None: unclear, not used)."""
    start = reply[:head]
    found = {category for word, category in departments.items() if word in start}
    return found.pop() if len(found) == 1 else None


def learn_weights(
    labelled: Iterable[tuple[Collection[str], str]],
    background: Iterable[Collection[str]] = (),
    *,
    min_support: int = 4,
    min_ratio: float = 1.0,
    min_background: int = 3,
    per_category: int = 150,
) -> dict[str, dict[str, float]]:
    """``labelled``: (words of a text, first-level category) pairs; ``background``: the words of
    unlabelled texts (a word must occur in ``min_background`` of them, when any are given). Words
    are what a segmenter (jieba, at the edge) or :func:`grams` finds. Returns category -> word ->
    weight, the strongest ``per_category`` words of each (by weight x log support)."""
    docs: Counter[str] = Counter()
    by_word: dict[str, Counter[str]] = {}
    for words, category in labelled:
        docs[category] += 1
        for word in words:
            by_word.setdefault(word, Counter())[category] += 1
    seen: Counter[str] = Counter()
    has_background = False
    for words in background:
        has_background = True
        seen.update(w for w in words if w in by_word)
    total = sum(docs.values())
    picked: dict[str, list[tuple[float, str, float]]] = {}
    for word, counts in by_word.items():
        if word[0] in EDGE or word[-1] in EDGE:
            continue
        if has_background and seen[word] < min_background:
            continue
        all_docs = sum(counts.values())
        for category, support in counts.items():
            if support < min_support:
                continue
            inside = (support + 1) / (docs[category] + 2)
            outside = (all_docs - support + 1) / (total - docs[category] + 2)
            ratio = math.log(inside / outside)
            if ratio >= min_ratio:
                picked.setdefault(category, []).append((ratio * math.log(support), word, ratio))
    out: dict[str, dict[str, float]] = {}
    for category in sorted(picked):
        best = sorted(picked[category], key=lambda t: (-t[0], t[1]))
        kept: dict[str, float] = {}
        for _rank, word, ratio in best:
            kept[word] = round(ratio, 3)
            if len(kept) >= per_category:
                break
        out[category] = dict(sorted(kept.items(), key=lambda kv: -kv[1]))
    return out


def learned_file(
    weights: Mapping[str, Mapping[str, float]], source: str, scale: float = 1.0
) -> dict[str, Any]:
    """The ``learned.yaml`` mapping for ``weights``."""
    return {
        "source": source,
        "scale": scale,
        "categories": {c: dict(words) for c, words in weights.items()},
    }


def split_by_time(times: Sequence[Any], share: float = 0.8) -> tuple[list[int], list[int]]:
    """Indices of the earlier ``share`` and of the later rest, by ``times`` (comparable values)."""
    order = sorted(range(len(times)), key=lambda i: times[i])
    cut = int(len(order) * share)
    return order[:cut], order[cut:]


# Abbreviations citizens and replies use for departments, by the first-level category they
# answer for (the full names come from units.yaml: see :func:`departments`).
ABBREVIATIONS: Mapping[str, tuple[str, ...]] = {
    "城乡建设": ("住建局", "住建委", "城管局", "城管执法", "规划局", "房产局", "住房保障", "不动产登记"),
    "环境保护": ("环保局", "生态环境", "环境保护局", "环境监察"),
    "交通运输": ("交通局", "交通运输局", "运管处", "公路局", "交通运输综合执法"),
    "教育文体": ("教育局", "教体局", "教育体育局", "教育厅", "文旅局", "体育局"),
    "劳动和社会保障": ("人社局", "人力资源和社会保障", "社保局", "劳动监察", "社保中心", "医保局"),
    "商贸旅游": ("商务局", "市场监管局", "市场监督管理", "工商局", "旅游局", "质监局"),
    "卫生计生": ("卫健委", "卫生健康", "卫计委", "卫生局", "疾控中心", "计生委"),
}


def departments(unit_names: Iterable[tuple[str, str]], city: str) -> dict[str, str]:
    """Department word -> first-level category: each sector unit's name without the city's name
    (``unit_names``: (name, first-level category) pairs), plus :data:`ABBREVIATIONS`."""
    out: dict[str, str] = {}
    for name, category in unit_names:
        short = name.removeprefix(city)
        if len(short) >= 3:
            out.setdefault(short, category)
    for category, words in ABBREVIATIONS.items():
        for word in words:
            out.setdefault(word, category)
    return out


def labelled_by_reply(
    rows: Iterable[Mapping[str, Any]], words: Mapping[str, str], keep: Collection[str] | None = None
) -> list[tuple[str, str]]:
    """(title。text, category) of past appeals whose reply names one category's department
    (``words``: see :func:`departments`), optionally only categories in ``keep``."""
    out = []
    for row in rows:
        category = category_from_reply(str(row.get("reply") or ""), words)
        if category is not None and (keep is None or category in keep):
            out.append((f"{row.get('title') or ''}。{row.get('text') or ''}", category))
    return out


def sector_names(units: Iterable[Any]) -> list[tuple[str, str]]:
    """(unit name, first-level category) of every sector unit (router.network.Unit values)."""
    return [(u.name, path.split("/")[0]) for u in units if u.kind == "sector" for path in u.sectors]

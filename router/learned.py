"""Keyword weights learned from history (``config/learned.yaml``, written by ``hotline-gateway rules
suggest --learn``), reviewed by staff like any other configuration file.

A learned weight is how much a word adds to one first-level category's score, fitted to past
appeals the way the router scores them (:func:`learn_weights`): the weights that give past appeals
of every category the largest share of their own category's score (the router's confidence),
with a penalty on large weights and a prior score for every category so that they stay general.
Words kept are 2-4 Chinese characters that several past appeals contain and that recur in the
unlabelled history (``messages-hot``: a phrase citizens use, not a fragment of a few texts). At
routing time a learned word adds ``weight x scale`` to its category for each time it counts (see
:mod:`router.route`), beside the hand-written keywords; the explanation of every decision lists
the words and weights that decided it. Pure: history in, a table out (numpy fits it; routing
does not use numpy).

Labelled history can be the centre's own classified appeals, or appeals whose answering department
is known (the reply names it: :func:`category_from_reply` maps the department to its category).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from router.scan import Scanner

_HAN = re.compile(r"[\u4e00-\u9fff]+")
# Function characters: a word starting or ending with one is a fragment, not a word.
EDGE = frozenset("的了是在和对不也就都而及与或被把让给从向这那我你他她它们有个之其很还又要会能到说")
# A word ending in an official's title after a name (胡书记, 李局长) names a person: never learned.
TITLES = ("书记", "市长", "县长", "区长", "局长", "镇长", "主任", "校长", "院长", "经理")


class LearnedFile(BaseModel):
    """``learned.yaml``: first-level category -> word -> weight."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    scale: float = Field(default=1.0, ge=0, description="Every learned weight is multiplied by this.")
    source: str = Field(default="", description="What the weights were learned from (for reviewers).")
    categories: dict[str, dict[str, float]] = Field(default_factory=dict)
    excluded: tuple[str, ...] = Field(
        default=(),
        description="Words reviewers struck out (names of places, estates, firms, people): "
        "`rules suggest --learn --write` never learns them again.",
    )


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
    labelled: Sequence[tuple[str, str, Collection[str], str]],
    background: Iterable[str] = (),
    *,
    min_support: int = 3,
    min_background: int = 3,
    l2: float = 1e-3,
    prior: float = 2.0,
    iterations: int = 300,
    per_category: int = 400,
    min_weight: float = 0.2,
    repeat_cap: int = 3,
    subject_weight: float = 2.0,
    exclude: Collection[str] = (),
) -> dict[str, dict[str, float]]:
    """Keyword weights fitted to past appeals the way the router scores them.

    ``labelled``: (subject, content, candidate words, first-level category) of past appeals; the
    candidate words are what a segmenter (jieba, at the edge) or :func:`grams` finds in them.
    ``background``: unlabelled texts. A candidate is kept when at least ``min_support`` labelled
    appeals contain it, it is not a fragment (:data:`EDGE`) and, when any background is given, at
    least ``min_background`` unlabelled texts contain it (a phrase citizens use); a name with an
    official's title (胡书记: :data:`TITLES`) and a word of ``exclude`` (struck out by reviewers)
    are never candidates.

    Every appeal is scored as :func:`router.route.score` does (each word: its repeats in the
    content, at most ``repeat_cap``, plus ``subject_weight`` if it is in the subject, times its
    weight for a category), and the weights (never negative) are those that make each appeal's
    own category's **share** of all scores largest (the router's confidence), over all appeals,
    every category counting as much as the others however many appeals it has. Two things keep
    the weights general: ``prior`` (a score every category starts with, so a few weak words
    cannot make a confident share) and ``l2`` (a penalty on large weights, so a word gets weight
    only when many appeals need it). Returns category -> word -> weight, for each category its
    ``per_category`` largest weights of at least ``min_weight``, largest first."""
    import numpy as np
    from scipy import sparse  # type: ignore[import-untyped]

    rows = list(labelled)
    categories = sorted({category for _s, _c, _w, category in rows})
    if not rows:
        return {}
    support: Counter[str] = Counter()
    for _s, _c, words, _category in rows:
        support.update(set(words))
    candidates = sorted(
        w
        for w, n in support.items()
        if n >= min_support
        and w[0] not in EDGE
        and w[-1] not in EDGE
        and not (w.endswith(TITLES) and w not in TITLES)
        and w not in exclude
    )
    texts = list(background)
    if texts:
        seen = _contained(candidates, texts)
        candidates = [w for w in candidates if seen[w] >= min_background]
    if not candidates:
        return {}
    scanner = Scanner(candidates)
    at_row: list[int] = []
    at_word: list[int] = []
    value: list[float] = []
    for r, (subject, content, _w, _category) in enumerate(rows):
        found: dict[int, float] = {
            i: min(n, repeat_cap) for i, n in Counter(scanner.indexes(content)).items()
        }
        if subject:
            for i in scanner.found(subject):
                found[i] = found.get(i, 0) + subject_weight
        at_row += [r] * len(found)
        at_word += found
        value += found.values()
    n_rows, n_words, n_cats = len(rows), len(candidates), len(categories)
    x = sparse.csr_matrix((value, (at_row, at_word)), shape=(n_rows, n_words))
    x_t = x.T.tocsr()
    y = np.array([categories.index(category) for _s, _c, _w, category in rows])
    gold = np.eye(n_cats)[y]
    balance = (n_rows / (n_cats * np.bincount(y, minlength=n_cats)))[y]
    balance /= balance.sum()
    weights = np.full((n_words, n_cats), 0.1)
    first = np.zeros_like(weights)
    second = np.zeros_like(weights)
    for step in range(1, iterations + 1):  # projected Adam on -sum(balance * log(share)) + l2/2 |W|^2
        scores = x @ weights + prior
        share_grad = (1.0 / scores.sum(axis=1, keepdims=True) - gold / scores) * balance[:, None]
        grad = x_t @ share_grad + l2 * weights
        first = 0.9 * first + 0.1 * grad
        second = 0.999 * second + 0.001 * grad * grad
        weights -= 0.05 * (first / (1 - 0.9**step)) / (np.sqrt(second / (1 - 0.999**step)) + 1e-8)
        np.maximum(weights, 0.0, out=weights)
    out: dict[str, dict[str, float]] = {}
    for j, category in enumerate(categories):
        column = weights[:, j]
        best = sorted(
            (i for i in range(len(candidates)) if column[i] >= min_weight),
            key=lambda i: (-column[i], candidates[i]),
        )[:per_category]
        if best:
            out[category] = {candidates[i]: round(float(column[i]), 3) for i in best}
    return out


def _contained(words: Sequence[str], texts: Iterable[str]) -> Counter[str]:
    """How many of ``texts`` contain each of ``words`` (inside longer text, as routing matches)."""
    scanner = Scanner(words)
    seen: Counter[int] = Counter()
    for text in texts:
        seen.update(scanner.found(text))
    return Counter({words[i]: n for i, n in seen.items()})


def learned_file(
    weights: Mapping[str, Mapping[str, float]],
    source: str,
    scale: float = 1.0,
    excluded: Iterable[str] = (),
) -> dict[str, Any]:
    """The ``learned.yaml`` mapping for ``weights`` (``excluded``: words never to learn)."""
    out: dict[str, Any] = {
        "source": source,
        "scale": scale,
        "categories": {c: dict(words) for c, words in weights.items()},
    }
    if excluded:
        out["excluded"] = sorted(set(excluded))
    return out


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

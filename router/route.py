"""Deciding where an appeal goes. Pure: text and configuration in, a :class:`Decision` out."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection

from normalizer.schema import Urgency
from router.config import RouterConfig
from router.decision import Candidate, Decision
from router.taxonomy import CategoryPath

SUBJECT_WEIGHT = 2.0
_URGENCY_ORDER = (Urgency.emergency, Urgency.urgent_utility, Urgency.complex, Urgency.general)


def _scan(config: RouterConfig, text: str) -> dict[str, tuple[tuple[str, object], ...]]:
    found: dict[str, tuple[tuple[str, object], ...]] = {}
    for _end, (word, values) in config.automaton.iter(text):
        found[word] = values
    return found


def _owner(
    config: RouterConfig, path: CategoryPath, exclude: Collection[str]
) -> tuple[str | None, CategoryPath]:
    """The most specific sector owner of ``path`` not in ``exclude``, and the path it owns."""
    for depth in range(len(path), 0, -1):
        owners = [u for u in config.owners.get(path[:depth], ()) if u not in exclude]
        if owners:
            owners.sort(key=lambda u: (config.network.units[u].level, u))
            return owners[0], path[:depth]
    return None, ()


def route(
    config: RouterConfig,
    *,
    subject: str,
    content: str,
    exclude: Collection[str] = (),
) -> Decision:
    """Score every taxonomy path by the keywords found (a word in the subject counts double), pick the
    best first-level category, then its best deeper path, then that path's owner."""
    in_subject = _scan(config, subject)
    in_content = _scan(config, content)
    scores: dict[CategoryPath, float] = defaultdict(float)
    urgency_hits: dict[Urgency, list[str]] = defaultdict(list)
    for word in set(in_subject) | set(in_content):
        weight = (SUBJECT_WEIGHT if word in in_subject else 0.0) + (1.0 if word in in_content else 0)
        for kind, value in in_subject.get(word) or in_content[word]:
            if kind == "category":
                assert isinstance(value, tuple)
                scores[value] += weight
            else:
                assert isinstance(value, Urgency)
                urgency_hits[value].append(word)
    urgency = next((g for g in _URGENCY_ORDER if urgency_hits.get(g)), None)

    level1: dict[str, float] = defaultdict(float)
    for path, score in scores.items():
        level1[path[0]] += score
    total = sum(level1.values())
    if not level1:
        return Decision(
            unit=None,
            confidence=0.0,
            urgency=urgency,
            explanation="no keyword of any category was found: manual dispatch",
        )
    ranked = sorted(level1.items(), key=lambda kv: (-kv[1], kv[0]))
    best_first, best_score = ranked[0]
    within = [(p, s) for p, s in scores.items() if p[0] == best_first]
    path = max(within, key=lambda ps: (ps[1], len(ps[0]), ps[0]))[0]
    if len(path) > 1 and scores.get(path, 0) < scores.get(path[:1], 0):
        path = path[:1]
    matched = tuple(sorted(w for w in set(in_subject) | set(in_content)))
    confidence = best_score / total
    candidates = tuple(
        Candidate(unit=_owner(config, (first,), exclude)[0], category=(first,), score=score)
        for first, score in ranked[:3]
    )
    unit, owned = _owner(config, path, exclude)
    words = "、".join(
        w
        for w in matched
        if any(
            k == "category" and isinstance(v, tuple) and v[0] == best_first
            for k, v in (in_subject.get(w) or in_content.get(w) or ())
        )
    )
    if unit is None or best_score < config.min_score or confidence < config.min_confidence:
        reason = (
            "every responsible unit has returned it"
            if unit is None
            else f"confidence {confidence:.2f} is too low"
        )
        return Decision(
            unit=None,
            category=path,
            confidence=round(confidence, 3),
            urgency=urgency,
            matched=matched,
            candidates=candidates,
            explanation=f"category {'/'.join(path)} by the words {words}; {reason}: manual dispatch",
        )
    return Decision(
        unit=unit,
        category=path,
        rule=f"sector:{'/'.join(owned)}",
        confidence=round(confidence, 3),
        urgency=urgency,
        matched=matched,
        candidates=candidates,
        explanation=(
            f"category {'/'.join(path)} by the words {words}; "
            f"{config.network.units[unit].name} is responsible for {'/'.join(owned)}"
        ),
    )

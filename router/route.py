"""Deciding where an appeal goes. Pure: text and configuration in, a :class:`Decision` out.

1. Score: one Aho-Corasick scan of subject and content finds every configured word. A word scores
   ``(min(repeats in content, repeat_cap) + subject_weight if in the subject) * weight``, where the
   weight comes from history (common words weigh less); a word listed under several first-level
   categories is split between them. The best first-level category wins; within
   it, the path whose own words score most (deepest on ties) is the category path.
2. Place: the gazetteer's smallest area named in the address, else in the text.
3. Responsibility: rules, highest priority first; the first that matches and yields a unit not in
   ``exclude`` decides. Without one, the category's sector owner (its most specific ``sectors`` path).
   A level-3 unit is chosen only by a rule; by default its level-2 parent gets the appeal.
4. Below ``min_score`` or ``min_confidence`` (best score / all scores) the appeal goes to the manual
   queue with the top three candidates, unless a rule decided by its words alone.
"""

from __future__ import annotations

from collections import _count_elements  # type: ignore[attr-defined]
from collections.abc import Collection, Iterable
from datetime import datetime
from functools import lru_cache
from typing import NamedTuple

from normalizer.schema import AppealType, Urgency
from router.config import KeywordInfo, RouterConfig
from router.decision import Candidate, Decision
from router.network import Unit
from router.places import LOCAL_KINDS, Place
from router.rules import Facts, Rule
from router.taxonomy import CategoryPath

_GRADES = (Urgency.emergency, Urgency.urgent_utility, Urgency.complex, Urgency.consultation)


class Scores(NamedTuple):
    """The scoring step's result, for explanations and for tools (suggestions, benches).
    (Named tuples: created once per decision, cheaper than frozen dataclasses.)"""

    level1: tuple[tuple[str, float], ...]  # best first
    path: CategoryPath
    words: dict[str, float]  # word found -> its score
    infos: dict[str, KeywordInfo]
    confidence: float
    # first-level category -> (-score, word, count) of each word that scored it, for explanations
    by_first: dict[str, list[tuple[float, str, float]]]
    special: list[KeywordInfo]  # the words found that name a place or suggest an urgency

    @property
    def best(self) -> float:
        return self.level1[0][1] if self.level1 else 0.0


def score(config: RouterConfig, subject: str, content: str) -> Scores:
    """Score the first-level categories and the category path of one appeal."""
    table = config.keywords
    scanner = config.scanner
    cap, sw = config.repeat_cap, config.subject_weight
    counted: dict[int, float] = {}
    _count_elements(counted, scanner.indexes(content))  # Counter's C helper
    for index, c in counted.items():
        if c > cap:
            counted[index] = cap
    if subject:
        for index in scanner.found(subject):
            counted[index] = counted.get(index, 0) + sw
    infos: dict[str, KeywordInfo] = {}
    words: dict[str, float] = {}
    level1: dict[str, float] = {}
    by_first: dict[str, list[tuple[float, str, float]]] = {}
    special: list[KeywordInfo] = []
    for index, n in counted.items():
        info = table[index]
        word = info.word
        infos[word] = info
        if info.special:
            special.append(info)
        if info.shares:
            words[word] = n
            for first, share in info.shares:
                value = n * share
                level1[first] = level1.get(first, 0.0) + value
                mine = by_first.get(first)
                if mine is None:
                    by_first[first] = [(-value, word, n)]
                else:
                    mine.append((-value, word, n))
    if not level1:
        return Scores((), (), words, infos, 0.0, by_first, special)
    ranked = tuple(sorted(level1.items(), key=lambda kv: (-kv[1], kv[0])))
    path = best_path(infos, by_first, ranked[0][0])
    return Scores(ranked, path, words, infos, ranked[0][1] / sum(level1.values()), by_first, special)


def best_path(
    infos: dict[str, KeywordInfo], by_first: dict[str, list[tuple[float, str, float]]], first: str
) -> CategoryPath:
    """Within the first-level category ``first``, the path whose own words score most (deepest on ties)."""
    paths: dict[CategoryPath, float] = {}
    for _, word, n in by_first.get(first, ()):  # a word listed under a path of ``first`` scores it
        info = infos[word]
        mine = info.paths_in.get(first)
        if mine:
            for path in mine:
                paths[path] = paths.get(path, 0.0) + n * info.weight
    return max(paths.items(), key=lambda ps: (ps[1], len(ps[0]), ps[0]))[0] if paths else (first,)


def suggest_urgency(infos: Iterable[KeywordInfo]) -> tuple[Urgency | None, tuple[str, ...]]:
    """The most urgent grade the words suggest, and those words."""
    order = _GRADES
    found = [(order.index(i.urgency), i.word) for i in infos if i.urgency is not None and i.urgency in order]
    if not found:
        return None, ()
    rank = min(r for r, _ in found)
    return order[rank], tuple(sorted(w for r, w in found if r == rank))


def emergency(config: RouterConfig, subject: str, content: str) -> tuple[str, ...]:
    """The words that make this text an emergency (a gas smell, people trapped in a lift, a fire):
    urgency words of grade ``emergency``, or a rule decided by words alone that grades its appeals
    ``emergency``. Empty when it is not one. Intake does not hold such an appeal to wait for more
    messages of its thread: it is routed at once."""
    s = score(config, subject, content)
    grade, words = suggest_urgency(s.special)
    if grade is Urgency.emergency:
        return words
    found = frozenset(s.infos)
    for rule in config.rules:
        if rule.keyword_only and rule.spec.urgency is Urgency.emergency and rule.words_match(found):
            return tuple(sorted(found & (rule.any_words | rule.all_words)))
    return ()


def _effective(config: RouterConfig, unit: Unit) -> Unit:
    """By default a level-3 owner's level-2 parent gets the appeal (it may pass it down)."""
    if unit.level == 3 and unit.parent is not None:
        return config.network.units[unit.parent]
    return unit


def sector_owner(
    config: RouterConfig, path: CategoryPath, exclude: Collection[str], place: Place | None = None
) -> tuple[Unit | None, CategoryPath, Unit | None]:
    """The unit for ``path``: (unit, the path it owns, the level-3 owner it may pass the appeal to)."""
    lineage = config.gazetteer.lineage(place.area) if place is not None else ()
    for depth in range(len(path), 0, -1):
        found: list[tuple[int, int, str, Unit, Unit]] = []
        for unit_id in config.owners.get(path[:depth], ()):
            owner = config.network.units[unit_id]
            if owner.areas and not any(a in lineage for a in owner.areas):
                continue  # serves another part of the city
            unit = _effective(config, owner)
            if unit.id in exclude:
                continue
            found.append((0 if owner.areas else 1, unit.level, unit.id, unit, owner))
        if found:
            found.sort(key=lambda f: f[:3])
            _, _, _, unit, owner = found[0]
            return unit, path[:depth], (owner if owner is not unit else None)
    return None, (), None


def territorial_unit(
    config: RouterConfig, level: int, place: Place | None, exclude: Collection[str], *, exact: bool = False
) -> Unit | None:
    """The territorial unit of ``level`` (3 falls back to 2 unless ``exact``) covering the place,
    not excluded."""
    if place is None:
        return None
    lineage = config.gazetteer.lineage(place.area)
    for want in range(level, level - 1 if exact else 1, -1):
        for area in lineage:
            for unit_id in config.territory.get(area, ()):
                unit = config.network.units[unit_id]
                if unit.level == want and unit_id not in exclude:
                    return unit
    return None


def is_local(config: RouterConfig, place: Place | None) -> bool:
    """The place is a town, township or street, or lies inside one."""
    if place is None:
        return False
    areas = config.gazetteer.areas
    return any(areas[a].kind in LOCAL_KINDS for a in config.gazetteer.lineage(place.area))


class Owner(NamedTuple):
    """Who is responsible for a category path, and why (the responsibility step)."""

    unit: Unit | None
    reason: str
    rule: str | None
    pass_to: Unit | None = None  # the level-3 unit it may pass the appeal down to


def responsible(
    config: RouterConfig, path: CategoryPath, place: Place | None, exclude: Collection[str]
) -> Owner:
    """The unit for ``path`` by its responsibility (``routing.yaml`` ``responsibility``): sector,
    territorial (the county or district covering the place) or shared (territorial where the place
    is a town, street or inside one)."""
    mode, listed = config.responsibility_of(path)
    why = f"{'/'.join(listed)} is {mode}" if listed else "sector (the default)"
    note = ""
    if mode == "territorial" or (mode == "shared" and is_local(config, place)):
        local = territorial_unit(config, 2, place, exclude, exact=True)
        if local is not None and place is not None:
            below = territorial_unit(config, 3, place, exclude, exact=True)
            more = f"; it may pass it to {below.name} ({below.id})" if below is not None else ""
            named = "/".join(config.gazetteer.path_names(place.area))
            return Owner(local, f"{why}: {local.name} covers {named}{more}", f"territorial:{local.id}", below)
        if place is None or config.gazetteer.areas[place.area].depth == 0:
            note = f"{why}, but no place was found: "
        else:
            note = f"{why}, but no unit covers {'/'.join(config.gazetteer.path_names(place.area))}: "
    elif mode == "shared":
        note = f"{why} and no town or street was named: "
    unit, owned, below = sector_owner(config, path, exclude, place)
    if unit is None:
        return Owner(None, f"{note}every responsible unit has returned it", None)
    more = f"; it may pass it to {below.name}" if below is not None else ""
    return Owner(
        unit, f"{note}{unit.name} is responsible for {'/'.join(owned)}{more}", f"sector:{'/'.join(owned)}"
    )


def _apply(
    config: RouterConfig, rule: Rule, path: CategoryPath, place: Place | None, exclude: Collection[str]
) -> tuple[Unit | None, str]:
    target = rule.spec.target
    if target.unit is not None:
        named = config.network.units[target.unit]
        return (None if named.id in exclude else named), "the rule names it"
    if target.territorial is not None:
        local = territorial_unit(config, target.territorial, place, exclude)
        return local, f"it covers {'/'.join(config.gazetteer.path_names(place.area)) if place else '-'}"
    unit, owned, _ = sector_owner(config, path, exclude, place)
    return unit, f"it is responsible for {'/'.join(owned)}"


def route(
    config: RouterConfig,
    *,
    subject: str,
    content: str,
    exclude: Collection[str] = (),
    address: str | None = None,
    channel: str | None = None,
    appeal_type: AppealType | None = None,
    urgency: Urgency | None = None,
    at: datetime | None = None,
) -> Decision:
    """Decide the unit of one appeal, with its category path, urgency grade, place and explanation.
    ``exclude`` holds every unit that returned the appeal; ``at`` (timezone-aware) is when it arrived."""
    s = score(config, subject, content)
    grade, grade_words = suggest_urgency(s.special)
    gazetteer = config.gazetteer
    place = gazetteer.choose(gazetteer.find(address), "address") if address else None
    if place is None:
        place = gazetteer.choose({i.word: i.areas for i in s.special if i.areas}, "text")
    facts = Facts(
        category=s.path,
        words=frozenset(s.infos),
        area_lineage=config.gazetteer.lineage(place.area) if place is not None else (),
        channel=channel,
        appeal_type=appeal_type,
        urgency=grade or urgency,
        at=at,
    )
    confident = s.best >= config.min_score and s.confidence >= config.min_confidence
    parts = [_category_words(s)]
    if place is not None and place.conflict:
        parts.append(
            f"places contradict ({'、'.join(place.conflict)} in the {place.source}): "
            f"only {'/'.join(config.gazetteer.path_names(place.area))} is certain"
        )
    elif place is not None:
        parts.append(
            f"place {'/'.join(config.gazetteer.path_names(place.area))} "
            f"(named {'、'.join(place.names)} in the {place.source})"
        )
    if grade is not None:
        parts.append(f"urgency {grade} by the words {'、'.join(grade_words)}")
    unit: Unit | None = None
    rule_id: str | None = None
    pass_to: Unit | None = None
    for rule in config.rules_for.get(s.path[0] if s.path else "", config.rules):
        if (confident or rule.keyword_only) and rule.matches(facts, config.offset):
            unit, why = _apply(config, rule, s.path, place, exclude)
            if unit is not None:
                rule_id = rule.id
                grade = grade or rule.spec.urgency
                parts.append(
                    f"rule {rule.id} (priority {rule.priority}: {rule.describe()}) chose {unit.name}: {why}"
                )
                break
    if unit is None and confident:
        owner = responsible(config, s.path, place, exclude)
        if owner.unit is not None:
            unit, rule_id, pass_to = owner.unit, owner.rule, owner.pass_to
            parts.append(owner.reason)
    if unit is None:
        if not s.level1:
            reason = "no word of any category was found"
        elif not confident:
            reason = f"confidence {s.confidence:.2f} or score {s.best:g} is too low"
        else:
            reason = "every responsible unit has returned it"
        parts.append(f"{reason}: manual dispatch")
    return Decision(
        unit=unit.id if unit is not None else None,
        category=s.path,
        rule=rule_id,
        confidence=round(s.confidence, 3),
        urgency=grade,
        matched=tuple(sorted(s.words)),
        explanation="; ".join(parts),
        candidates=_candidates(config, s, place, exclude) if unit is None else (),
        area=place.area if place is not None else None,
        place=config.gazetteer.path_names(place.area) if place is not None else (),
        pass_to=pass_to.id if pass_to is not None else None,
    )


def _words_for(s: Scores, first: str, limit: int = 8) -> str:
    """The words that scored ``first``, strongest first, as ``word(count×weight)``."""
    infos = s.infos
    mine = sorted(s.by_first.get(first, ()))[:limit]
    return "、".join(f"{w}({_shown(n)}×{infos[w].share_text[first]})" for _, w, n in mine)


@lru_cache(maxsize=1024)  # counts are few (1 to repeat_cap, plus the subject weight)
def _shown(n: float) -> str:
    """A count as explanations show it: 3, 2.5."""
    whole = int(n)
    return str(whole) if whole == n else f"{n:g}"


def _category_words(s: Scores) -> str:
    if not s.level1:
        return "no category word found"
    return (
        f"category {'/'.join(s.path)} (score {s.best:g}, confidence {s.confidence:.2f}) "
        f"by the words {_words_for(s, s.path[0])}"
    )


def _candidates(
    config: RouterConfig, s: Scores, place: Place | None, exclude: Collection[str]
) -> tuple[Candidate, ...]:
    """The three best first-level categories, each with the unit responsibility gives it and why."""
    out = []
    for first, value in s.level1[:3]:
        path = s.path if first == s.path[0] else best_path(s.infos, s.by_first, first)
        owner = responsible(config, path, place, exclude)
        reason = f"{'/'.join(path)} scored {value:.3g} by the words {_words_for(s, first, 5)}; {owner.reason}"
        unit_id = owner.unit.id if owner.unit is not None else None
        score_ = round(value, 3)
        candidate = Candidate(unit=unit_id, category=path, score=score_, reason=reason)
        out.append(candidate)
    if not out and place is not None:  # no category word: the place still suggests who covers it
        local = territorial_unit(config, 2, place, exclude, exact=True)
        if local is not None:
            named = "/".join(config.gazetteer.path_names(place.area))
            reason = f"no category word was found; {local.name} covers {named}"
            out.append(Candidate(unit=local.id, category=(), score=0.0, reason=reason))
    return tuple(out)

"""Pure: whether a new appeal repeats an earlier one (重复件) or reports the same matter through another
channel (a cross-channel duplicate), and why. No I/O; the clock is passed in.

- **repeat**: the same citizen (normalized phone, or channel identity) about the same matter (same
  first-level category, or similar text) within ``window_days``; or the same place (area) and topic
  (category) with similar text within ``window_days``, whoever wrote.
- **duplicate**: another channel, within ``duplicate_hours``, with near-duplicate text (MinHash over
  character shingles, estimated Jaccard similarity at least ``duplicate_threshold``) and the same place
  where both name one.

Every link says which appeal, which words both share, which place and what similarity: an operator
confirms or unlinks it, nothing is ever dropped. A new appeal links to at most ``MAX_LINKS`` earlier
ones (the most similar): the earlier reports of one matter are linked among themselves already.

Each appeal's signature is computed once and kept in the record (``appeals.minhash``): comparing a
new appeal with 200 earlier ones then costs 200 comparisons of 64 numbers, not 200 hashes.
"""

from __future__ import annotations

import functools
import re
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import numpy as np
from datasketch import MinHash

Kind = Literal["repeat", "duplicate"]
SHINGLE = 2  # character bigrams: most Chinese words are two characters
PERMUTATIONS = 64
MAX_LINKS = 10  # earlier appeals a new one links to, the most similar first
BANDS, ROWS = 21, 3  # locality-sensitive hashing of a signature: 21 bands of 3 values
_NOISE = re.compile(r"[\s\W_]+")


@dataclass(frozen=True)
class LinkPolicy:
    window_days: float = 30.0
    duplicate_hours: float = 6.0
    duplicate_threshold: float = 0.5
    repeat_threshold: float = 0.3  # text similarity that makes "the same matter" without a category

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> LinkPolicy:
        """``HOTLINE_REPEAT_WINDOW_DAYS``, ``HOTLINE_DUPLICATE_HOURS``, ``HOTLINE_DUPLICATE_THRESHOLD``."""
        from gateway.env import env_number

        default = cls()
        return cls(
            window_days=env_number(env, "HOTLINE_REPEAT_WINDOW_DAYS", default.window_days, 0, 3650, "days"),
            duplicate_hours=env_number(
                env, "HOTLINE_DUPLICATE_HOURS", default.duplicate_hours, 0, 8760, "hours"
            ),
            duplicate_threshold=env_number(
                env, "HOTLINE_DUPLICATE_THRESHOLD", default.duplicate_threshold, 0, 1, "similarity"
            ),
        )

    @functools.cached_property
    def horizon(self) -> timedelta:
        """How far back an earlier appeal can lie and still be linked."""
        return timedelta(days=self.window_days, hours=self.duplicate_hours)

    @functools.cached_property
    def duplicate_span(self) -> timedelta:
        return timedelta(hours=self.duplicate_hours)

    @functools.cached_property
    def window(self) -> timedelta:
        return timedelta(days=self.window_days)


@dataclass(frozen=True)
class Candidate:
    """What the decision reads of an appeal (from its ``appeals`` row)."""

    appeal_no: str
    received_at: datetime
    channel_id: str
    subject: str
    content: str
    phone: str | None = None
    identity: str | None = None
    category: str | None = None
    area: str | None = None
    minhash: bytes | None = None  # its stored signature (:func:`signature`), if recorded

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> Candidate:
        return cls(**{name: row.get(name) for name in cls.__dataclass_fields__})  # type: ignore[arg-type]

    @property
    def text(self) -> str:
        return text_of(self.subject, self.content)


@dataclass(frozen=True)
class Link:
    appeal_no: str
    earlier_no: str
    kind: Kind
    why: dict[str, Any]


def text_of(subject: str, content: str) -> str:
    """What is compared of an appeal: subject and content without spaces and punctuation."""
    return _NOISE.sub("", f"{subject}{content}")


def shingles(text: str, size: int = SHINGLE) -> set[str]:
    clean = _NOISE.sub("", text)
    if len(clean) <= size:
        return {clean} if clean else set()
    return {clean[i : i + size] for i in range(len(clean) - size + 1)}


def _crc32(data: bytes) -> int:
    return zlib.crc32(data)


_SEEDED = MinHash(num_perm=PERMUTATIONS, seed=14)  # its permutations, made once (0.5 ms each time)


@functools.lru_cache(maxsize=4096)
def minhash(text: str) -> MinHash:
    """MinHash of the text's character shingles (CRC-32 as the base hash: fast, and 32 bits is what
    datasketch keeps of any hash). The permutations are the seed's, computed once. Kept for the
    last 4,096 texts: an earlier appeal is compared with every new one of its place and topic, and
    one hash costs ~0.2-0.4 ms (callers only read it)."""
    m = MinHash(
        num_perm=PERMUTATIONS,
        seed=14,
        hashfunc=_crc32,
        permutations=_SEEDED.permutations,
        scheme=_SEEDED.scheme,
    )
    m.update_batch([s.encode() for s in shingles(text)])
    return m


def signature(text: str) -> bytes:
    """The text's MinHash as stored in ``appeals.minhash``: 64 unsigned 32-bit values (datasketch keeps
    32 bits of every hash), little-endian."""
    return bytes(minhash(text).hashvalues.astype("<u4").tobytes())


def bands(stored: bytes) -> list[int]:
    """The signature's 21 band keys (band number and CRC-32 of its 3 values): two texts share a
    band with probability 1 - (1 - J^3)^21 for Jaccard similarity J: 0.94 at 0.5, 0.99 at 0.6, 0.02
    at 0.1. Near-duplicates are looked up by band instead of comparing every recent appeal."""
    width = 4 * ROWS
    return [(b << 32) | zlib.crc32(stored[b * width : (b + 1) * width]) for b in range(BANDS)]


def _values(c: Candidate) -> np.ndarray:
    stored = c.minhash
    if stored is not None and len(stored) == 4 * PERMUTATIONS:
        return np.frombuffer(stored, dtype="<u4")
    values: np.ndarray = minhash(c.text).hashvalues.astype("<u4")
    return values


def shared_words(a: str, b: str, limit: int = 5, longest: int = 16) -> list[str]:
    """The longest runs of characters both texts contain (what a reviewer reads as "which words"),
    each cut to ``longest`` characters."""
    common = shingles(a, 2) & shingles(b, 2)
    runs: list[str] = []
    clean = _NOISE.sub("", a)
    i = 0
    while i < len(clean) - 1:
        j = i
        while j < len(clean) - 1 and clean[j : j + 2] in common:
            j += 1
        if j > i:
            runs.append(clean[i : j + 1])
            i = j + 1
        else:
            i += 1
    return [run[:longest] for run in sorted(dict.fromkeys(runs), key=len, reverse=True)[:limit]]


def _similarity(a: Candidate, b: Candidate, hashes: dict[str, np.ndarray]) -> float:
    """Estimated Jaccard similarity: the share of the 64 minimum hashes the two have in common (as
    datasketch's ``MinHash.jaccard``), from stored signatures where the record has them."""
    for c in (a, b):
        if c.appeal_no not in hashes:
            hashes[c.appeal_no] = _values(c)
    return round(int(np.count_nonzero(hashes[a.appeal_no] == hashes[b.appeal_no])) / PERMUTATIONS, 3)


def _rule(
    new: Candidate, old: Candidate, policy: LinkPolicy, similar: Callable[[], float]
) -> tuple[Kind, str] | None:
    """Which rule links the two (the text similarity is computed only where a rule needs it)."""
    age = new.received_at - old.received_at
    same_place = bool(new.area) and new.area == old.area
    if (
        new.channel_id != old.channel_id
        and age <= policy.duplicate_span
        and (same_place or not (new.area and old.area))
        and similar() >= policy.duplicate_threshold
    ):
        return (
            "duplicate",
            f"another channel ({old.channel_id}) within {policy.duplicate_hours:g} h, similar text",
        )
    if age > policy.window:
        return None
    same_topic = bool(new.category) and new.category == old.category
    citizen = _same_citizen(new, old)
    if citizen and (same_topic or similar() >= policy.repeat_threshold):
        return (
            "repeat",
            f"the same citizen ({citizen}) about the same matter within {policy.window_days:g} days",
        )
    if same_place and same_topic and similar() >= policy.repeat_threshold:
        return "repeat", f"the same place and topic within {policy.window_days:g} days"
    return None


@dataclass(frozen=True)
class Match:
    """An earlier appeal a rule links the new one to, before its reasons are written out."""

    old: Candidate
    kind: Kind
    rule: str
    similarity: float


def rank(new: Candidate, earlier: Iterable[Candidate], policy: LinkPolicy, now: datetime) -> list[Match]:
    """The earlier appeals ``new`` links to (at most one match each; a duplicate wins over a repeat),
    best first, at most ``MAX_LINKS``: what :func:`decide` explains. Reads the candidates' signatures
    (or hashes their texts); a candidate with a signature needs no text here."""
    hashes: dict[str, np.ndarray] = {}
    found: list[Match] = []
    if new.received_at > now:
        return []
    since = new.received_at - policy.horizon
    for old in earlier:
        if old.appeal_no == new.appeal_no or not (since <= old.received_at <= new.received_at):
            continue
        matched = _rule(new, old, policy, lambda old=old: _similarity(new, old, hashes))  # type: ignore[misc]
        if matched is not None:
            found.append(Match(old, *matched, _similarity(new, old, hashes)))
    found.sort(key=lambda m: (-m.similarity - (m.kind == "duplicate"), -m.old.received_at.timestamp()))
    return found[:MAX_LINKS]


def explain(new: Candidate, match: Match) -> Link:
    """The link of a match with its reasons (the shared words need both texts)."""
    new_text, old = new.text, match.old
    same_topic = bool(new.category) and new.category == old.category
    why: dict[str, Any] = {
        "earlier": old.appeal_no,
        "rule": match.rule,
        "similarity": match.similarity,
        "words": shared_words(new_text, old.text),
        "place": new.area if new.area and new.area == old.area else None,
        "category": new.category if same_topic else None,
        "hours_apart": round((new.received_at - old.received_at).total_seconds() / 3600, 1),
    }
    return Link(new.appeal_no, old.appeal_no, match.kind, why)


def decide(new: Candidate, earlier: Iterable[Candidate], policy: LinkPolicy, now: datetime) -> list[Link]:
    """The links of ``new`` to earlier appeals (texts known), best first, at most ``MAX_LINKS``.
    ``now`` bounds what counts as earlier."""
    return [explain(new, match) for match in rank(new, earlier, policy, now)]


def _same_citizen(a: Candidate, b: Candidate) -> str | None:
    """How the two appeals are known to come from one citizen (never the number itself)."""
    if a.phone and a.phone == b.phone:
        return f"phone ending {a.phone[-4:]}"
    if a.identity and a.identity == b.identity:
        return f"{a.identity.split(':', 1)[0]} identity"
    return None

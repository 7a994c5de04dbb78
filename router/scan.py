"""Finding words in text: every occurrence of a fixed set of words, in one pass (Aho-Corasick).

The one scanner of the router (keywords and place names), the gazetteer and the tools that learn
weights. It scans the text's UTF-8 bytes with ``ahocorasick_rs`` (Rust's ``aho-corasick`` crate):
a match always starts on a character boundary, since a word is whole characters and a UTF-8
continuation byte never starts one. About twice as fast as pyahocorasick over the same bytes, which
walks a trie node's children one by one (bench.router_speed; docs/benchmarks.md).
"""

from __future__ import annotations

from collections.abc import Sequence

from ahocorasick_rs import BytesAhoCorasick, Implementation, MatchKind


class Scanner:
    """Every occurrence of ``words`` in a text, overlapping ones included (所在 and 在地 in 所在地), as
    indexes into ``words`` in the order the occurrences end. Built once; immutable and shareable."""

    __slots__ = ("_find", "words")

    def __init__(self, words: Sequence[str], *, dfa: bool = False) -> None:
        """``dfa``: a full DFA, a few per cent faster to scan and about 10 MB for the router's 3,500
        words (31 ms to build) against 0.3 MB (4 ms): for the router's keywords, scanned in every
        decision; the crate chooses otherwise (a contiguous NFA for more than a few words)."""
        if any(not word for word in words):
            raise ValueError("an empty word would match everywhere")
        self.words: tuple[str, ...] = tuple(words)
        patterns = [w.encode("utf-8", "surrogatepass") for w in self.words]
        self._find = (
            BytesAhoCorasick(
                patterns, matchkind=MatchKind.Standard, implementation=Implementation.DFA if dfa else None
            ).find_matches_as_indexes
            if patterns
            else None
        )

    def indexes(self, text: str) -> list[int]:
        """The index of the word of every occurrence in ``text`` (a word twice in it: twice)."""
        if self._find is None or not text:
            return []
        return [m[0] for m in self._find(text.encode("utf-8", "surrogatepass"), overlapping=True)]

    def found(self, text: str) -> set[int]:
        """The indexes of the words that occur in ``text``."""
        return set(self.indexes(text))

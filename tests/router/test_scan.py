"""The router's scanner finds every occurrence of its words, as a plain search of the text would."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from router.scan import Scanner

# Characters whose UTF-8 bytes overlap (a shared lead byte, continuation bytes that could line up).
ALPHABET = "所在地汉汊汐水燃气煤气a1ア、。\U0001f600"


def occurrences(word: str, text: str) -> int:
    """Occurrences of ``word`` in ``text``, overlapping ones included."""
    return sum(1 for i in range(len(text) - len(word) + 1) if text.startswith(word, i))


@settings(max_examples=300, deadline=None)
@given(
    words=st.lists(st.text(ALPHABET, min_size=1, max_size=4), min_size=1, max_size=12, unique=True),
    text=st.text(ALPHABET, max_size=60),
)
def test_every_occurrence_is_found_and_only_those(words: list[str], text: str) -> None:
    for dfa in (False, True):
        found = Counter(Scanner(words, dfa=dfa).indexes(text))
        assert found == Counter({i: n for i, w in enumerate(words) if (n := occurrences(w, text))})


def test_overlapping_words_are_all_found() -> None:
    scanner = Scanner(["所在", "在地", "所在地", "地"])
    assert sorted(scanner.indexes("所在地")) == [0, 1, 2, 3]
    assert scanner.found("水在地上") == {1, 3}


def test_a_lone_surrogate_an_empty_text_and_no_words_scan_without_error() -> None:
    assert Scanner(["燃气"]).indexes("燃气\ud800泄漏燃气") == [0, 0]  # a lone surrogate
    assert Scanner([]).indexes("燃气") == []
    assert Scanner(["燃气"]).indexes("") == []


def test_an_empty_word_is_refused() -> None:
    with pytest.raises(ValueError, match="empty word"):
        Scanner(["燃气", ""])

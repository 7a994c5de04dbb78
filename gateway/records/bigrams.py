"""Pure: the character bigrams of an appeal's text, the index of two-character words.

Most words an operator types are two Chinese characters (噪音, 垃圾, 停水): too short for the trigram
indexes of :mod:`gateway.records.search`. The recorder therefore also writes, in
``appeals.bigrams``, every distinct pair of adjacent *indexed* characters of the subject and of the
content (not across the two); a two-character word made of indexed characters is in an appeal's
text exactly when it is one of its bigrams.

Indexed characters are the CJK unified ideographs (U+4E00-U+9FFF and extension A, U+3400-U+4DBF)
and the ASCII letters and digits: SQLite's ``unicode61`` tokenizer reads each of them as a token
character (a test checks it), so each space-separated bigram is one token there. A word with another
character (a rarer ideograph, a full-width letter, punctuation) is scanned for instead.
"""

from __future__ import annotations

import re

_INDEXED = "0-9A-Za-z\u3400-\u4dbf\u4e00-\u9fff"
_RUN = re.compile(f"[{_INDEXED}]{{2,}}")
_PAIR = re.compile(f"[{_INDEXED}]{{2}}")


def bigrams(*texts: str) -> list[str]:
    """The distinct bigrams of the texts, in the order they first occur."""
    seen: dict[str, None] = {}
    for text in texts:
        for run in _RUN.findall(text):
            for i in range(len(run) - 1):
                seen.setdefault(run[i : i + 2])
    return list(seen)


def indexed(term: str) -> bool:
    """Whether a search term is found through the bigrams: two indexed characters."""
    return _PAIR.fullmatch(term) is not None

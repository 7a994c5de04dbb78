"""Words of a text for learning keyword weights (``rules suggest --learn``, the quality bench):
jieba's segmentation, kept to words of 2-4 Chinese characters. Only learning uses it; routing
matches the learned words inside the text (router.config), with no segmenter at run time."""

from __future__ import annotations

import logging
import re
import tempfile
from collections.abc import Callable

_HAN_WORD = re.compile(r"[\u4e00-\u9fff]{2,4}")


def segmenter() -> Callable[[str], frozenset[str]]:
    """A function text -> its words. Loads jieba's dictionary once (about half a second)."""
    import jieba  # type: ignore[import-untyped]

    jieba.setLogLevel(logging.WARNING)
    jieba.dt.tmp_dir = tempfile.gettempdir()
    jieba.initialize()

    def words(text: str) -> frozenset[str]:
        return frozenset(w for w in jieba.lcut(text) if _HAN_WORD.fullmatch(w))

    return words

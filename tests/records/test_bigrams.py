"""The bigrams of an appeal's text: every pair of adjacent indexed characters, once, and found
through the index on both databases at the ends of the indexed ranges."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.records.bigrams import bigrams, indexed
from gateway.records.search import parse_query, search
from normalizer import SHANGHAI
from tests.records.seed import appeal_hash, seed


def test_the_distinct_adjacent_pairs_of_each_text() -> None:
    assert bigrams("燃气泄漏，燃气", "漏气") == ["燃气", "气泄", "泄漏", "漏气"]
    assert bigrams("停水", "两天") == ["停水", "两天"]  # none across subject and content
    assert bigrams("3号楼 5G，Ａ区", "") == ["3号", "号楼", "5G"]  # a full-width letter is not indexed
    assert bigrams("噪", "") == []


def test_which_words_go_through_the_index() -> None:
    assert indexed("噪音") and indexed("5G") and indexed("a1")
    assert not indexed("噪") and not indexed("噪音大") and not indexed("Ａ区") and not indexed("1%")


async def test_the_ends_of_the_indexed_ranges_are_found(engine: AsyncEngine) -> None:
    at = datetime(2026, 11, 2, 9, 0, tzinfo=SHANGHAI)
    await seed(engine, [appeal_hash("BB-20261102-000001", content="㐀䶿，一鿿，Z9", received_at=at)])
    for word in ("㐀䶿", "一鿿", "Z9"):
        result = await search(engine, parse_query({"q": [word]}))
        assert result["total"] == 1, word

"""Search finds exactly the appeals it should: by a phrase of the text or a two-character word, the
phone or its last four digits, unit and state, channel, category, area, time; newest first, a page
at a time; bad parameters get a 400 naming them."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.errors import BadRequest
from gateway.records import search as search_module
from gateway.records import write
from gateway.records.rows import appeal_row
from gateway.records.search import parse_query, search
from normalizer import SHANGHAI
from tests.records.seed import appeal_hash, seed

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=SHANGHAI)
TEXTS = [
    (
        "小区楼道里燃气泄漏，煤气味很重",
        "13912341234",
        "gas-supply",
        "dispatched",
        ("城乡建设",),
        "east-street",
    ),
    ("路灯坏了一个月，晚上很黑", "13800001234", "housing-bureau", "signed", ("城乡建设", "市政设施"), None),
    ("燃气费多收了，要求退费", "13955556666", "gas-supply", "filed", ("商贸旅游",), "west-town"),
    ("噪音扰民，夜里施工", None, "ecology-bureau", "dispatched", ("环境保护",), "east-street"),
    ("燃气管道漏气，有爆炸危险", "021-5555-1234", "gas-supply", "signed", ("城乡建设",), "west-town"),
]
COUNTY = {"east-street": "longzihu-district", "west-town": "huaiyuan-county"}


@pytest.fixture
async def seeded(engine: AsyncEngine) -> AsyncEngine:
    hashes = [
        appeal_hash(
            f"BB-20261102-{i + 1:06d}",
            content=content,
            phone=phone,
            unit=unit,
            state=state,
            category=category,
            area=area,
            received_at=T0 + timedelta(hours=i),
            channel="sms-12345" if i == 3 else "portal-bengbu",
        )
        for i, (content, phone, unit, state, category, area) in enumerate(TEXTS)
    ]
    await seed(engine, hashes, COUNTY)
    return engine


async def found(engine: AsyncEngine, **params: str) -> list[str]:
    query = parse_query({k.rstrip("_"): [v] for k, v in params.items()})
    result = await search(engine, query)
    assert result["total"] == len(result["items"]) or result["total"] > query.per_page
    return [item["appeal_no"][-1] for item in result["items"]]


async def test_by_phrase_newest_first(seeded: AsyncEngine) -> None:
    assert await found(seeded, q="燃气") == ["5", "3", "1"]  # two characters: the bigram index
    assert await found(seeded, q="燃气泄漏") == ["1"]
    assert await found(seeded, q="燃气 漏气") == ["5"]  # every word
    assert await found(seeded, q="煤气味很重") == ["1"]
    assert await found(seeded, q="自来水停水") == []
    assert await found(seeded, q="100%") == []  # LIKE wildcards are only characters


WORDS = [  # (subject, content, unit, state)
    ("夜间噪音", "楼下酒吧每晚营业到凌晨", "ecology-bureau", "dispatched"),  # the word in the subject only
    ("反映问题", "工地施工噪音很大，影响休息", "housing-bureau", "signed"),  # in the content only
    ("反映问题", "噪声很大，音响开到深夜", "ecology-bureau", "dispatched"),  # 噪 and 音 apart
    ("垃圾清运", "小区垃圾没人清运，噪 音也大", "ecology-bureau", "signed"),  # 噪 音: not adjacent
    ("停水通知", "3号楼停水两天，5G信号也差", "water-supply", "dispatched"),
    ("Ａ区停水", "全角字母Ａ区的路灯坏了", "water-supply", "signed"),  # a full-width letter: scanned
]


@pytest.fixture
async def words(engine: AsyncEngine) -> AsyncEngine:
    hashes = [
        appeal_hash(
            f"BB-20261103-{i + 1:06d}",
            subject=subject,
            content=content,
            unit=unit,
            state=state,
            received_at=T0 + timedelta(days=1, hours=i),
        )
        for i, (subject, content, unit, state) in enumerate(WORDS)
    ]
    await seed(engine, hashes)
    return engine


async def test_a_two_character_word_finds_exactly_the_appeals_holding_it(words: AsyncEngine) -> None:
    assert await found(words, q="噪音") == ["2", "1"]  # subject or content, never 噪 ... 音 apart
    assert await found(words, q="噪声") == ["3"]
    assert await found(words, q="音噪") == []
    assert await found(words, q="清运") == ["4"]
    assert await found(words, q="噪音 施工") == ["2"]  # every word
    assert await found(words, q="噪音 影响休息") == ["2"]  # with a phrase of the trigram index
    assert await found(words, q="噪音 酒吧每晚") == ["1"]
    assert await found(words, q="3号 5G") == ["5"]  # letters and digits pair too
    assert await found(words, q="号楼") == ["5"]


async def test_a_two_character_word_with_other_filters(words: AsyncEngine) -> None:
    assert await found(words, q="噪音", unit="ecology-bureau") == ["1"]
    assert await found(words, q="噪音", state="signed") == ["2"]
    assert await found(words, q="停水", unit="water-supply", state="dispatched") == ["5"]
    assert await found(words, q="停水", unit="ecology-bureau") == []
    result = await search(words, parse_query({"q": ["停水"], "per_page": ["1"], "page": ["2"]}))
    assert (result["total"], [i["appeal_no"][-1] for i in result["items"]]) == (2, ["5"])


async def test_one_character_and_unindexed_pairs_are_scanned_for(words: AsyncEngine) -> None:
    assert await found(words, q="噪") == ["4", "3", "2", "1"]
    assert await found(words, q="Ａ区") == ["6"]  # a full-width letter is not indexed: still found
    assert await found(words, q="噪 音") == ["4", "3", "2", "1"]  # two words of one character


async def test_a_changed_text_is_found_by_its_new_words_only(words: AsyncEngine) -> None:
    changed = appeal_hash(
        "BB-20261103-000002",
        subject="反映问题",
        content="路面积水，车辆难行",
        unit="housing-bureau",
        received_at=T0 + timedelta(days=1, hours=1),
    )
    changed["updated_at"] = (T0 + timedelta(days=2)).isoformat()
    async with words.begin() as conn:
        await write.upsert_appeals(conn, [appeal_row(changed, lambda _a: None, T0 + timedelta(days=2))])
    assert await found(words, q="噪音") == ["1"]
    assert await found(words, q="积水") == ["2"]


async def test_by_phone_or_its_last_four_digits(seeded: AsyncEngine) -> None:
    assert await found(seeded, phone="1234") == ["5", "2", "1"]
    assert await found(seeded, phone="139 1234 1234") == ["1"]
    assert await found(seeded, phone="+8613912341234") == ["1"]
    assert await found(seeded, phone="6666", q="燃气") == ["3"]


async def test_by_unit_state_channel_category_area_and_time(seeded: AsyncEngine) -> None:
    assert await found(seeded, unit="gas-supply", state="signed") == ["5"]
    assert await found(seeded, unit="gas-supply") == ["5", "3", "1"]
    assert await found(seeded, channel="sms-12345") == ["4"]
    assert await found(seeded, category="城乡建设") == ["5", "2", "1"]
    assert await found(seeded, category="城乡建设/市政设施") == ["2"]
    assert await found(seeded, area="east-street") == ["4", "1"]
    assert await found(seeded, area="huaiyuan-county") == ["5", "3"]  # the county holds its towns
    assert await found(seeded, from_="2026-11-02T11:00:00", to="2026-11-02T13:00:00") == ["4", "3"]
    assert await found(seeded, from_="2026-11-02", to="2026-11-02") == ["5", "4", "3", "2", "1"]
    assert await found(seeded, to="2026-11-01") == []


async def test_pages(seeded: AsyncEngine) -> None:
    first = await search(seeded, parse_query({"per_page": ["2"]}))
    third = await search(seeded, parse_query({"per_page": ["2"], "page": ["3"]}))
    assert first["total"] == third["total"] == 5
    assert [i["appeal_no"][-1] for i in first["items"]] == ["5", "4"]
    assert [i["appeal_no"][-1] for i in third["items"]] == ["1"]
    item = first["items"][0]
    assert set(item) >= {"appeal_no", "state", "unit", "subject", "channel", "received_at"}
    assert "phone" not in item


async def test_a_text_search_on_postgresql_counts_up_to_its_cap(
    seeded: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search_module, "COUNT_CAP", 2)
    result = await search(seeded, parse_query({"q": ["燃气"]}))
    assert [i["appeal_no"][-1] for i in result["items"]] == ["5", "3", "1"]  # the page is whole
    if seeded.dialect.name == "sqlite":
        assert (result["total"], result["total_exact"]) == (3, True)
    else:
        assert (result["total"], result["total_exact"]) == (2, False)
    rare = await search(seeded, parse_query({"q": ["燃气泄漏"]}))
    assert (rare["total"], rare["total_exact"], len(rare["items"])) == (1, True, 1)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"state": "lost"}, "state"),
        ({"page": "0"}, "page"),
        ({"page": "two"}, "page"),
        ({"per_page": "1000"}, "per_page"),
        ({"from": "yesterday"}, "from"),
        ({"from": "2026-11-03", "to": "2026-11-01"}, "query"),
        ({"phone": "12ab"}, "phone"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_a_bad_parameter_is_named(params: dict[str, str], field: str) -> None:
    with pytest.raises(BadRequest) as caught:
        parse_query({k: [v] for k, v in params.items()})
    assert caught.value.detail["field"] == field
    assert caught.value.message.startswith(field)


def test_a_parameter_given_twice_is_refused() -> None:
    with pytest.raises(BadRequest, match="state is given more than once"):
        parse_query({"state": ["filed", "signed"]})


@pytest.mark.parametrize(
    ("params", "field"),
    [({"to": "9999-12-31"}, "to"), ({"from": "0001-01-01T00:00"}, "from"), ({"q": "燃气\x00泄漏"}, "q")],
)
def test_out_of_range_times_and_control_characters_are_refused(params: dict[str, str], field: str) -> None:
    with pytest.raises(BadRequest) as caught:
        parse_query({k: [v] for k, v in params.items()})
    assert caught.value.detail["field"] == field

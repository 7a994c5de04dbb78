"""Golden tests: each fixture's work order, under its channel settings, decodes to exactly its draft."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adapters.feed.config import FeedConfig, PullSettings, WritebackSettings
from adapters.feed.decode import (
    accepted,
    get_path,
    order_of,
    parse_page,
    parse_time,
    sign,
    to_draft,
    writeback_body,
    writeback_item,
)
from gateway.errors import BadRequest
from normalizer import AppealDraft

FIXTURES = sorted((Path(__file__).parents[3] / "adapters" / "feed" / "fixtures").glob("*.json"))
BASE = {"base_url": "http://127.0.0.1:9", "app_key": "k", "app_secret": "s"}


@pytest.mark.parametrize("path", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_fixture_decodes_to_its_draft(path: Path) -> None:
    case = json.loads(path.read_text(encoding="utf-8"))
    settings = FeedConfig.model_validate(BASE | case["settings"])
    draft = to_draft(order_of(case["order"], settings.fields), settings, "governor-hotline")
    assert draft == AppealDraft.model_validate(case["draft"])


def test_signature_is_hmac_sha256_over_key_timestamp_nonce_body() -> None:
    import hashlib
    import hmac

    expected = hmac.new(b"secret", b"key1795997702abc{}", hashlib.sha256).hexdigest()
    assert sign("key", "secret", "1795997702", "abc", b"{}") == expected


def test_paths_and_times() -> None:
    data = {"a": {"b": [{"c": 1}]}}
    assert get_path(data, "a.b.0.c") == 1
    assert get_path(data, "a.b.5.c") is None
    assert get_path(data, "a.x") is None
    assert parse_time("2026-12-04 18:00:00").isoformat() == "2026-12-04T18:00:00+08:00"  # type: ignore[union-attr]
    assert parse_time(1795997702) == parse_time(1795997702000)
    assert parse_time("not a time") is None


def test_pages() -> None:
    pull = PullSettings(items_path="data.list", next_cursor_path="data.next", has_more_path=None, page_size=2)
    page = parse_page(b'{"data": {"list": [1, 2], "next": 7}}', pull)
    assert (page.items, page.next_cursor, page.has_more) == ([1, 2], "7", True)
    page = parse_page(b'{"data": {"list": [1], "next": 8}}', pull)
    assert page.has_more is False
    with pytest.raises(BadRequest):
        parse_page(b'{"data": {"list": 3}}', pull)


def test_writeback_body_follows_the_mapping_back() -> None:
    settings = WritebackSettings(
        actions={"replied": "REPLY"},
        fields={"orderNo": "number", "op.type": "action", "op.text": "text", "ref": "appeal_no"},
    )
    event = {"type": "replied", "actor": "unit:gas-supply", "at": "2026-11-29T10:00:00+08:00"}
    item = writeback_item("BB-20261129-000001", "AH-1", event, item_id="id1", text="已处理")
    assert item["unit"] == "gas-supply"
    assert writeback_body(item, settings) == {
        "orderNo": "AH-1",
        "op": {"type": "REPLY", "text": "已处理"},
        "ref": "BB-20261129-000001",
    }
    assert accepted(b'{"code": 0}', settings)
    assert not accepted(b'{"code": 500}', settings)
    assert not accepted(b"<html>", settings)


def test_an_order_without_number_or_text_is_refused() -> None:
    settings = FeedConfig.model_validate(BASE)
    with pytest.raises(BadRequest):
        order_of({"content": "x"}, settings.fields)
    with pytest.raises(BadRequest):
        to_draft(order_of({"order_no": "1", "content": " "}, settings.fields), settings, "p")

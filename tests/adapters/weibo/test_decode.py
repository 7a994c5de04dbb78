"""The pure Weibo decoder against golden fixtures (adapters/weibo/fixtures)."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import unquote

import pytest

from adapters.weibo.decode import decode_push, text_reply
from gateway.errors import BadRequest

FIXTURES = sorted((Path(__file__).parents[3] / "adapters" / "weibo" / "fixtures").glob("*.json"))


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_fixture_decodes_to_its_golden_result(path: Path) -> None:
    case = json.loads(path.read_text(encoding="utf-8"))
    push = decode_push(case["push"])
    expected = case["expected"]
    assert (push.kind, push.key, push.event) == (expected["kind"], expected["key"], expected["event"])
    assert (push.draft.model_dump(mode="json") if push.draft else None) == expected["draft"]


def test_one_appeal_key_per_sender_and_second() -> None:
    case = json.loads(FIXTURES[0].read_text(encoding="utf-8"))["push"]
    same = decode_push(case | {"text": "another text, same second"})
    other = decode_push(case | {"created_at": "Sat Nov 28 13:20:01 +0800 2026"})
    assert decode_push(case).key == same.key != other.key


def test_passive_reply_is_urlencoded_json_back_to_the_sender() -> None:
    case = json.loads(FIXTURES[0].read_text(encoding="utf-8"))["push"]
    reply = text_reply(decode_push(case), "您的诉求已受理，编号BB-20261128-000001")
    assert reply["result"] is True and reply["type"] == "text"
    assert reply["receiver_id"] == case["sender_id"] and reply["sender_id"] == case["receiver_id"]
    assert json.loads(unquote(reply["data"])) == {"text": "您的诉求已受理，编号BB-20261128-000001"}


@pytest.mark.parametrize(
    ("push", "field"),
    [
        ({"type": "text", "sender_id": "x", "receiver_id": 1, "created_at": "", "text": "a"}, "sender_id"),
        (
            {"type": "text", "sender_id": 1, "receiver_id": 1, "created_at": "2026-11-28", "text": "a"},
            "created_at",
        ),
        (
            {
                "type": "text",
                "sender_id": 1,
                "receiver_id": 1,
                "created_at": "Sat Nov 28 13:20:00 +0800 2026",
            },
            "text",
        ),
    ],
)
def test_bad_pushes_name_the_field(push: dict[str, object], field: str) -> None:
    with pytest.raises(BadRequest) as caught:
        decode_push(push)
    assert caught.value.detail.get("field") == field

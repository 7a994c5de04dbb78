"""The appeal schema and normalization: pure, no event loop."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from gateway.cli import main
from normalizer import (
    SCHEMA_VERSION,
    Appeal,
    AppealDraft,
    AppealType,
    Citizen,
    format_appeal_no,
    mask_phone,
    normalize,
    normalize_phone,
)
from normalizer.appeal_no import appeal_day


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("13912341234", "+8613912341234"),
        ("139 1234 1234", "+8613912341234"),
        ("+86 139-1234-1234", "+8613912341234"),
        ("0552-1234567", "+865521234567"),
        ("12345", "12345"),  # not a subscriber number: kept as given
    ],
)
def test_phone_numbers_are_normalized(raw: str, e164: str) -> None:
    assert normalize_phone(raw) == e164


def test_phone_masks_keep_three_and_four() -> None:
    assert mask_phone("+8613912341234") == "139****1234"
    assert mask_phone("13912341234") == "139****1234"


def test_appeal_numbers_sort_by_date_then_sequence() -> None:
    numbers = [
        format_appeal_no("BB", d, s)
        for d, s in [("20261129", 2), ("20261130", 1), ("20261129", 10), ("20261129", 1)]
    ]
    assert sorted(numbers) == [
        "BB-20261129-000001",
        "BB-20261129-000002",
        "BB-20261129-000010",
        "BB-20261130-000001",
    ]


def test_the_day_of_an_appeal_number_is_shanghai_time() -> None:
    assert appeal_day(datetime(2026, 11, 29, 17, 0, tzinfo=UTC)) == "20261130"


def _normalize(draft: AppealDraft, at: datetime | None = None) -> Appeal:
    return normalize(
        draft,
        appeal_no="BB-20261129-000001",
        channel_id="portal-bengbu",
        channel_kind="portal",
        received_at=at or datetime(2026, 11, 29, 2, tzinfo=UTC),
    )


def test_normalize_cleans_text_infers_type_and_subject() -> None:
    draft = AppealDraft(
        external_id="x",
        content="  请问　公积金\r\n\r\n\r\n怎么提取？  ",
        citizen=Citizen(phone="139 1234 1234"),
    )
    appeal = _normalize(draft)
    assert appeal.content == "请问 公积金\n\n怎么提取？"
    assert appeal.subject == "请问 公积金"
    assert appeal.appeal_type is AppealType.consultation
    assert appeal.citizen.phone == "+8613912341234"
    assert appeal.received_at.utcoffset().total_seconds() == 8 * 3600  # type: ignore[union-attr]
    assert appeal.reply_route.channel_id == "portal-bengbu"


def test_normalize_refuses_a_naive_time() -> None:
    with pytest.raises(ValueError, match="timezone"):
        _normalize(AppealDraft(external_id="x", content="路灯坏了"), datetime(2026, 11, 29))


def test_the_schema_refuses_unknown_fields() -> None:
    with pytest.raises(ValidationError):
        AppealDraft.model_validate({"external_id": "x", "content": "y", "surprise": 1})


def test_schema_command_prints_the_versioned_json_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["title"] == "Appeal"
    assert schema["properties"]["schema_version"]["default"] == SCHEMA_VERSION
    for field in (
        "appeal_no",
        "channel_id",
        "channel_kind",
        "external_id",
        "received_at",
        "citizen",
        "subject",
        "content",
        "appeal_type",
        "location",
        "attachments",
        "urgency",
        "category",
        "reply_route",
        "upstream",
        "raw",
    ):
        assert field in schema["properties"], field

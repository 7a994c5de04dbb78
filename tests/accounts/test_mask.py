"""Masking for the joint supervisors: no phone number, ID number, name or address survives, wherever
it was written; what is not personal (appeal numbers, dates, areas) stays readable."""

from __future__ import annotations

import json

from gateway.accounts.mask import MASK, has_contact, mask_appeal, mask_history, mask_text

APPEAL = {
    "appeal_no": "BB20261202000042",
    "received_at": "2026-12-02T10:15:00+08:00",
    "citizen": {
        "name": "李秀英",
        "phone": "+8613905521234",
        "identity": {"kind": "email", "value": "lxy@example.cn"},
    },
    "subject": "李秀英反映小区停水",
    "content": "我是李秀英，住龙子湖区东海大道1号3栋，电话139 0552 1234，身份证340302198801011234，"
    "家里座机0552-3012345，停水三天。",
    "location": {"address": "龙子湖区东海大道1号3栋", "area": "longzihu"},
    "reply_route": {"kind": "sms", "address": "13905521234"},
    "raw": {"key": "raw:1", "sha256": "0" * 64, "content_type": "text/plain", "size": 10},
}


def test_phone_and_id_numbers_in_free_text_are_masked() -> None:
    text = "电话13905521234或+86 139-0552-1234，座机0552-3012345，身份证34030219880101123X。"
    masked = mask_text(text)
    for digits in ("13905521234", "139-0552-1234", "3012345", "34030219880101123X"):
        assert digits not in masked
    assert masked.count(MASK) == 4


def test_appeal_numbers_dates_and_areas_stay() -> None:
    masked = mask_appeal(APPEAL)
    assert masked["appeal_no"] == "BB20261202000042"
    assert masked["received_at"] == "2026-12-02T10:15:00+08:00"
    assert masked["location"]["area"] == "longzihu"
    assert "停水三天" in masked["content"]


def test_a_masked_appeal_holds_no_personal_data_anywhere() -> None:
    history = [
        {
            "type": "accepted",
            "actor": "portal",
            "at": "2026-12-02T10:15:00+08:00",
            "note": "李秀英来电 13905521234",
        },
        {"type": "replied", "actor": "water", "at": "2026-12-03T10:00:00+08:00", "phone": "13905521234"},
    ]
    dumped = json.dumps([mask_appeal(APPEAL), mask_history(history, APPEAL)], ensure_ascii=False)
    for personal in ("李秀英", "13905521234", "1234", "东海大道", "lxy@example.cn", "340302198801011234"):
        assert personal not in dumped, personal
    assert "raw" not in mask_appeal(APPEAL)
    assert has_contact(APPEAL) and not has_contact({"citizen": {"anonymous": True}, "location": {}})


def test_appeal_numbers_stay_whole_while_the_numbers_beside_them_are_masked() -> None:
    text = "BB-20261202-000042 与 BB-20261201-000007 同一人，电话13905521234"
    assert mask_text(text) == "BB-20261202-000042 与 BB-20261201-000007 同一人，电话***"

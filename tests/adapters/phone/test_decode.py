"""Golden tests of work orders and voicemail, and the pure call-record functions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adapters.phone.decode import (
    CallEvent,
    CallRecord,
    apply_event,
    callback_list,
    decode_voicemail,
    decode_work_order,
    is_abandoned,
    parse_fields,
)
from gateway.errors import BadRequest
from normalizer import AppealDraft

FIXTURES = sorted((Path(__file__).parents[3] / "adapters" / "phone" / "fixtures").glob("*.json"))


@pytest.mark.parametrize("path", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_fixture_decodes_to_its_draft(path: Path) -> None:
    case = json.loads(path.read_text(encoding="utf-8"))
    decode = decode_work_order if case["fields"]["event"] == "workOrder" else decode_voicemail
    assert decode(case["fields"]) == AppealDraft.model_validate(case["draft"])


def test_voicemail_without_transcript_keeps_the_recording() -> None:
    draft = decode_voicemail({"callId": "v1", "from": "13912341234", "recordingUrl": "https://x.cn/a.mp3"})
    assert draft.content.startswith("（语音留言") and draft.attachments[0].url == "https://x.cn/a.mp3"


def test_form_and_json_bodies_give_the_same_fields() -> None:
    form = parse_fields(b"event=newCall&callId=c1&from=139", "application/x-www-form-urlencoded")
    assert form == parse_fields(b'{"event": "newCall", "callId": "c1", "from": 139}', "application/json")
    with pytest.raises(BadRequest):
        parse_fields(b"event=%FF", "application/x-www-form-urlencoded")


def event(kind: str, call_id: str = "c1", caller: str = "13912341234", direction: str = "in") -> CallEvent:
    return CallEvent(kind, call_id, caller, "12345", direction, "agent-7" if kind == "answer" else "", "")


def run(*steps: tuple[str, float], call_id: str = "c1", caller: str = "13912341234") -> CallRecord:
    record = CallRecord(call_id)
    for kind, at in steps:
        record = apply_event(record, event(kind, call_id, caller), at)
    return record


def test_a_call_hung_up_before_answer_is_abandoned() -> None:
    assert is_abandoned(run(("newCall", 1), ("hangup", 30)))
    assert not is_abandoned(run(("newCall", 1), ("answer", 5), ("hangup", 90)))
    assert not is_abandoned(run(("newCall", 1)))  # still ringing
    out = apply_event(
        apply_event(CallRecord("o"), event("newCall", "o", direction="out"), 1), event("hangup", "o"), 9
    )
    assert not is_abandoned(out)


def test_retried_events_keep_the_first_times() -> None:
    record = run(("newCall", 1), ("answer", 5), ("answer", 7), ("hangup", 90), ("hangup", 95))
    assert (record.started, record.answered, record.ended, record.user) == (1, 5, 90, "agent-7")


def test_callback_list_one_entry_per_caller_and_none_once_answered() -> None:
    records = [
        run(("newCall", 1), ("hangup", 20), call_id="a1", caller="13912341234"),
        run(("newCall", 30), ("hangup", 50), call_id="a2", caller="+86 139 1234 1234"),
        run(("newCall", 40), ("hangup", 45), call_id="b1", caller="18655556789"),
        run(("newCall", 60), ("hangup", 70), call_id="b2", caller="18655556789"),
        run(("newCall", 80), ("answer", 85), ("hangup", 99), call_id="b3", caller="18655556789"),
    ]
    (only,) = callback_list(records)
    assert (only.call_id, only.attempts, only.last_tried) == ("a2", 2, 50)

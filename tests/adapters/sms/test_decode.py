"""Golden tests: each fixture's provider push decodes to exactly its drafts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adapters.sms.client import sign, string_to_sign
from adapters.sms.decode import decode_push, template_text, thread_of, to_draft
from gateway.errors import BadRequest
from normalizer import AppealDraft
from tests.adapters.sms.standin import documented_signature

FIXTURES = sorted((Path(__file__).parents[3] / "adapters" / "sms" / "fixtures").glob("*.json"))


@pytest.mark.parametrize("path", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_fixture_decodes_to_its_drafts(path: Path) -> None:
    case = json.loads(path.read_text(encoding="utf-8"))
    body = case["body"]
    raw = body.encode() if isinstance(body, str) else json.dumps(body, ensure_ascii=False).encode()
    good, rejected = decode_push(case["provider"], raw)
    assert [to_draft(u) for u in good] == [AppealDraft.model_validate(d) for d in case["drafts"]]
    assert [r.message_id for r in rejected] == case["rejected"]


def test_one_phone_is_one_thread_and_no_number_in_it() -> None:
    assert thread_of("13912341234") == thread_of("+86 139 1234 1234")
    assert thread_of("13912341234") != thread_of("18655556789")
    assert "1234" not in thread_of("13912341234")


def test_tencent_key_is_stable_per_message() -> None:
    body = {"mobile": "13912341234", "nationcode": "86", "text": "路灯坏了", "time": 1795997702}
    (a,), _ = decode_push("tencent", json.dumps(body).encode())
    (b,), _ = decode_push("tencent", json.dumps(body).encode())
    (c,), _ = decode_push("tencent", json.dumps(body | {"text": "又坏了"}).encode())
    assert a.message_id == b.message_id != c.message_id


@pytest.mark.parametrize(
    ("provider", "body"),
    [
        ("aliyun", b"null"),
        ("aliyun", b"[]"),
        ("tencent", b"[]"),
        ("tencent", b'{"mobile": "139", "text": ""}'),
        ("tencent", b'{"mobile": ["139"], "text": "x"}'),
        ("form", b"content=x"),
        ("form", b"mobile=1&content=%FF"),
    ],
)
def test_not_the_providers_shape_is_bad_request(provider: str, body: bytes) -> None:
    with pytest.raises(BadRequest):
        decode_push(provider, body)


def test_an_unusable_batch_item_is_rejected_not_raised() -> None:
    good, rejected = decode_push("aliyun", b'[{"sequence_id": 7}, 3]')
    assert good == [] and [r.message_id for r in rejected] == ["7", "#1"]


def test_answer_text_is_fitted_to_the_template_variable() -> None:
    assert template_text("已派人 维修\n完毕", 35) == "已派人 维修 完毕"
    assert template_text("很长" * 40, 35) == ("很长" * 40)[:34] + "…"


def test_signature_matches_aliyuns_documented_example() -> None:
    # The worked example of Aliyun's SMS API signature page (GET, AccessKeySecret "testSecret").
    params = {
        "AccessKeyId": "testId",
        "Action": "SendSms",
        "Format": "XML",
        "OutId": "123",
        "PhoneNumbers": "15300000001",
        "RegionId": "cn-hangzhou",
        "SignName": "阿里云短信测试专用",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466",
        "SignatureVersion": "1.0",
        "TemplateCode": "SMS_71390007",
        "TemplateParam": '{"customer":"test"}',
        "Timestamp": "2017-07-12T02:42:19Z",
        "Version": "2017-05-25",
    }
    assert string_to_sign("GET", params).startswith("GET&%2F&AccessKeyId%3DtestId%26Action%3DSendSms")
    assert sign("GET", params, "testSecret") == "zJDF+Lrzhj/ThnlvIToysFRq6t4="
    assert sign("POST", params, "testSecret") == documented_signature(params, "testSecret")

"""The pure WeChat decoder against golden fixtures (adapters/wechat/fixtures), and XML safety."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from wechatpy import parse_message

from adapters.wechat.decode import decode_message, parse_xml, text_reply
from gateway.errors import BadRequest

FIXTURES = sorted((Path(__file__).parents[3] / "adapters" / "wechat" / "fixtures").glob("*.json"))
BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
    b"<xml><Content>&lol3;</Content></xml>"
)
EXTERNAL = b'<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><xml><Content>&xxe;</Content></xml>'


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_fixture_decodes_to_its_golden_result(path: Path) -> None:
    case = json.loads(path.read_text(encoding="utf-8"))
    inbound = decode_message(parse_xml(case["xml"].encode()))
    expected = case["expected"]
    assert inbound.kind == expected["kind"]
    assert inbound.key == expected["key"]
    assert inbound.event == expected["event"]
    assert inbound.engages == expected["engages"]
    coordinates = inbound.coordinates.model_dump(mode="json") if inbound.coordinates else None
    assert coordinates == expected["coordinates"]
    assert (inbound.draft.model_dump(mode="json") if inbound.draft else None) == expected["draft"]


@pytest.mark.parametrize("body", [BILLION_LAUGHS, EXTERNAL], ids=["expansion", "external"])
def test_entities_are_refused_by_us(body: bytes) -> None:
    with pytest.raises(BadRequest):
        parse_xml(body)


@pytest.mark.parametrize("body", [BILLION_LAUGHS, EXTERNAL], ids=["expansion", "external"])
def test_wechatpys_own_parser_refuses_entities_too(body: bytes) -> None:
    # wechatpy parses with xmltodict, whose default disables entities: checked, not assumed
    with pytest.raises(ValueError, match="entities are disabled"):
        parse_message(body.decode())


@pytest.mark.parametrize(
    ("xml", "field"),
    [
        ("<xml><MsgType>text</MsgType></xml>", "FromUserName"),
        ("<xml><FromUserName>o1</FromUserName><ToUserName>gh</ToUserName></xml>", "CreateTime"),
        (
            "<xml><FromUserName>o1</FromUserName><ToUserName>gh</ToUserName><CreateTime>1</CreateTime>"
            "<MsgType>text</MsgType><Content>x</Content></xml>",
            "MsgId",
        ),
        (
            "<xml><FromUserName>o1</FromUserName><ToUserName>gh</ToUserName><CreateTime>1</CreateTime>"
            "<MsgType>event</MsgType><Event>LOCATION</Event><Latitude>32</Latitude></xml>",
            "Longitude",
        ),
        (
            "<xml><FromUserName><a>1</a></FromUserName><ToUserName>gh</ToUserName></xml>",
            "FromUserName",
        ),
    ],
)
def test_bad_pushes_name_the_field(xml: str, field: str) -> None:
    with pytest.raises(BadRequest) as caught:
        decode_message(parse_xml(xml.encode()))
    assert caught.value.detail.get("field") == field


def test_unknown_message_types_make_no_appeal() -> None:
    xml = (
        "<xml><FromUserName>o1</FromUserName><ToUserName>gh</ToUserName><CreateTime>1</CreateTime>"
        "<MsgType>miniprogrampage</MsgType><MsgId>7</MsgId></xml>"
    )
    inbound = decode_message(parse_xml(xml.encode()))
    assert inbound.kind == "event" and inbound.draft is None


def test_text_reply_survives_cdata_terminators() -> None:
    case = json.loads(FIXTURES[0].read_text(encoding="utf-8"))
    inbound = decode_message(parse_xml(case["xml"].encode()))
    reply = parse_xml(text_reply(inbound, "编号]]>BB-1", 1700000000).encode())
    assert reply["Content"] == "编号]]>BB-1"
    assert reply["ToUserName"] == inbound.openid and reply["FromUserName"] == inbound.account

"""Fuzzing every inbound endpoint of the wechat kind: whatever arrives, never a 5xx."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.adapters.wechat.wechat import PATH, TOKEN, WechatServer, message_xml, sign
from tests.conformance.kit import Req, send
from tests.conftest import Gateway

WECHAT = WechatServer()
# a failing example would print the gateway fixture; its repr is large, which hypothesis warns about
pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisWarning")
FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
QUERY_KEYS = st.sampled_from(
    ["signature", "timestamp", "nonce", "echostr", "encrypt_type", "msg_signature", "openid"]
)
queries = st.dictionaries(QUERY_KEYS, st.text(max_size=60), max_size=7)
FIELDS = [
    "MsgType",
    "Content",
    "MsgId",
    "Event",
    "Location_X",
    "Location_Y",
    "Latitude",
    "Longitude",
    "Recognition",
    "PicUrl",
    "MediaId",
    "Label",
    "CreateTime",
    "FromUserName",
    "ToUserName",
]
field_values = st.one_of(
    st.text(max_size=40).filter(lambda s: "]]>" not in s),
    st.sampled_from(["text", "image", "voice", "location", "event", "LOCATION", "subscribe", "1e999", "nan"]),
    st.integers().map(str),
)


@st.composite
def pushes(draw: st.DrawFn) -> str:
    fields = draw(st.dictionaries(st.sampled_from(FIELDS), field_values, max_size=10))
    return "<xml>" + "".join(f"<{k}><![CDATA[{v}]]></{k}>" for k, v in fields.items()) + "</xml>"


@FUZZ
@given(query=queries, body=st.binary(max_size=400))
async def test_unsigned_or_random_posts_never_5xx(
    gateway: Gateway, query: dict[str, str], body: bytes
) -> None:
    response = await send(gateway, Req("POST", PATH, {"Content-Type": "text/xml"}, body, query))
    assert response.status < 500, await response.text()


@FUZZ
@given(query=queries)
async def test_verification_gets_never_5xx(gateway: Gateway, query: dict[str, str]) -> None:
    response = await send(gateway, Req("GET", PATH, params=query))
    assert response.status < 500, await response.text()


@FUZZ
@given(body=st.binary(max_size=400), encrypt=st.text(max_size=120))
async def test_signed_posts_with_random_bodies_never_5xx(gateway: Gateway, body: bytes, encrypt: str) -> None:
    query = WECHAT.query()
    query |= {
        "encrypt_type": "aes",
        "msg_signature": sign(TOKEN, query["timestamp"], query["nonce"], encrypt),
    }
    for data in (body, f"<xml><Encrypt>{encrypt}</Encrypt></xml>".encode()):
        response = await send(gateway, Req("POST", PATH, {"Content-Type": "text/xml"}, data, query))
        assert response.status < 500, await response.text()


@FUZZ
@given(xml=st.one_of(pushes(), st.builds(lambda c: message_xml(Content=c), st.text(max_size=80))))
async def test_signed_encrypted_random_pushes_never_5xx(gateway: Gateway, xml: str) -> None:
    response = await send(gateway, WECHAT.safe(xml))
    assert response.status < 500, await response.text()

"""Fuzzing every inbound endpoint of the weibo kind: whatever arrives, never a 5xx."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.adapters.weibo.weibo import PATH, post
from tests.conformance.kit import Req, send
from tests.conftest import Gateway

# a failing example would print the gateway fixture; its repr is large, which hypothesis warns about
pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisWarning")
FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
queries = st.dictionaries(
    st.sampled_from(["signature", "timestamp", "nonce", "echostr"]), st.text(max_size=60), max_size=4
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=40),
    st.sampled_from(
        ["text", "position", "voice", "image", "event", "follow", "Sat Nov 28 13:20:00 +0800 2026"]
    ),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=8,
)
push_keys = st.sampled_from(["type", "receiver_id", "sender_id", "created_at", "text", "data"])
data_keys = st.sampled_from(["longitude", "latitude", "vfid", "tovfid", "subtype", "key"])
pushes = st.dictionaries(
    push_keys,
    st.one_of(json_values, st.dictionaries(data_keys, scalars, max_size=4)),
    max_size=6,
)


@FUZZ
@given(query=queries, body=st.binary(max_size=300))
async def test_unsigned_or_random_posts_never_5xx(
    gateway: Gateway, query: dict[str, str], body: bytes
) -> None:
    response = await send(gateway, Req("POST", PATH, {"Content-Type": "application/json"}, body, query))
    assert response.status < 500, await response.text()


@FUZZ
@given(query=queries)
async def test_verification_gets_never_5xx(gateway: Gateway, query: dict[str, str]) -> None:
    response = await send(gateway, Req("GET", PATH, params=query))
    assert response.status < 500, await response.text()


@FUZZ
@given(body=pushes)
async def test_signed_random_pushes_never_5xx(gateway: Gateway, body: dict[str, object]) -> None:
    response = await send(gateway, post(json.dumps(body, allow_nan=True).encode()))
    assert response.status < 500, await response.text()


@FUZZ
@given(body=st.binary(max_size=300))
async def test_signed_random_bytes_never_5xx(gateway: Gateway, body: bytes) -> None:
    response = await send(gateway, post(body))
    assert response.status < 500, await response.text()

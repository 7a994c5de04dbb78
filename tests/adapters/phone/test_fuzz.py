"""Whatever the CTI (or anyone) posts to the events endpoint, the answer is never a 5xx."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.adapters.phone.conftest import BEARER, EVENTS
from tests.conftest import Gateway

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=40))
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)
events = st.fixed_dictionaries(
    {"event": st.sampled_from(["newCall", "answer", "hangup", "workOrder", "voicemail", "other", ""])},
    optional={
        name: st.one_of(st.text(max_size=30), values)
        for name in (
            "callId",
            "from",
            "to",
            "direction",
            "user",
            "cause",
            "callerName",
            "content",
            "address",
            "category",
            "appealType",
            "urgency",
            "transcript",
            "recordingUrl",
        )
    },
)
bodies = st.one_of(
    st.binary(max_size=300),
    events.map(lambda v: json.dumps(v).encode()),
    values.map(lambda v: json.dumps(v).encode()),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=bodies,
    content_type=st.sampled_from(["application/json", "application/x-www-form-urlencoded", "text/plain"]),
    auth=st.booleans(),
)
async def test_events_never_answer_5xx(gateway: Gateway, body: bytes, content_type: str, auth: bool) -> None:
    headers = {"Content-Type": content_type} | (BEARER if auth else {"Authorization": "Bearer forged"})
    response = await gateway.client.post(EVENTS, data=body, headers=headers)
    assert response.status < 500, await response.text()
    assert response.status != 401 if auth else response.status == 401
    assert response.content_type == "application/json"

"""Every provider's decoder refuses only with BadRequest (the endpoint's fuzz run is in the kit)."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.sms.decode import decode_push, to_draft
from gateway.errors import BadRequest

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=40))
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
sms_items = st.fixed_dictionaries(
    {},
    optional={
        "phone_number": st.one_of(st.text(max_size=20), st.integers(), json_values),
        "send_time": st.one_of(st.text(max_size=25), st.integers()),
        "content": st.one_of(st.text(max_size=80), json_values),
        "sign_name": st.text(max_size=10),
        "dest_code": st.text(max_size=8),
        "sequence_id": st.one_of(st.integers(), st.text(max_size=30), json_values),
    },
)
bodies = st.one_of(
    st.binary(max_size=300),
    st.lists(sms_items, max_size=4).map(lambda v: json.dumps(v).encode()),
    sms_items.map(lambda v: json.dumps(v).encode()),
    json_values.map(lambda v: json.dumps(v).encode()),
)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(provider=st.sampled_from(["aliyun", "tencent", "form"]), body=bodies)
def test_every_provider_decoder_refuses_only_with_bad_request(provider: str, body: bytes) -> None:
    try:
        good, _ = decode_push(provider, body)
        for sms in good:
            to_draft(sms)
    except BadRequest:
        pass

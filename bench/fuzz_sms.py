"""Fuzz target: the SMS provider's uplink callback (``/channels/sms-12345/uplink``).

Aliyun SmsUp batches (the sample channel's provider) whose messages are plausible or hostile, as
JSON arrays or single objects, forms, hostile bodies; a wrong or missing token.
Run: ``.venv/bin/python -m bench.fuzz sms`` (see ``bench/fuzz.py``).
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from bench.fuzz import TEXT, Req, body, fields_of, form, secret, settings_of

PATH = "/channels/sms-12345/uplink"
PLAUSIBLE = {
    "phone_number": st.sampled_from(["13912341234", "+8613912341234", "１３９１２３４１２３４", "²"]) | TEXT,
    "content": st.sampled_from(["胜利路路灯坏了"]) | TEXT,
    "send_time": st.sampled_from(["2026-11-28 13:20:00", "20261128132000", "²"]) | TEXT,
    "sequence_id": st.integers(0, 10**25) | TEXT,
}
FIELDS = ("phone_number", "send_time", "content", "sign_name", "dest_code", "sequence_id")


def requests(config: Any) -> st.SearchStrategy[Req]:
    token = secret(settings_of(config, "sms-12345").token)
    tokens = st.sampled_from([token, token, token, "wrong", ""])
    base = {"phone_number": "13912341234", "content": "胜利路路灯坏了", "sequence_id": 1, "send_time": ""}
    item = fields_of(FIELDS, PLAUSIBLE, base)
    batches = st.lists(item, max_size=4) | item
    content_types = st.sampled_from(["application/json", "application/x-www-form-urlencoded", "text/plain"])
    return st.one_of(
        st.builds(
            lambda b, t, c: Req("POST", PATH, b, {"Content-Type": c}, {"token": t}),
            body(batches),
            tokens,
            content_types,
        ),
        st.builds(
            lambda b, t: Req(
                "POST", PATH, b, {"Content-Type": "application/x-www-form-urlencoded"}, {"token": t}
            ),
            form(fields_of(("mobile", "content", "msgid", "time"), {})),
            tokens,
        ),
    )

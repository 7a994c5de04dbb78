"""Fuzz target: the call centre's CTI posts (``/channels/phone-12345/events``).

Call events, work orders and voicemails, as JSON or forms, whose fields are plausible or hostile
(an unknown urgency or appeal type must still be accepted), hostile bodies; a wrong token, in the
``Authorization`` header or in the declared ``?token=`` query parameter (``CtiQuery``).
Run: ``.venv/bin/python -m bench.fuzz phone`` (see ``bench/fuzz.py``).
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from bench.fuzz import HEADER_TEXT, TEXT, Req, body, fields_of, form, secret, settings_of

PATH = "/channels/phone-12345/events"
FIELDS = (
    "event", "callId", "from", "to", "direction", "user", "cause", "callerName", "content", "address",
    "category", "appealType", "urgency", "transcript", "recordingUrl",
)  # fmt: skip
PLAUSIBLE = {
    "event": st.sampled_from(["newCall", "answer", "hangup", "workOrder", "voicemail", "transfer"]),
    "callId": st.sampled_from(["c-1", "c-2", "²"]) | TEXT,
    "from": st.sampled_from(["13912341234", "0552-1234567", "１３９"]) | TEXT,
    "content": st.sampled_from(["胜利路路灯坏了"]) | TEXT,
    "urgency": st.sampled_from(["紧急", "特特急", "very", ""]) | TEXT,
    "appealType": st.sampled_from(["投诉", "闲聊"]) | TEXT,
    "recordingUrl": st.sampled_from(["https://cti.example.cn/r/1.mp3", "file:///etc/passwd"]) | TEXT,
}


def requests(config: Any) -> st.SearchStrategy[Req]:
    token = secret(settings_of(config, "phone-12345").token)
    auth = st.sampled_from([f"Bearer {token}"] * 3 + ["Bearer forged", ""]) | HEADER_TEXT.map(
        "Bearer ".__add__
    )
    base = {"event": "workOrder", "callId": "c-1", "from": "13912341234", "content": "胜利路路灯坏了"}
    events = fields_of(FIELDS, PLAUSIBLE, base)
    return st.one_of(
        st.builds(
            lambda b, a: Req("POST", PATH, b, {"Content-Type": "application/json", "Authorization": a}),
            body(events),
            auth,
        ),
        st.builds(
            lambda b, a: Req(
                "POST", PATH, b, {"Content-Type": "application/x-www-form-urlencoded", "Authorization": a}
            ),
            form(events),
            auth,
        ),
        st.builds(  # no header: the token in the query, right, wrong or hostile
            lambda b, t: Req("POST", PATH, b, {"Content-Type": "application/json"}, {"token": t}),
            body(events),
            st.sampled_from([token, token, "forged", "", "x" * 300]) | TEXT,
        ),
    )

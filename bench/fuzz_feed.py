"""Fuzz target: an upstream platform's push (``/channels/governor-hotline``).

Work orders signed with the channel's app key and secret (a fresh nonce each) whose fields are
plausible or hostile (epoch times in Unicode digits, deadlines that are not dates, nested values),
hostile bodies; headers with a wrong signature, a timestamp in Unicode digits or far off, a reused
nonce (none of these may be parsed before the signature is checked).
Run: ``.venv/bin/python -m bench.fuzz feed`` (see ``bench/fuzz.py``).
"""

from __future__ import annotations

import time
from typing import Any

from hypothesis import strategies as st

from adapters.feed.decode import set_path, signed_headers
from bench.fuzz import HEADER_TEXT, TEXT, Req, body, fields_of, nonce, secret, settings_of

CHANNEL = "governor-hotline"
PATH = f"/channels/{CHANNEL}"


def requests(config: Any) -> st.SearchStrategy[Req]:
    s = settings_of(config, CHANNEL)
    app_key, app_secret = s.app_key, secret(s.app_secret)
    f = s.fields
    names = tuple(
        path.split(".")[0]
        for path in (
            f.number,
            f.content,
            f.title,
            f.phone,
            f.name,
            f.address,
            f.category,
            f.deadline,
            f.created_at,
        )
        if path
    )
    times = st.sampled_from(["2026-11-28 13:20:00", "1764300000", "1764300000000", "²³", "nan"]) | TEXT
    plausible = {
        f.number.split(".")[0]: st.integers(0, 10**30) | TEXT,
        "deadline": times,
        "created_at": times,
    }
    base: dict[str, Any] = {}
    for path, value in ((f.number, "AH-FUZZ-1"), (f.content, "燃气管道漏气"), (f.phone, "13912341234")):
        if path:
            set_path(base, path, value)
    orders = fields_of(names, plausible, base)

    def signed(data: bytes, once: str | None = None) -> Req:
        headers = signed_headers(app_key, app_secret, int(time.time()), once or nonce(), data)
        return Req("POST", PATH, data, {"Content-Type": "application/json"} | headers)

    def tampered(data: bytes, stamp: str, signature: str) -> Req:
        headers = {"X-App-Key": app_key, "X-Timestamp": stamp, "X-Nonce": nonce(), "X-Signature": signature}
        return Req("POST", PATH, data, {"Content-Type": "application/json"} | headers)

    return st.one_of(
        body(orders).map(signed),
        body(orders).map(signed),
        body(orders).map(lambda data: signed(data, "reused-nonce")),
        st.builds(tampered, body(orders), st.sampled_from(["²", "nan", "1" * 30]) | HEADER_TEXT, HEADER_TEXT),
    )

"""Fuzz target: the government Weibo account's push URL (``/channels/weibo-gov``).

Signed pushes (timestamps in seconds and milliseconds, a fresh nonce each) whose JSON is plausible
or hostile (uids with Unicode digits, ``created_at`` that is not a date, coordinates that are not
numbers, nested ``data``), hostile bodies, replayed nonces, unsigned queries, URL verification GETs.
Run: ``.venv/bin/python -m bench.fuzz weibo`` (see ``bench/fuzz.py``).
"""

from __future__ import annotations

import time
from typing import Any

from hypothesis import strategies as st

from adapters.signatures import sorted_sha1
from bench.fuzz import SCALARS, TEXT, Req, body, fields_of, nonce, secret, settings_of, values

PATH = "/channels/weibo-gov"
JSON = {"Content-Type": "application/json"}
UID = st.integers(1, 10**12) | st.sampled_from(["²", "５６１", "-1", "1" * 40, True])
PLAUSIBLE = {
    "type": st.sampled_from(["text", "position", "voice", "image", "event", "mention"]),
    "sender_id": UID,
    "receiver_id": UID,
    "created_at": st.sampled_from(["Sat Nov 28 13:20:00 +0800 2026", "Sat Nov 28 13:20:00 +9999 2026", "²"]),
    "text": st.sampled_from(["小区门口路灯坏了"]) | TEXT,
    "data": st.fixed_dictionaries(
        {},
        optional={
            k: SCALARS | values() for k in ("longitude", "latitude", "vfid", "tovfid", "subtype", "key")
        },
    ),
}


def requests(config: Any) -> st.SearchStrategy[Req]:
    app_secret = secret(settings_of(config, "weibo-gov").app_secret)

    def query(ms: bool, once: str | None = None) -> dict[str, str]:
        stamp = str(int(time.time() * 1000) if ms else int(time.time()))
        once = once or nonce()
        return {"signature": sorted_sha1(app_secret, stamp, once), "timestamp": stamp, "nonce": once}

    base = {
        "type": "text",
        "receiver_id": 5617823042,
        "sender_id": 2489518277,
        "created_at": "Sat Nov 28 13:20:00 +0800 2026",
        "text": "小区门口路灯坏了",
        "data": {},
    }
    pushes = fields_of(tuple(PLAUSIBLE), PLAUSIBLE, base)
    queries = st.dictionaries(
        st.sampled_from(["signature", "timestamp", "nonce", "echostr"]), TEXT, max_size=4
    )
    return st.one_of(
        st.builds(lambda b, ms: Req("POST", PATH, b, JSON, query(ms)), body(pushes), st.booleans()),
        st.builds(lambda b, ms: Req("POST", PATH, b, JSON, query(ms)), body(pushes), st.booleans()),
        st.builds(lambda b: Req("POST", PATH, b, JSON, query(False, "replayed-nonce")), body(pushes)),
        st.builds(lambda q, b: Req("POST", PATH, b, JSON, q), queries, st.binary(max_size=200)),
        st.builds(lambda q: Req("GET", PATH, params=q), queries),
        st.builds(lambda e, ms: Req("GET", PATH, params=query(ms) | {"echostr": e}), TEXT, st.booleans()),
    )

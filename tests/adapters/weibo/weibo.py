"""Plays Weibo's side: signs pushes as Weibo's fans-service platform does."""

from __future__ import annotations

import hashlib
import itertools
import json
import time
import uuid
from datetime import datetime
from typing import Any
from urllib.parse import unquote

from normalizer import SHANGHAI
from tests.conformance.kit import Req

CHANNEL = "weibo-gov"
PATH = f"/channels/{CHANNEL}"
SECRET = "demo-weibo-app-secret"  # the sample configuration's demo value (channels.yaml)
ACCOUNT_UID = 5617823042
CITIZEN_UID = 2489518277
_seconds = itertools.count(int(time.time()) - 100000)


def sign(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def query(secret: str = SECRET, timestamp: int | None = None) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    nonce = uuid.uuid4().hex[:10]
    return {"signature": sign(secret, ts, nonce), "timestamp": ts, "nonce": nonce}


def created_at(epoch: int | None = None) -> str:
    """Weibo's ``created_at``; each call without ``epoch`` gives a new second (a new message)."""
    moment = datetime.fromtimestamp(next(_seconds) if epoch is None else epoch, SHANGHAI)
    return moment.strftime("%a %b %d %H:%M:%S %z %Y")


def push(
    kind: str = "text", *, text: str = "", data: dict[str, Any] | None = None, **more: Any
) -> dict[str, Any]:
    return {
        "type": kind,
        "receiver_id": ACCOUNT_UID,
        "sender_id": CITIZEN_UID,
        "created_at": created_at(),
        "text": text,
        "data": data or {},
    } | more


def post(body: dict[str, Any] | bytes, secret: str = SECRET) -> Req:
    data = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    return Req("POST", PATH, {"Content-Type": "application/json"}, data, query(secret))


def reply_text(reply: dict[str, Any]) -> str:
    """The text of a passive reply (its ``data`` is URL-encoded JSON)."""
    text: str = json.loads(unquote(reply["data"]))["text"]
    return text

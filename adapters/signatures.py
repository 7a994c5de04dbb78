"""Signature checks shared by several kinds' platforms (each kind still decides when to call them).

WeChat official accounts and Weibo's fans service both sign a callback's query string the same way:
``signature = sha1(''.join(sorted([secret, timestamp, nonce])))``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping

from aiohttp import web

from gateway.errors import BadRequest, Unauthorized


def sorted_sha1(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def verify_sorted_sha1(
    query: Mapping[str, str],
    secret: str,
    *,
    now: float,
    tolerance: float,
    seconds: Callable[[str], int] = int,
) -> tuple[str, str]:
    """Check ``signature``/``timestamp``/``nonce`` in ``query``; returns (timestamp, nonce). Raises
    Unauthorized whose ``detail["reason"]`` is ``unsigned``, ``bad_signature`` or ``stale_timestamp``.
    ``seconds`` turns the platform's timestamp into epoch seconds; ``tolerance`` 0 skips that check."""
    signature, timestamp, nonce = (query.get(n, "") for n in ("signature", "timestamp", "nonce"))
    if not (signature and timestamp and nonce):
        raise Unauthorized("signature, timestamp and nonce are required", reason="unsigned")
    if not hmac.compare_digest(sorted_sha1(secret, timestamp, nonce).encode(), signature.encode()):
        raise Unauthorized("the signature does not match", reason="bad_signature")
    if tolerance and (not timestamp.isdigit() or abs(now - seconds(timestamp)) > tolerance):
        raise Unauthorized("the timestamp is too far from now", reason="stale_timestamp")
    return timestamp, nonce


def echo(query: Mapping[str, str]) -> web.Response:
    """The answer to a platform's URL verification: ``echostr`` back, as plain text (call it only
    after the signature was verified)."""
    echostr = query.get("echostr", "")
    if not echostr or len(echostr) > 256:
        raise BadRequest("echostr is required")
    return web.Response(text=echostr, content_type="text/plain")

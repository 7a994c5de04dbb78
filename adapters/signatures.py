"""Signature checks shared by several kinds' platforms (each kind still decides when to call them).

WeChat official accounts and Weibo's fans service both sign a callback's query string the same way:
``signature = sha1(''.join(sorted([secret, timestamp, nonce])))``. The signature is compared first;
only then is anything of the query parsed (:class:`SignedQuery`, the declared model of that query).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

import redis.asyncio as aioredis
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from adapters.parsing import Digits, validated
from gateway.errors import Unauthorized

MS_DIGITS = 13
"""A timestamp of 13 digits or more is in milliseconds (seconds reach 13 digits in the year 33658)."""


class SignedQuery(BaseModel):
    """The signed query of a WeChat or Weibo callback (other parameters are the kind's own)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    signature: str = Field(max_length=64)
    timestamp: Digits = Field(description="Unix time in seconds, or in milliseconds (13 digits).")
    nonce: str = Field(min_length=1, max_length=64)

    @property
    def seconds(self) -> float:
        value = int(self.timestamp)
        return value / 1000 if len(self.timestamp) >= MS_DIGITS else float(value)


class UrlVerification(SignedQuery):
    """The declared query of a platform's URL verification (a signed ``GET``)."""

    echostr: str = Field(min_length=1, max_length=256, description="Answered back as text/plain.")


def as_bytes(text: str) -> bytes:
    """Text from a request as bytes, whatever it holds: aiohttp keeps header bytes that are not UTF-8
    as lone surrogates, which a plain ``encode()`` refuses (a 500 before any secret was checked)."""
    return text.encode("utf-8", "surrogatepass")


def same(given: str, expected: str) -> bool:
    """A credential from a request compared with ours, in constant time."""
    return hmac.compare_digest(as_bytes(given), as_bytes(expected))


def sorted_sha1(*parts: str) -> str:
    return hashlib.sha1(as_bytes("".join(sorted(parts)))).hexdigest()


def verify_sorted_sha1(query: Mapping[str, str], secret: str, *, now: float, tolerance: float) -> SignedQuery:
    """Check ``signature``/``timestamp``/``nonce`` in ``query``. Raises Unauthorized whose
    ``detail["reason"]`` is ``unsigned``, ``bad_signature`` or ``stale_timestamp``; ``tolerance`` 0
    skips the timestamp check."""
    signature, timestamp, nonce = (query.get(n, "") for n in ("signature", "timestamp", "nonce"))
    if not (signature and timestamp and nonce):
        raise Unauthorized("signature, timestamp and nonce are required", reason="unsigned")
    if not same(signature, sorted_sha1(secret, timestamp, nonce)):
        raise Unauthorized("the signature does not match", reason="bad_signature")
    try:
        signed = SignedQuery.model_validate(dict(query))
    except ValidationError:
        raise Unauthorized("the timestamp or nonce is not valid", reason="stale_timestamp") from None
    if tolerance and abs(now - signed.seconds) > tolerance:
        raise Unauthorized("the timestamp is too far from now", reason="stale_timestamp")
    return signed


async def remember_nonce(redis: aioredis.Redis, key: str, timestamp: str, *, seconds: float) -> None:
    """A signed query is good once: the nonce is kept for ``seconds`` (twice the timestamp tolerance,
    so a query can never outlive its nonce); a second use is refused as a replay."""
    if not await redis.set(key, timestamp, nx=True, ex=max(int(seconds), 1)):
        raise Unauthorized("the nonce was used already: a replayed request", reason="replayed")


def echo(query: Mapping[str, str]) -> web.Response:
    """The answer to a platform's URL verification: ``echostr`` back, as plain text (call it only
    after the signature was verified). A missing or over-long ``echostr`` is a 400."""
    verification = validated(UrlVerification, dict(query))
    return web.Response(text=verification.echostr, content_type="text/plain")

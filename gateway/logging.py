"""Structured JSON logs (structlog). Phone numbers are masked (139****1234); ID numbers and secrets
never appear: values under secret-like keys are replaced, and any text is scrubbed. Every line's
``timestamp`` is ISO 8601 with its offset, in the centre's time zone (+08:00), as appeals are.

``serve`` also writes one ``http.access`` line per request (:class:`AccessLogger`): method, path, the
query string with secret-like parameters masked (``token``, ``api_key``, ``signature``, ...), status,
duration, bytes sent, and the client address truncated to its network (IPv4 /24, IPv6 /48).
"""

from __future__ import annotations

import ipaddress
import json
import logging
import re
import sys
from collections.abc import MutableMapping
from datetime import datetime
from typing import Any

import orjson
import structlog
from aiohttp.abc import AbstractAccessLogger
from aiohttp.web import BaseRequest, StreamResponse

from normalizer import SHANGHAI
from normalizer.phone import mask_phone

_SECRET_KEY = re.compile(r"secret|token|password|api_key|authorization|aes_key", re.IGNORECASE)
_ID_NUMBER = re.compile(r"(?<!\d)\d{6}(?:19|20)\d{2}(?:0[1-9]|1[0-2])\d{2}\d{3}[\dXx](?!\d)")
_MOBILE = re.compile(r"(?<!\d)(?:\+?86)?1[3-9]\d{9}(?!\d)")
_WHSEC = re.compile(r"whsec_[A-Za-z0-9+/=]+|hlu_[A-Za-z0-9_-]+")
_SECRET_PARAM = re.compile(r"token|key|secret|sign|password|passwd|auth|ticket|session|echostr", re.I)
QUERY_LOGGED = 500
"""Characters of a query string an access line keeps."""
_MAYBE = re.compile(r"\d{11}|whsec_|hlu_")  # what each of the three needs; most values have none


def scrub(text: str) -> str:
    if not _MAYBE.search(text):
        return text
    text = _ID_NUMBER.sub(lambda m: m.group(0)[:4] + "**********" + m.group(0)[-4:], text)
    text = _MOBILE.sub(lambda m: mask_phone(m.group(0)), text)
    return _WHSEC.sub("***", text)


def _clean(key: str, value: Any) -> Any:
    if _SECRET_KEY.search(key):
        return "***"
    if key == "phone" and isinstance(value, str):
        return mask_phone(value)
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {k: _clean(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(key, v) for v in value]
    return value


def redact(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in list(event):
        event[key] = _clean(key, event[key])
    return event


def timestamp(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    event["timestamp"] = datetime.now(SHANGHAI).isoformat(timespec="milliseconds")
    return event


def masked_query(query_string: str) -> str:
    """A raw query string with the values of secret-like parameters replaced by ``***``."""
    pairs = []
    for pair in query_string[: QUERY_LOGGED * 2].split("&"):
        name, eq, _value = pair.partition("=")
        pairs.append(f"{name}{eq}***" if eq and _SECRET_PARAM.search(name) else pair)
    return "&".join(pairs)[:QUERY_LOGGED]


def network_of(address: str | None) -> str | None:
    """A client address cut to its network: enough to see abuse, not to name a person."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return None
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


class AccessLogger(AbstractAccessLogger):
    """aiohttp's access log as structured ``http.access`` lines."""

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        structlog.get_logger("access").info(
            "http.access",
            method=request.method,
            path=request.path[:QUERY_LOGGED],
            query=masked_query(request.query_string) or None,
            status=response.status,
            duration_ms=round(time * 1000, 2),
            bytes_sent=response.body_length,
            client=network_of(request.remote),
        )


def _json(event: Any, **_: Any) -> str:
    """orjson (a third of ``json.dumps``' time); what it cannot write (an int beyond 64 bits)
    goes the slow way."""
    try:
        return orjson.dumps(event, default=repr, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        return json.dumps(event, default=repr, ensure_ascii=False)


def configure(level: str = "INFO", stream: Any = None) -> None:
    logging.basicConfig(format="%(message)s", stream=stream or sys.stdout, level=level)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            timestamp,
            structlog.processors.format_exc_info,
            redact,
            structlog.processors.JSONRenderer(_json),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(stream or sys.stdout),
        cache_logger_on_first_use=False,
    )

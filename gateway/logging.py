"""Structured JSON logs (structlog). Phone numbers are masked (139****1234); ID numbers and secrets
never appear: values under secret-like keys are replaced, and any text is scrubbed."""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import orjson
import structlog

from normalizer.phone import mask_phone

_SECRET_KEY = re.compile(r"secret|token|password|api_key|authorization|aes_key", re.IGNORECASE)
_ID_NUMBER = re.compile(r"(?<!\d)\d{6}(?:19|20)\d{2}(?:0[1-9]|1[0-2])\d{2}\d{3}[\dXx](?!\d)")
_MOBILE = re.compile(r"(?<!\d)(?:\+?86)?1[3-9]\d{9}(?!\d)")
_WHSEC = re.compile(r"whsec_[A-Za-z0-9+/=]+|hlu_[A-Za-z0-9_-]+")
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
            structlog.processors.TimeStamper(fmt="iso", utc=False),
            structlog.processors.format_exc_info,
            redact,
            structlog.processors.JSONRenderer(_json),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(stream or sys.stdout),
        cache_logger_on_first_use=False,
    )

"""JSON answers that keep Chinese text readable (UTF-8, not ``\\uXXXX`` escapes)."""

from __future__ import annotations

import functools
import json
from typing import Any

from aiohttp import web

dumps = functools.partial(json.dumps, ensure_ascii=False)


def json_response(data: Any, **kwargs: Any) -> web.Response:
    return web.json_response(data, dumps=dumps, **kwargs)

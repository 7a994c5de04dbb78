"""All outbound I/O of a ``feed`` channel: pulling pages of work orders and posting write-backs.

Every request is signed (``decode.signed_headers``). Errors: :class:`TransientError` (network,
timeout, 5xx, 429, an answer we cannot read: try later), :class:`AdapterAuthError` (401/403: the
platform refuses our app key), :class:`BadMessage` (another 4xx, or a 2xx whose result code refuses).
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any
from urllib.parse import quote

import aiohttp

from adapters.feed.config import FeedConfig, PullSettings
from adapters.feed.decode import Page, accepted, parse_page, signed_headers
from adapters.session import LazySession
from gateway.errors import AdapterAuthError, BadMessage, BadRequest, TransientError


class FeedClient:
    def __init__(self, settings: FeedConfig) -> None:
        self.settings = settings
        self._client = LazySession(aiohttp.ClientTimeout(total=settings.timeout_seconds))

    def _headers(self, body: bytes) -> dict[str, str]:
        s = self.settings
        return signed_headers(
            s.app_key, s.app_secret.get_secret_value(), int(time.time()), uuid.uuid4().hex, body
        )

    def url(self, path: str) -> str:
        return self.settings.base_url.rstrip("/") + "/" + path.lstrip("/")

    async def _request(self, method: str, url: str, body: bytes, params: dict[str, str] | None) -> bytes:
        headers = self._headers(body)
        if body:
            headers["Content-Type"] = "application/json"
        try:
            async with self._client().request(
                method, url, data=body or None, params=params, headers=headers
            ) as r:
                answer = await r.read()
                status = r.status
        except (aiohttp.ClientError, TimeoutError) as e:
            raise TransientError(f"the platform is unreachable: {type(e).__name__}") from e
        if status in (401, 403):
            raise AdapterAuthError(f"the platform refused our app key ({status})", status=status)
        if status == 429 or status >= 500:
            raise TransientError(f"the platform answered {status}", status=status)
        if status >= 300:
            raise BadMessage(f"the platform answered {status}: {answer[:200]!r}", status=status)
        return answer

    async def fetch(self, cursor: str, pull: PullSettings) -> Page:
        params = {pull.limit_param: str(pull.page_size)}
        if cursor:
            params[pull.cursor_param] = cursor
        answer = await self._request("GET", self.url(pull.path), b"", params)
        try:
            return parse_page(answer, pull)
        except BadRequest as e:
            raise TransientError(f"the platform's page is not the configured shape: {e.message}") from None

    async def write_back(self, number: str, body: dict[str, Any]) -> None:
        wb = self.settings.writeback
        url = self.url(wb.path.replace("{number}", quote(number, safe="")))
        data = json.dumps(body, ensure_ascii=False).encode()
        answer = await self._request("POST", url, data, None)
        if not accepted(answer, wb):
            raise BadMessage(f"the platform did not accept the write-back: {answer[:200]!r}")

    async def aclose(self) -> None:
        await self._client.aclose()

"""All of the ``wechat`` kind's outbound I/O: WeChat's HTTP API over aiohttp.

wechatpy's own client is synchronous, so it is never used here. The access token is cached in Redis
(shared by every gateway process, kept across restarts) until shortly before it expires; a call
answered with a token error (40001, 40014, 42001) drops the cached token, fetches a new one and is
tried once more. Errors are translated into the gateway's tree:

* :class:`OutsideWindow` (a ``BadMessage``): 45015, the citizen's 48-hour window has passed;
* ``AdapterAuthError``: WeChat refused our AppID/AppSecret (or our address is not allow-listed);
* ``TransientError``: WeChat unreachable, busy (-1) or answering something that is not its JSON;
* :class:`WechatApiError` (a ``BadMessage``): any other errcode, kept in ``detail``.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

import aiohttp

from adapters.session import LazySession
from gateway.errors import AdapterAuthError, BadMessage, TransientError

if TYPE_CHECKING:
    import redis.asyncio as aioredis

TOKEN_ERRORS = {40001, 40014, 42001}
AUTH_ERRORS = {40013, 40125, 40164, 41002, 41004, 40243}
OUT_OF_WINDOW = 45015
EXPIRY_MARGIN = 300  # seconds: refresh this long before WeChat's expiry


class WechatApiError(BadMessage):
    code = "wechat_api"


class OutsideWindow(WechatApiError):
    code = "wechat_outside_window"


class WechatApi:
    """WeChat's API for one official account. Creates its HTTP session on first use."""

    def __init__(
        self,
        *,
        base_url: str,
        app_id: str,
        app_secret: str,
        redis: aioredis.Redis,
        token_key: str,
        timeout: float,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.app_id = app_id
        self._secret = app_secret
        self.redis = redis
        self.token_key = token_key
        self._http = LazySession(aiohttp.ClientTimeout(total=timeout))
        self._lock = asyncio.Lock()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _call(self, method: str, path: str, params: dict[str, str], body: Any = None) -> Any:
        data = json.dumps(body, ensure_ascii=False).encode() if body is not None else None
        headers = {"Content-Type": "application/json; charset=utf-8"} if data is not None else {}
        try:
            async with self._http().request(
                method, self.base_url + path, params=params, data=data, headers=headers
            ) as response:
                if response.status >= 500:
                    raise TransientError(f"WeChat answered HTTP {response.status}", retry_after=30)
                payload = json.loads(await response.read())
        except (aiohttp.ClientError, TimeoutError) as e:
            raise TransientError(f"WeChat cannot be reached: {type(e).__name__}", retry_after=30) from e
        except (ValueError, UnicodeDecodeError) as e:
            raise TransientError("WeChat answered something that is not JSON", retry_after=30) from e
        if not isinstance(payload, dict):
            raise TransientError("WeChat answered something that is not a JSON object", retry_after=30)
        return payload

    @staticmethod
    def _raise_for(payload: dict[str, Any]) -> None:
        errcode = payload.get("errcode", 0)
        if errcode in (0, None):
            return
        errmsg = str(payload.get("errmsg", ""))[:200]
        if errcode == -1:
            raise TransientError(f"WeChat is busy: {errmsg}", retry_after=30, errcode=errcode)
        if errcode in AUTH_ERRORS:
            raise AdapterAuthError(f"WeChat refused our credential: {errcode} {errmsg}", errcode=errcode)
        if errcode == OUT_OF_WINDOW:
            raise OutsideWindow(f"outside the 48-hour window: {errmsg}", errcode=errcode)
        raise WechatApiError(f"WeChat error {errcode}: {errmsg}", errcode=errcode)

    async def token(self) -> str:
        """The access token: from Redis, else fetched (once, however many callers wait)."""
        cached = await self.redis.get(self.token_key)
        if cached is not None:
            return cached.decode() if isinstance(cached, bytes) else str(cached)
        async with self._lock:
            cached = await self.redis.get(self.token_key)
            if cached is not None:
                return cached.decode() if isinstance(cached, bytes) else str(cached)
            payload = await self._call(
                "GET",
                "/cgi-bin/token",
                {"grant_type": "client_credential", "appid": self.app_id, "secret": self._secret},
            )
            self._raise_for(payload)
            token = payload.get("access_token")
            if not isinstance(token, str) or not token:
                raise TransientError("WeChat's token answer carries no access_token", retry_after=30)
            expires = payload.get("expires_in", 7200)
            ttl = max(60, int(expires) - EXPIRY_MARGIN) if isinstance(expires, int) else 600
            await self.redis.set(self.token_key, token, ex=ttl)
            return token

    async def _drop_token(self, token: str) -> None:
        cached = await self.redis.get(self.token_key)
        if cached is not None and (cached.decode() if isinstance(cached, bytes) else cached) == token:
            await self.redis.delete(self.token_key)

    async def _with_token(self, path: str, body: Any) -> dict[str, Any]:
        for attempt in (1, 2):
            token = await self.token()
            payload: dict[str, Any] = await self._call("POST", path, {"access_token": token}, body)
            if payload.get("errcode") in TOKEN_ERRORS and attempt == 1:
                await self._drop_token(token)
                continue
            self._raise_for(payload)
            return payload
        raise AssertionError("unreachable")  # pragma: no cover

    async def send_text(self, openid: str, text: str) -> None:
        """客服消息: a text message to a citizen (within 48 hours of their last message)."""
        body = {"touser": openid, "msgtype": "text", "text": {"content": text}}
        await self._with_token("/cgi-bin/message/custom/send", body)

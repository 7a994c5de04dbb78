"""One outbound HTTP session per client, opened on first use and closed by ``aclose()``. After
``aclose()`` it opens no new one (raising :class:`TransientError`): a task that outlived its
adapter's stop (a cancel lost inside a call) must not leave a session that nobody closes."""

from __future__ import annotations

import aiohttp

from gateway.errors import TransientError


class LazySession:
    def __init__(self, timeout: aiohttp.ClientTimeout) -> None:
        self.timeout = timeout
        self._session: aiohttp.ClientSession | None = None
        self._closed = False

    def __call__(self) -> aiohttp.ClientSession:
        if self._closed:
            raise TransientError("the channel is stopping")
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        return self._session

    async def aclose(self) -> None:
        self._closed = True
        if self._session is not None:
            await self._session.close()
            self._session = None

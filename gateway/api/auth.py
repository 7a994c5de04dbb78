"""Bearer tokens: the operators' token from configuration, each unit's token from its credentials."""

from __future__ import annotations

import hmac

from aiohttp import web

from gateway.errors import Unauthorized


def bearer(request: web.Request) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send Authorization: Bearer <token>")
    return token.strip()


def require_token(request: web.Request, expected: str) -> None:
    if not hmac.compare_digest(bearer(request).encode(), expected.encode()):
        raise Unauthorized("the token is not valid")

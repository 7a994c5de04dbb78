"""Who is asking. An operator API accepts a personal token (``Authorization: Bearer hlk_...``, an
account of :mod:`gateway.accounts.store`, looked up on every request so a disabled account is refused
at once) or ``OPERATOR_TOKEN``, the bootstrap admin (actor ``operator`` in histories)."""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from aiohttp import web

from adapters.base import Handler
from gateway.accounts.store import BOOTSTRAP, TOKEN_PREFIX, AccountStore, Role
from gateway.api.auth import bearer
from gateway.errors import Forbidden, Unauthorized
from gateway.runtime import RUNTIME, Runtime


@dataclass(frozen=True)
class Principal:
    name: str
    role: Role


PRINCIPAL: web.RequestKey[Principal] = web.RequestKey("principal", Principal)
WORKERS = (Role.operator, Role.admin)  # who works appeals
READERS = (Role.operator, Role.admin, Role.supervisor)  # who may read (supervisors: masked)


@web.middleware
async def principals(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Resolve a personal token before the handler runs (other tokens pass untouched)."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() == "bearer" and token.startswith(TOKEN_PREFIX):
        request[PRINCIPAL] = await _account(request.app[RUNTIME], token)
    return await handler(request)


async def _account(runtime: Runtime, token: str) -> Principal:
    if runtime.records is None:
        raise Unauthorized("personal tokens need the record's database; none is configured")
    found = await AccountStore(runtime.records.engine).by_token(token)
    if found is None:
        raise Unauthorized("the token is not valid")
    name, role, disabled = found
    if disabled:
        raise Unauthorized(f"the account {name!r} is disabled")
    return Principal(name, role)


def principal(request: web.Request) -> Principal:
    """The caller: an account, or the bootstrap admin; 401 for anything else."""
    found: Principal | None = request.get(PRINCIPAL)
    if found is not None:
        return found
    expected = request.app[RUNTIME].config.gateway.operator_token.get_secret_value()
    if not hmac.compare_digest(bearer(request).encode(), expected.encode()):
        raise Unauthorized("the token is not valid")
    request[PRINCIPAL] = found = Principal(BOOTSTRAP, Role.admin)
    return found


def require(request: web.Request, roles: tuple[Role, ...] = WORKERS) -> Runtime:
    """The runtime, for a caller in one of ``roles``; 401 without a valid token, 403 outside them."""
    found = principal(request)
    if found.role not in roles:
        raise Forbidden(f"the {found.role.value} role may not do this", role=found.role.value)
    return request.app[RUNTIME]


def who(request: web.Request) -> str:
    """The actor of what the request does, for the appeal's history."""
    return principal(request).name

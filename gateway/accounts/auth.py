"""Who is asking. An operator API accepts a personal token (``Authorization: Bearer hlk_...``, an
account of :mod:`gateway.accounts.store`, looked up on every request so a disabled account is refused
at once), ``OPERATOR_TOKEN``, the bootstrap admin (actor ``operator`` in histories), or the
workbench's session cookie (:mod:`gateway.accounts.sessions`), whose state-changing requests must
carry the session's CSRF token in ``X-CSRF-Token``.

Every state-changing operator request that succeeds is written to the audit log with who made it
(the appeal's history names the actor too)."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any

import structlog
from aiohttp import web

from adapters.base import Handler
from gateway.accounts import audit
from gateway.accounts.sessions import COOKIE, COOKIE_PATH, Session, SessionStore
from gateway.accounts.store import BOOTSTRAP, TOKEN_PREFIX, AccountStore, Role
from gateway.api.auth import bearer
from gateway.errors import CsrfRefused, Forbidden, HotlineError, Unauthorized
from gateway.runtime import RUNTIME, Runtime

log = structlog.get_logger("accounts")


@dataclass(frozen=True)
class Principal:
    name: str
    role: Role


PRINCIPAL: web.RequestKey[Principal] = web.RequestKey("principal", Principal)
SESSION: web.RequestKey[Session] = web.RequestKey("session", Session)
SAFE = frozenset({"GET", "HEAD", "OPTIONS"})
SIGN_IN_PATH = "/api/v1/session"
WORKERS = (Role.operator, Role.admin)  # who works appeals
READERS = (Role.operator, Role.admin, Role.supervisor)  # who may read (supervisors: masked)


@web.middleware
async def principals(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Resolve a personal token or a session cookie before the handler runs (other tokens pass
    untouched); refuse a cookie's state-changing request without its CSRF token; audit actions."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() == "bearer" and token.startswith(TOKEN_PREFIX):
        request[PRINCIPAL] = await _account(request.app[RUNTIME], token)
    elif not header and COOKIE in request.cookies and request.path.startswith(COOKIE_PATH):
        await _session(request, request.cookies[COOKIE])
    response = await handler(request)
    found = request.get(PRINCIPAL)
    if found is not None and request.method not in SAFE and response.status < 400:
        await _audit_action(request, found)
    return response


async def _session(request: web.Request, token: str) -> None:
    runtime: Runtime = request.app[RUNTIME]
    if runtime.records is None:
        return
    session = await SessionStore(runtime.records.engine).find(token, runtime.clock())
    if session is None:
        return  # an ended session is no session: the route answers 401 where it needs one
    if request.method not in SAFE and request.path != SIGN_IN_PATH:
        sent = request.headers.get("X-CSRF-Token", "")
        if not hmac.compare_digest(sent.encode(), session.csrf.encode()):
            raise CsrfRefused("this request needs the session's CSRF token in the X-CSRF-Token header")
    request[SESSION] = session
    request[PRINCIPAL] = Principal(session.name, session.role)


async def audited(
    runtime: Runtime,
    who: Principal,
    action: str,
    appeal_no: str | None,
    *,
    allowed: bool = True,
    **detail: Any,
) -> None:
    """A row of the audit log: who did or read what (503 when the database cannot take it)."""
    engine = runtime.records.engine if runtime.records is not None else None
    await audit.write(
        engine,
        runtime.clock(),
        who.name,
        who.role.value,
        action,
        appeal_no=appeal_no,
        allowed=allowed,
        **detail,
    )


async def _audit_action(request: web.Request, who: Principal) -> None:
    """An action done (the history has it too): its row in the audit log; a failure is logged."""
    action = getattr(request.match_info.route.handler, "__name__", "action")[:40]
    appeal_no = request.match_info.get("appeal_no")
    try:
        await audited(request.app[RUNTIME], who, action, appeal_no, method=request.method, path=request.path)
    except HotlineError:
        log.error("audit.action_unrecorded", action=action, actor=who.name)


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

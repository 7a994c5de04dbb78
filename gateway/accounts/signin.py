"""Signing in to the workbench: ``POST /api/v1/session`` (name and password: a session cookie and the
CSRF token), ``GET /api/v1/session`` (who is signed in), ``DELETE /api/v1/session`` (sign out).

A wrong password, an unknown name and a disabled account get the same answer. Failures are counted
per account name and per client address over 15 minutes: from the fifth on, each further attempt must
wait (2, 4, 8 ... seconds, at most 5 minutes; ``429`` with ``Retry-After``), an alert is raised, and
every attempt is in the audit log. The bootstrap admin ``operator`` signs in with ``OPERATOR_TOKEN``
as its password (``make run``'s first sign-in). A success resets the name's count and resolves its alert."""

from __future__ import annotations

import hmac
from datetime import datetime

import structlog
from aiohttp import web
from pydantic import Field

from gateway.accounts import audit
from gateway.accounts.auth import READERS, SESSION, principal, require
from gateway.accounts.sessions import COOKIE, COOKIE_PATH, LIFETIME, Session, SessionStore
from gateway.accounts.store import BOOTSTRAP, AccountStore, Role
from gateway.api.declare import Declared, operation
from gateway.errors import RateLimited, TransientError, Unauthorized
from gateway.http import json_response
from gateway.runtime import RUNTIME, Runtime

routes = web.RouteTableDef()
log = structlog.get_logger("signin")

WINDOW = 15 * 60  # seconds over which failures count
FREE = 4  # failures before attempts are slowed
MAX_WAIT = 300
ADDRESS_FACTOR = 5  # an address may fail five times as often as one name (shared offices)
SIGN_IN, SIGN_IN_FAILED = "sign_in", "sign_in_failed"


class SignIn(Declared):
    name: str = Field(min_length=1, max_length=64, description="the account's name")
    password: str = Field(min_length=1, max_length=1024)


async def _waiting(runtime: Runtime, subject: str) -> int:
    """Seconds the subject must still wait before its next attempt (0: none)."""
    ttl = int(await runtime.redis.pttl(runtime.keys.signin_failures(subject) + ":wait"))
    return max(1, -(-ttl // 1000)) if ttl > 0 else 0


async def _failed(runtime: Runtime, subject: str, free: int) -> int:
    """Count a failure of the subject; from ``free`` on, later attempts wait. The count."""
    key = runtime.keys.signin_failures(subject)
    async with runtime.redis.pipeline(transaction=True) as pipe:
        pipe.incr(key)
        pipe.expire(key, WINDOW, nx=True)
        count = int((await pipe.execute())[0])
    if count >= free:
        wait = min(MAX_WAIT, 2 ** (count - free + 1))
        await runtime.redis.set(key + ":wait", "1", ex=wait)
    return count


async def _check(runtime: Runtime, name: str, password: str) -> Role | None:
    """The role of the account whose password this is; the bootstrap admin's is ``OPERATOR_TOKEN``."""
    if name == BOOTSTRAP:
        expected = runtime.config.gateway.operator_token.get_secret_value()
        return Role.admin if hmac.compare_digest(password.encode(), expected.encode()) else None
    assert runtime.records is not None
    return await AccountStore(runtime.records.engine).check_password(name, password)


def _cookie(request: web.Request, response: web.Response, token: str) -> None:
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(LIFETIME.total_seconds()),
        path=COOKIE_PATH,
        httponly=True,
        secure=request.secure,
        samesite="Strict",
    )


def _me(session: Session) -> dict[str, object]:
    return {
        "name": session.name,
        "role": session.role.value,
        "csrf": session.csrf,
        "expires_at": session.expires_at.isoformat(),
    }


@routes.post("/api/v1/session")
@operation(
    "operators",
    responses={401: "wrong name or password", 429: "too many failed sign-ins: wait", 503: "no database"},
)
async def sign_in(request: web.Request, body: SignIn) -> web.Response:
    """Sign in with a name and password: sets the HttpOnly session cookie and answers the CSRF token."""
    runtime = request.app[RUNTIME]
    if runtime.records is None:
        raise TransientError("signing in needs the record's database; none is configured")
    address = f"addr:{request.remote or 'unknown'}"
    name = f"name:{body.name}"
    wait = max(await _waiting(runtime, name), await _waiting(runtime, address))
    now: datetime = runtime.clock()
    engine = runtime.records.engine
    if wait:
        await audit.write(engine, now, body.name, "-", SIGN_IN_FAILED, allowed=False, reason="throttled")
        raise RateLimited("too many failed sign-ins; wait before trying again", retry_after=wait)
    role = await _check(runtime, body.name, body.password)
    if role is None:
        count = await _failed(runtime, name, FREE)
        await _failed(runtime, address, FREE * ADDRESS_FACTOR)
        await audit.write(engine, now, body.name, "-", SIGN_IN_FAILED, allowed=False, reason="wrong")
        log.warning("signin.failed", account=body.name, failures=count)
        if count >= FREE:
            await runtime.alerts.raise_(
                f"signin:{body.name}",
                "signin_failures",
                f"{count} failed sign-ins for account {body.name} within 15 min",
                account=body.name,
                failures=count,
            )
        raise Unauthorized("wrong name or password", reason="sign_in_failed")
    await runtime.redis.delete(
        runtime.keys.signin_failures(name), runtime.keys.signin_failures(name) + ":wait"
    )
    await runtime.alerts.resolve(f"signin:{body.name}", f"account {body.name} signed in")
    token, session = await SessionStore(engine).open(body.name, role, now)
    await audit.write(engine, now, body.name, role.value, SIGN_IN)
    log.info("signin.ok", account=body.name, role=role.value)
    response = json_response(_me(session))
    _cookie(request, response, token)
    return response


@routes.get("/api/v1/session")
@operation("operators", responses={401: "not signed in"})
async def whoami(request: web.Request) -> web.Response:
    """Who is signed in in this browser, the role and the CSRF token (401 when nobody)."""
    session: Session | None = request.get(SESSION)
    if session is None:
        found = principal(request)  # a token works too: no CSRF for it
        return json_response({"name": found.name, "role": found.role.value, "csrf": None})
    return json_response(_me(session))


@routes.delete("/api/v1/session")
@operation("operators", body_required=False, responses={401: "not signed in"})
async def sign_out(request: web.Request) -> web.Response:
    """Sign out: the session ends and its cookie is cleared."""
    require(request, READERS)
    token = request.cookies.get(COOKIE)
    runtime = request.app[RUNTIME]
    if token and runtime.records is not None:
        await SessionStore(runtime.records.engine).close(token)
    response = json_response({"signed_out": True})
    response.del_cookie(COOKIE, path=COOKIE_PATH)
    return response

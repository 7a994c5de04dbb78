"""How a route declares itself once: its query and body models, who may call it, what it answers.

A gateway handler names its models in its signature and ``@operation`` does the rest::

    @routes.get("/api/v1/units/{unit_id}/inbox")
    @operation("units", auth="unit")
    async def inbox(request: web.Request, query: InboxQuery) -> web.Response: ...

The query string is validated against the ``query`` parameter's model and a JSON body against the
``body`` parameter's model, both before the handler runs; a failure answers ``400`` (``413`` for a body
over the size limit, ``415`` for a body that is not JSON) with the field and the problem, and nothing is
stored. The same declaration is what ``/openapi.json`` describes (``gateway/openapi.py``), so the two
cannot drift.

An adapter kind parses its own protocol (forms, XML, signatures), so its routes only describe
themselves with ``@describe(...)`` on the handler (a method is fine): the declared models it already
validates with (``adapters.parsing.validated``) then reach the generated document at the channel's
mounted path, as query and header parameters and as the request body of each content type::

    @describe(query=WechatQuery, body={"application/xml": WechatPush}, responses={401: "..."})
    async def receive(self, request: web.Request) -> web.Response: ...

Bounds every model here keeps: finite numbers (``allow_inf_nan=False``), minimum and maximum on every
number, a maximum length on every string, unknown fields refused (``extra="forbid"``). JSON is read
with ``pydantic_core.from_json``: nesting deeper than 200, integers over 4,300 digits, NaN and
infinities, lone surrogates and bytes that are not UTF-8 are refused as ``400``.
"""

from __future__ import annotations

import functools
import typing
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic_core import from_json

from adapters.base import Handler
from gateway.errors import BadRequest, UnsupportedMediaType

Auth = Literal["operator", "unit"]
Endpoint = Callable[..., Awaitable[web.StreamResponse]]
"""A handler that takes its declared models as keyword arguments."""
E = TypeVar("E", bound=Endpoint)
ATTRIBUTE = "__hotline_operation__"
STRICT = ConfigDict(extra="forbid", allow_inf_nan=False)
"""The configuration every declared model shares."""


class Declared(BaseModel):
    """Base of the gateway's query and body models: unknown fields refused, numbers finite."""

    model_config = STRICT


@dataclass(frozen=True)
class Operation:
    """What ``/openapi.json`` says about one route."""

    tag: str
    summary: str
    description: str = ""
    auth: Auth | None = None
    query: type[BaseModel] | None = None
    body: Mapping[str, type[BaseModel] | None] = field(default_factory=dict)
    """The request body's model by content type; ``None``: a format of the platform's own (any)."""
    body_required: bool = True
    headers: type[BaseModel] | None = None
    """Request headers, each named by its field's alias (``X-Timestamp``)."""
    responses: Mapping[int, str] = field(default_factory=dict)

    def models(self) -> tuple[type[BaseModel], ...]:
        """Every model this operation names (for the document's ``components.schemas``)."""
        found = (self.query, self.headers, *self.body.values())
        return tuple(m for m in found if m is not None)


def operation_of(handler: object) -> Operation | None:
    """The declaration of a handler (or bound method), if it has one."""
    found = getattr(handler, ATTRIBUTE, None)
    return found if isinstance(found, Operation) else None


def _doc(fn: Callable[..., Any]) -> tuple[str, str]:
    lines = (fn.__doc__ or fn.__name__.replace("_", " ")).strip().split("\n\n", 1)
    summary = " ".join(lines[0].split())
    return summary, " ".join(lines[1].split()) if len(lines) > 1 else ""


def describe(
    tag: str = "channels",
    *,
    summary: str | None = None,
    query: type[BaseModel] | None = None,
    headers: type[BaseModel] | None = None,
    body: Mapping[str, type[BaseModel] | None] | None = None,
    responses: Mapping[int, str] | None = None,
) -> Callable[[E], E]:
    """Describe a route that parses its own request (adapter kinds); nothing about it changes. Name
    the models the handler validates with: ``query``, ``headers`` (fields named by their aliases)
    and ``body`` by content type (``{"application/xml": Model}``; ``None`` for a platform's own
    format). The summary is the docstring's first paragraph unless ``summary`` is given."""

    def mark(fn: E) -> E:
        first, rest = _doc(fn)
        op = Operation(
            tag,
            summary or first,
            rest,
            query=query,
            body=dict(body or {}),
            headers=headers,
            responses=responses or {},
        )
        setattr(fn, ATTRIBUTE, op)
        return fn

    return mark


def operation(
    tag: str,
    *,
    auth: Auth | None = None,
    body_required: bool = True,
    responses: Mapping[int, str] | None = None,
    guard: Callable[[web.Request], Awaitable[None]] | None = None,
) -> Callable[[Endpoint], Handler]:
    """Declare and enforce a gateway route's models: the handler's ``query`` and ``body``
    parameters, by their annotations; the summary is the docstring's first paragraph. ``guard``
    runs before anything is parsed (a rate limit that malformed requests count against)."""

    def wrap(fn: Endpoint) -> Handler:
        hints = typing.get_type_hints(fn)
        query, body = _model(hints.get("query")), _model(hints.get("body"))
        first, rest = _doc(fn)
        op = Operation(
            tag,
            first,
            rest,
            auth,
            query,
            {"application/json": body} if body is not None else {},
            body_required,
            responses=responses or {},
        )

        @functools.wraps(fn)
        async def handler(request: web.Request) -> web.StreamResponse:
            if guard is not None:
                await guard(request)
            kwargs: dict[str, BaseModel] = {}
            if query is not None:
                kwargs["query"] = parse_query(request, query)
            if body is not None:
                if body_required or request.can_read_body:
                    kwargs["body"] = validate(body, await read_json(request), "body")
                else:
                    kwargs["body"] = body()
            return await fn(request, **kwargs)

        setattr(handler, ATTRIBUTE, op)
        return handler

    return wrap


def _model(hint: Any) -> type[BaseModel] | None:
    if hint is None:
        return None
    if isinstance(hint, type) and issubclass(hint, BaseModel):
        return hint
    raise TypeError(f"a declared query or body is a pydantic model, not {hint!r}")


async def read_json(request: web.Request) -> Any:
    """The request's JSON body; anything a JSON parser could choke on is the caller's 4xx."""
    if request.content_type != "application/json":
        raise UnsupportedMediaType("send a JSON body (Content-Type: application/json)")
    raw = await request.read()  # over the app's client_max_size: 413
    try:
        return from_json(raw, allow_inf_nan=False)
    except ValueError as e:
        raise BadRequest(f"the body is not valid JSON: {e}") from None


def parse_query(request: web.Request, model: type[BaseModel]) -> Any:
    """The query string as ``model``: each parameter at most once, every value validated."""
    data: dict[str, str] = {}
    for name, value in request.query.items():
        if name in data:
            raise BadRequest(f"give the query parameter {name!r} once", field=name)
        data[name] = value
    return validate(model, data, "query parameter")


def validate(model: type[BaseModel], data: Any, where: str) -> Any:
    """``data`` as ``model``; a 400 naming the first bad field, with every problem in ``errors``."""
    try:
        return model.model_validate(data)
    except ValidationError as e:
        errors = e.errors(include_url=False, include_context=False, include_input=False)
        first = errors[0]
        name = ".".join(str(part) for part in first["loc"]) or where
        raise BadRequest(f"invalid {where} {name}: {first['msg']}", field=name, errors=errors) from None

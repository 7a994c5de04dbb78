"""Parsing what a channel sends, shared by every inbound surface: bounded, and a 4xx on any failure.

Every parser here raises :class:`~gateway.errors.BadRequest` (400) and nothing else, so a hostile
body can never reach a 500 (and never reach the store):

* :func:`load_json`: strict UTF-8; no ``NaN``/``Infinity``; integers of at most ``MAX_INT_DIGITS``
  digits (Python refuses 4,301 and more with a ``ValueError``); nesting at most ``MAX_DEPTH`` deep
  (100,000 deep would be a ``RecursionError``); no lone surrogates (``"\\ud800"`` parses but can
  never be encoded again).
* :func:`load_form`: ``application/x-www-form-urlencoded``, strict UTF-8 (also inside ``%XX``),
  at most ``MAX_FIELDS`` fields.
* :func:`validated`: one declared pydantic model per surface (its query, headers or body); the
  first problem becomes a 400 naming the field. :func:`headers_as` reads a header model (each
  field named by its header, case-insensitively).
* :data:`Digits`: the field type of a number in those models. ``str.isdigit()`` accepts ``'²'`` and
  ``int()`` accepts ``'١٢'``: a number from a channel must be ASCII digits.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, StringConstraints, ValidationError

from gateway.errors import BadRequest

MAX_DEPTH = 32
MAX_INT_DIGITS = 40
MAX_FIELDS = 200
_SURROGATE = re.compile("[\ud800-\udfff]")

M = TypeVar("M", bound=BaseModel)

Digits = Annotated[str, StringConstraints(pattern=r"^[0-9]{1,20}$")]
"""ASCII digits only, at most 20 (a Unix time in ms, a platform's numeric id)."""


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise ValueError(f"an integer longer than {MAX_INT_DIGITS} digits")
    return int(text)


def has_surrogate(text: str) -> bool:
    return _SURROGATE.search(text) is not None


def _check_tree(data: Any, max_depth: int) -> None:
    """Depth and lone surrogates, walked without recursion."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, str):
            if has_surrogate(node):
                raise BadRequest("the body holds a lone surrogate (not valid Unicode)")
            continue
        if not isinstance(node, dict | list):
            continue
        if depth > max_depth:
            raise BadRequest(f"the JSON is nested deeper than {max_depth} levels")
        if isinstance(node, dict):
            for key, value in node.items():
                if has_surrogate(key):
                    raise BadRequest("the body holds a lone surrogate (not valid Unicode)")
                stack.append((value, depth + 1))
        else:
            stack.extend((value, depth + 1) for value in node)


def load_json(body: bytes, *, max_depth: int = MAX_DEPTH) -> Any:
    """A JSON document from a channel, bounded (see the module docstring). Raises BadRequest."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("the body is not UTF-8") from None
    try:
        data = json.loads(text, parse_constant=_refuse_constant, parse_int=_bounded_int)
    except RecursionError:
        raise BadRequest(f"the JSON is nested deeper than {max_depth} levels") from None
    except ValueError as e:  # JSONDecodeError is one; so are our refusals
        reason = e.msg if isinstance(e, json.JSONDecodeError) else str(e)
        raise BadRequest(f"the body is not valid JSON: {reason}") from None
    _check_tree(data, max_depth)
    return data


def load_object(body: bytes) -> dict[str, Any]:
    """:func:`load_json` for surfaces whose body is one JSON object."""
    data = load_json(body)
    if not isinstance(data, dict):
        raise BadRequest("the JSON body must be an object")
    return data


_ESCAPES = re.compile("(?:%[0-9A-Fa-f]{2})+")


def _unescape(run: re.Match[str]) -> str:
    return bytes.fromhex(run.group().replace("%", "")).decode("utf-8")  # strict


def _unquote(value: str) -> str:
    """``urllib.parse.unquote_plus(value, errors="strict")``, a run of escapes at a time: a form's
    Chinese text is one long run of ``%XX``, which urllib decodes an escape at a time in Python
    (~0.5 ms for 3 KB). An invalid escape (``%zz``, a lone ``%``) stays as it is, as in urllib."""
    value = value.replace("+", " ")
    return _ESCAPES.sub(_unescape, value) if "%" in value else value


def load_form(body: bytes) -> dict[str, str]:
    """A form body; a repeated name keeps its last value. Raises BadRequest. The same pairs as
    ``parse_qsl(..., keep_blank_values=True, errors="strict")`` (a test compares them)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("the form is not UTF-8") from None
    if text.count("&") >= MAX_FIELDS:
        raise BadRequest(f"the form has more than {MAX_FIELDS} fields")
    form: dict[str, str] = {}
    try:
        for item in text.split("&"):
            if not item:
                continue
            name, _, value = item.partition("=")
            form[_unquote(name)] = _unquote(value)
    except UnicodeDecodeError:
        raise BadRequest("the form is not UTF-8") from None
    return form


def problem(e: ValidationError, prefix: str = "") -> BadRequest:
    """A pydantic error as a 400 naming the first field at fault."""
    first = e.errors(include_url=False)[0]
    where = prefix + ".".join(str(p) for p in first["loc"])
    return BadRequest(f"{where}: {first['msg']}" if where else first["msg"], field=where or None)


def validated(model: type[M], data: Any, prefix: str = "") -> M:
    """``data`` (a parsed body, a query, headers) checked against a surface's declared model."""
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise problem(e, prefix) from None


def headers_as(model: type[M], headers: Mapping[str, str]) -> M:
    """The headers ``model`` names (by each field's alias), checked against it; others are ignored."""
    names = (field.alias or name for name, field in model.model_fields.items())
    return validated(model, {name: headers[name] for name in names if name in headers})

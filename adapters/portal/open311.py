"""Open311 GeoReport v2 as the spec writes it: JSON and XML answers, errors, discovery, and the
declared query of ``GET requests``. Pure (no I/O); the routes are in ``adapters/portal/__init__.py``.

Spec: http://wiki.open311.org/GeoReport_v2 and http://wiki.open311.org/Service_discovery . XML is the
spec's required format: a root element (``services``, ``service_requests``, ``errors``,
``discovery``) holding one element per item, each field a child element; lists inside an item
(``formats``) hold one element per value (``format``). Empty values are empty elements.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Literal
from xml.etree import ElementTree

from aiohttp import web
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from gateway.errors import NotFound
from gateway.http import json_response

Format = Literal["json", "xml"]
SPEC = "http://wiki.open311.org/GeoReport_v2"
LIST_DAYS = 90
"""``GET requests`` without dates covers the last 90 days, and a range may not be longer (spec)."""
LIST_LIMIT = 1000
"""At most this many requests in one list answer, newest first (spec: "up to 1000")."""
ITEM = {"services": "service", "service_requests": "request", "errors": "error", "endpoints": "endpoint"}
XML_TYPE = "text/xml"
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
"""Characters XML 1.0 cannot hold (control characters, lone surrogates): written as U+FFFD."""


def _child(parent: ElementTree.Element, name: str, value: Any) -> None:
    element = ElementTree.SubElement(parent, name)
    if isinstance(value, Mapping):
        for key, inner in value.items():
            _child(element, key, inner)
    elif isinstance(value, list | tuple):
        item = ITEM.get(name, name.removesuffix("s"))
        for inner in value:
            _child(element, item, inner)
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    elif value is not None:
        element.text = _NOT_XML.sub("\ufffd", str(value))


def to_xml(root: str, items: Sequence[Mapping[str, Any]] | Mapping[str, Any]) -> bytes:
    """``items`` under ``<root>``: a list becomes one element per item, a mapping its fields."""
    element = ElementTree.Element(root)
    if isinstance(items, Mapping):
        for key, value in items.items():
            _child(element, key, value)
    else:
        for item in items:
            _child(element, ITEM[root], item)
    xml: bytes = ElementTree.tostring(element, encoding="utf-8", xml_declaration=True)
    return xml


def answer(
    fmt: str, root: str, data: Any, *, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    """The answer in the format the URL asked for (``.json`` or ``.xml``)."""
    if fmt == "xml":
        return web.Response(
            body=to_xml(root, data), status=status, headers=headers, content_type=XML_TYPE, charset="utf-8"
        )
    return json_response(data, status=status, headers=headers)


def discovery(base_url: str, contact: str, changeset: datetime) -> dict[str, Any]:
    """The service discovery document: one production endpoint, JSON and XML."""
    return {
        "changeset": changeset.isoformat(),
        "contact": contact,
        "key_service": "api_key: ask the hotline centre (each client gets its own)",
        "endpoints": [
            {
                "specification": SPEC,
                "url": base_url.rstrip("/") + "/open311/v2",
                "changeset": changeset.isoformat(),
                "type": "production",
                "formats": [XML_TYPE, "application/json"],
            }
        ],
    }


def _csv(value: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (value or "").split(",") if part.strip())


class RequestsQuery(BaseModel):
    """The declared query of ``GET requests.{json,xml}``: the spec's filters, bounded."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    api_key: str | None = Field(default=None, max_length=256)
    jurisdiction_id: str | None = Field(default=None, max_length=100)
    service_request_id: str | None = Field(
        default=None,
        max_length=3000,
        description="Comma-separated ids; when given, the other filters are ignored.",
    )
    service_code: str | None = Field(default=None, max_length=1000, description="Comma-separated codes.")
    start_date: AwareDatetime | None = None
    end_date: AwareDatetime | None = None
    status: str | None = Field(default=None, max_length=20, description="open, closed or open,closed.")

    @field_validator("service_request_id")
    @classmethod
    def _few_ids(cls, value: str | None) -> str | None:
        if len(_csv(value)) > 100:
            raise ValueError("at most 100 service_request_id values")
        return value

    @field_validator("status")
    @classmethod
    def _statuses(cls, value: str | None) -> str | None:
        if not set(_csv(value)) <= {"open", "closed"}:
            raise ValueError("status is open, closed or open,closed")
        return value

    @model_validator(mode="after")
    def _range(self) -> RequestsQuery:
        if self.start_date and self.end_date:
            if self.end_date < self.start_date:
                raise ValueError("end_date is before start_date")
            if self.end_date - self.start_date > timedelta(days=LIST_DAYS):
                raise ValueError(f"start_date and end_date may be at most {LIST_DAYS} days apart")
        return self

    @property
    def ids(self) -> tuple[str, ...]:
        return _csv(self.service_request_id)

    @property
    def codes(self) -> tuple[str, ...]:
        return _csv(self.service_code)

    @property
    def statuses(self) -> frozenset[str]:
        return frozenset(_csv(self.status))

    def window(self, now: datetime) -> tuple[datetime, datetime]:
        """The requested_datetime range searched: given dates, else the last 90 days."""
        end = self.end_date or (self.start_date + timedelta(days=LIST_DAYS) if self.start_date else now)
        start = self.start_date or end - timedelta(days=LIST_DAYS)
        return start, end


class ClientHeaders(BaseModel):
    """The declared headers of every Open311 call: the client key may come as a header."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    api_key: str | None = Field(
        default=None, alias="X-Api-Key", max_length=256, description="Instead of the api_key field."
    )


class WriteHeaders(ClientHeaders):
    """The declared headers of ``POST requests``."""

    idempotency_key: str | None = Field(
        default=None,
        alias="Idempotency-Key",
        max_length=200,
        description="A retry with the same key answers the first request's id (200, not 201).",
    )


class StatusQuery(BaseModel):
    """The declared query of ``GET requests/{id}``."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    api_key: str | None = Field(default=None, max_length=256, description="The client's key.")
    jurisdiction_id: str | None = Field(default=None, max_length=100)


def check_codes(codes: Sequence[str], known: Sequence[str]) -> None:
    """Spec: a service_code that does not exist is a 404."""
    for code in codes:
        if code not in known:
            raise NotFound(f"service_code {code!r} not found", field="service_code")

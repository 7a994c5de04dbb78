"""Open311 GeoReport v2 <-> appeal, pure functions (tested against the fixtures in ``fixtures/``).

Spec: http://wiki.open311.org/GeoReport_v2 . ``service_request_id`` is the appeal number. A client
retrying a POST sends the same ``Idempotency-Key`` header (or ``idempotency_key`` field); without one,
the same request on the same day (same service, text and contact) counts as a retry.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from adapters.base import AppealStatus
from adapters.parsing import problem, validated
from gateway.errors import BadRequest, NotFound
from normalizer import (
    AppealDraft,
    AppealType,
    Attachment,
    AttachmentKind,
    ChannelIdentity,
    Citizen,
    Coordinates,
    IdentityKind,
    Location,
)

SERVICES: tuple[dict[str, Any], ...] = (
    {"service_code": "complaint", "service_name": "投诉", "description": "对问题或服务的投诉"},
    {
        "service_code": "help_request",
        "service_name": "求助",
        "description": "需要政府帮助解决的困难",
    },
    {"service_code": "consultation", "service_name": "咨询", "description": "政策、办事咨询"},
    {"service_code": "suggestion", "service_name": "建议", "description": "对城市工作的意见建议"},
    {"service_code": "report", "service_name": "举报", "description": "违法违规行为举报"},
    {"service_code": "praise", "service_name": "表扬", "description": "对单位或个人的表扬"},
)
for _service in SERVICES:
    _service.update(metadata=False, type="realtime", keywords="", group="12345")

_OPEN_STATES = {"accepted", "manual", "dispatched", "signed", "handling"}
STATE_NOTES = {
    "accepted": "已受理，正在分派",
    "manual": "已受理，正在人工分派",
    "dispatched": "已派发至承办单位",
    "signed": "承办单位已签收",
    "handling": "承办单位正在办理",
    "replied": "承办单位已答复",
    "visited": "已回访",
    "reviewed": "已审核",
    "filed": "已办结归档",
}
MAX_DESCRIPTION = 4000
_PHONE = re.compile(r"(?<![0-9])(1[3-9][0-9])[0-9]{4}([0-9]{4})(?![0-9])")
_ID_NUMBER = re.compile(r"(?<![0-9])([1-9][0-9]{5})[0-9]{8}([0-9]{3}[0-9Xx])(?![0-9])")


def _text(limit: int) -> Any:
    return Field(default=None, max_length=limit)


class ServiceRequestFields(BaseModel):
    """The declared fields of ``POST requests`` (Open311's, plus our two attributes), bounded. Other
    ``attribute[...]`` fields a client sends are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    api_key: str | None = _text(256)
    jurisdiction_id: str | None = _text(100)
    service_code: str | None = _text(64)
    description: str | None = _text(MAX_DESCRIPTION + 100)
    lat: str | None = _text(40)
    long: str | None = _text(40)
    address_string: str | None = _text(500)
    address_id: str | None = _text(100)
    first_name: str | None = _text(50)
    last_name: str | None = _text(50)
    phone: str | None = _text(32)
    email: str | None = _text(256)
    account_id: str | None = _text(256)
    device_id: str | None = _text(256)
    media_url: str | None = _text(2000)
    idempotency_key: str | None = _text(200)
    title: str | None = Field(default=None, max_length=200, alias="attribute[title]")
    anonymous: str | None = Field(default=None, max_length=10, alias="attribute[anonymous]")


def mask_numbers(text: str) -> str:
    """Mobile and ID numbers in a text masked (139****1234, 340302********123X)."""
    text = _PHONE.sub(r"\1****\2", text)
    return _ID_NUMBER.sub(lambda m: m.group(1) + "*" * 8 + m.group(2), text)


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def _float(fields: Mapping[str, str], name: str) -> float | None:
    value = fields.get(name)
    if value in (None, ""):
        return None
    try:
        number = float(value) if value.isascii() else float("nan")
    except ValueError:
        number = float("nan")
    if number != number or abs(number) == float("inf"):
        raise BadRequest(f"{name} must be a number", field=name)
    return number


def external_id(fields: Mapping[str, str], idempotency_key: str | None, day: str) -> str:
    key = idempotency_key or fields.get("idempotency_key")
    if key:
        if len(key) > 200:
            raise BadRequest("Idempotency-Key is longer than 200 characters")
        return f"key:{key}"
    parts = [day] + [
        fields.get(n, "")
        for n in ("service_code", "description", "phone", "email", "account_id", "device_id")
    ]
    return "sha256:" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def decode_request(fields: Mapping[str, str], *, idempotency_key: str | None, day: str) -> AppealDraft:
    """An Open311 POST's fields -> an appeal draft. Raises BadRequest naming the field (NotFound for
    a service_code that does not exist, as the spec says)."""
    validated(ServiceRequestFields, fields)
    code = fields.get("service_code", "").strip()
    if not code:
        raise BadRequest("service_code is required", field="service_code")
    if code not in AppealType.__members__:
        raise NotFound(f"service_code {code!r} not found", field="service_code")
    description = fields.get("description", "").strip()
    if not description:
        raise BadRequest("description is required", field="description")
    if len(description) > MAX_DESCRIPTION:
        raise BadRequest(f"description is longer than {MAX_DESCRIPTION} characters", field="description")
    lat, lon = _float(fields, "lat"), _float(fields, "long")
    if (lat is None) != (lon is None):
        raise BadRequest("lat and long go together", field="lat")
    name = " ".join(p for p in (fields.get("last_name", ""), fields.get("first_name", "")) if p).strip()
    identity = None
    if fields.get("email"):
        identity = ChannelIdentity(kind=IdentityKind.email, value=fields["email"].strip())
    elif fields.get("account_id"):
        identity = ChannelIdentity(kind=IdentityKind.portal_account, value=fields["account_id"].strip())
    media = fields.get("media_url", "").strip()
    try:
        return AppealDraft(
            external_id=external_id(fields, idempotency_key, day),
            citizen=Citizen(
                name=name or None,
                phone=fields.get("phone", "").strip() or None,
                identity=identity,
                anonymous=_flag(fields.get("attribute[anonymous]")),
            ),
            subject=fields.get("attribute[title]", "").strip() or None,
            content=description,
            appeal_type=AppealType(code),
            location=Location(
                address=fields.get("address_string", "").strip() or None,
                coordinates=Coordinates(lat=lat, lon=lon) if lat is not None and lon is not None else None,
            ),
            attachments=(Attachment(kind=AttachmentKind.image, url=media),) if media else (),
        )
    except ValidationError as e:
        raise problem(e) from None


def request_view(status: AppealStatus, public: frozenset[str] = frozenset()) -> dict[str, Any]:
    """An appeal as Open311 shows it to whoever holds its number: state, service, dates, agency and
    status notes. ``public`` opts fields in (description with numbers masked, address, lat, long,
    media_url); an anonymous appeal shows none of them. Never a name, phone or e-mail."""
    appeal = status.appeal
    coordinates = appeal.location.coordinates
    notes = STATE_NOTES.get(status.state, status.state)
    if status.notes:
        notes = notes + "；" + "；".join(status.notes)
    shown = frozenset() if appeal.citizen.anonymous else public
    view = {
        "service_request_id": appeal.appeal_no,
        "status": "open" if status.state in _OPEN_STATES else "closed",
        "status_notes": notes,
        "service_name": next(
            s["service_name"] for s in SERVICES if s["service_code"] == appeal.appeal_type.value
        ),
        "service_code": appeal.appeal_type.value,
        "description": mask_numbers(appeal.content) if "description" in shown else None,
        "agency_responsible": status.unit_name,
        "service_notice": "",
        "requested_datetime": appeal.received_at.isoformat(),
        "updated_datetime": status.updated_at.isoformat(),
        "expected_datetime": status.expected_at.isoformat() if status.expected_at else None,
        "address": appeal.location.address if "address" in shown else None,
        "address_id": None,
        "zipcode": None,
        "lat": coordinates.lat if coordinates and "lat" in shown else None,
        "long": coordinates.lon if coordinates and "long" in shown else None,
        "media_url": next((a.url for a in appeal.attachments if a.url), None)
        if "media_url" in shown
        else None,
    }
    return view

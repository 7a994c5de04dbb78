"""Pure: what Redis holds (an appeal's hash, a history event, a delivery hash) as rows of the record."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from gateway.records.bigrams import bigrams
from gateway.records.links import signature, text_of
from normalizer import Appeal
from normalizer.phone import national_digits, normalize_phone
from router.places import Gazetteer

CountyOf = Callable[[str], str | None]


def county(gazetteer: Gazetteer, area: str) -> str | None:
    """The county, district or zone (depth 1 of the gazetteer) an area lies in."""
    if area not in gazetteer:
        return None
    return next((a for a in gazetteer.lineage(area) if gazetteer.areas[a].depth == 1), None)


def event_id(appeal_no: str, seq: int) -> str:
    """Stable and reproducible from the history list: the event's 1-based position in it."""
    return f"{appeal_no}:{seq}"


def appeal_row(fields: Mapping[str, str], county_of: CountyOf, now: datetime) -> dict[str, Any]:
    """The ``appeals`` row of an appeal's Redis hash. ``record`` keeps the hash itself (minus the
    appeal, kept decoded in ``appeal``), so the record can be rebuilt exactly as Redis gave it."""
    appeal = Appeal.model_validate_json(fields["appeal"])
    citizen, location, upstream = appeal.citizen, appeal.location, appeal.upstream
    identity = f"{citizen.identity.kind.value}:{citizen.identity.value}" if citizen.identity else None
    digits = national_digits(citizen.phone) if citizen.phone else ""
    state = fields["state"]
    updated_at = datetime.fromisoformat(fields["updated_at"])
    return {
        "appeal_no": appeal.appeal_no,
        "channel_id": appeal.channel_id,
        "channel_kind": appeal.channel_kind,
        "external_id": appeal.external_id,
        "state": state,
        "unit": fields.get("unit") or None,
        "supervisor": fields.get("supervisor") or None,
        "received_at": appeal.received_at,
        "updated_at": updated_at,
        "filed_at": updated_at if state == "filed" else None,
        "subject": appeal.subject,
        "content": appeal.content,
        "appeal_type": appeal.appeal_type.value,
        "urgency": appeal.urgency.value,
        "category": appeal.category[0] if appeal.category else None,
        "category_path": "/".join(appeal.category) or None,
        "area": location.area,
        "county": county_of(location.area) if location.area else None,
        "address": location.address,
        "phone": normalize_phone(citizen.phone) if citizen.phone else None,
        "phone_last4": digits[-4:] if len(digits) >= 4 else None,
        "identity": identity[:300] if identity else None,
        "upstream_platform": upstream.platform if upstream else None,
        "upstream_number": upstream.number if upstream else None,
        "supervised": bool(upstream and upstream.supervised) or fields.get("supervised") == "1",
        "satisfaction": fields.get("satisfaction") or None,
        "reopened": int(fields.get("reopened") or 0),
        "returns": len(json.loads(fields["returned_by"])) if fields.get("returned_by") else 0,
        "appeal": appeal.model_dump(mode="json"),
        "record": {k: v for k, v in fields.items() if k != "appeal"},
        "recorded_at": now,
        "bigrams": bigrams(appeal.subject, appeal.content),
        # repeat detection's signature (computed once a text: the process keeps the last 4,096)
        "minhash": signature(text_of(appeal.subject, appeal.content)),
    }


def record_fields(row: Mapping[str, Any]) -> dict[str, str]:
    """Back from an ``appeals`` row to the hash fields :meth:`gateway.loop.AppealRecord.from_fields` reads."""
    return dict(row["record"]) | {"appeal": json.dumps(row["appeal"], ensure_ascii=False)}


def event_row(appeal_no: str, seq: int, event: str) -> dict[str, Any]:
    body = json.loads(event)
    return {
        "appeal_no": appeal_no,
        "event_id": event_id(appeal_no, seq),
        "seq": seq,
        "type": str(body.get("type", ""))[:40],
        "at": datetime.fromisoformat(body["at"]),
        "actor": str(body.get("actor", ""))[:200],
        "state": body.get("state"),
        "event": body,
    }


def delivery_row(delivery_id: str, fields: Mapping[str, str], now: datetime) -> dict[str, Any]:
    return {
        "webhook_id": delivery_id,
        "appeal_no": fields["appeal_no"],
        "unit": fields["unit"],
        "event_type": fields.get("event_type", ""),
        "attempts": int(fields.get("attempts") or 0),
        "outcome": fields.get("status", "pending"),
        "last_error": fields.get("last_error") or None,
        "created_at": datetime.fromisoformat(fields["created_at"]),
        "recorded_at": now,
    }

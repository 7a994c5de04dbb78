"""The pure Open311 decoder against golden fixtures (adapters/portal/fixtures)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adapters.portal.decode import decode_request
from gateway.errors import BadRequest

FIXTURES = sorted((Path(__file__).parents[3] / "adapters" / "portal" / "fixtures").glob("*.json"))


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_fixture_decodes_to_its_golden_draft(path: Path) -> None:
    case = json.loads(path.read_text(encoding="utf-8"))
    draft = decode_request(case["fields"], idempotency_key=case["idempotency_key"], day=case["day"])
    assert draft.model_dump(mode="json") == case["draft"]


def test_same_request_without_key_dedups_within_a_day_only() -> None:
    fields = {"service_code": "complaint", "description": "路灯不亮", "phone": "13912341234"}
    a = decode_request(fields, idempotency_key=None, day="20261129")
    b = decode_request(dict(fields), idempotency_key=None, day="20261129")
    c = decode_request(fields, idempotency_key=None, day="20261130")
    assert a.external_id == b.external_id != c.external_id


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"description": "x"}, "service_code"),
        ({"service_code": "complaint"}, "description"),
        ({"service_code": "complaint", "description": "x", "lat": "1", "long": "east"}, "long"),
    ],
)
def test_bad_fields_name_the_field(fields: dict[str, str], field: str) -> None:
    with pytest.raises(BadRequest) as caught:
        decode_request(fields, idempotency_key=None, day="20261129")
    assert caught.value.detail.get("field") == field

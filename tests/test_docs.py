"""The documentation cannot drift from the code: every field of the appeal schema is explained."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from normalizer import SCHEMA_VERSION, Appeal

ROOT = Path(__file__).resolve().parent.parent
APPEAL_DOC = ROOT / "docs" / "appeal-schema.md"
MODELS = {
    "Appeal",
    "Citizen",
    "ChannelIdentity",
    "Location",
    "Coordinates",
    "Attachment",
    "ReplyRoute",
    "UpstreamRef",
    "RawRef",
}
ENUMS = {"AppealType", "Urgency", "IdentityKind", "AttachmentKind", "ReplyRouteKind"}


def schema_definitions() -> dict[str, dict[str, Any]]:
    """Appeal's JSON Schema and each of its ``$defs``, by title."""
    schema = Appeal.model_json_schema()
    return {"Appeal": schema, **schema.get("$defs", {})}


def documented_rows(doc: str) -> dict[str, set[str]]:
    """Per section (``### Name``), the backquoted names in the first cell of its table rows."""
    sections: dict[str, set[str]] = {}
    current = ""
    for line in doc.splitlines():
        heading = re.match(r"^#{2,4}\s+(\w+)\s*$", line)
        if heading:
            current = heading.group(1)
            sections.setdefault(current, set())
        elif row := re.match(r"^\|\s*`([^`]+)`\s*\|", line):
            sections.setdefault(current, set()).add(row.group(1))
    return sections


def test_every_field_of_every_model_is_explained() -> None:
    doc = APPEAL_DOC.read_text(encoding="utf-8")
    definitions = schema_definitions()
    assert set(definitions) >= MODELS | ENUMS, "the schema's models changed: update MODELS/ENUMS here"
    sections = documented_rows(doc)
    missing = [
        f"{name}.{field}"
        for name, definition in definitions.items()
        for field in definition.get("properties", {})
        if field not in sections.get(name, set())
    ]
    assert not missing, f"fields not explained in docs/appeal-schema.md: {missing}"


def test_every_model_and_enum_value_is_explained() -> None:
    doc = APPEAL_DOC.read_text(encoding="utf-8")
    sections = documented_rows(doc)
    definitions = schema_definitions()
    no_section = sorted(set(definitions) - set(sections))
    assert not no_section, f"no section in docs/appeal-schema.md for: {no_section}"
    missing = [
        f"{name}.{value}"
        for name, definition in definitions.items()
        for value in definition.get("enum", [])
        if value not in sections[name]
    ]
    assert not missing, f"enum values not explained in docs/appeal-schema.md: {missing}"


def test_the_doc_states_the_current_schema_version() -> None:
    doc = APPEAL_DOC.read_text(encoding="utf-8")
    assert f'"schema_version": "{SCHEMA_VERSION}"' in doc

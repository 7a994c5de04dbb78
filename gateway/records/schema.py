"""The tables of the record, as SQLAlchemy Core objects for the queries. The schema itself is made by
the Alembic migrations in ``migrations/versions`` (keep the two in step; a test compares them).

``appeals`` and ``appeal_events`` are a documented interface for the centre's BI tools: their names
and the columns named in docs/operations.md stay.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.types import TypeEngine


class UtcDateTime(TypeDecorator[datetime]):
    """Aware datetimes stored as UTC (SQLite keeps no offset); read back as aware UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the record")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if not isinstance(value, datetime):
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Bigrams(TypeDecorator[list[str]]):
    """An appeal's character bigrams (:mod:`gateway.records.bigrams`), a list in Python. PostgreSQL:
    a ``text[]`` (a GIN index answers ``@>``); SQLite: one text of space-separated bigrams, indexed
    by the FTS5 table ``appeals_bigrams``."""

    impl = Text
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(ARRAY(Text()))
        return dialect.type_descriptor(Text())

    def process_bind_param(self, value: list[str] | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        return list(value) if dialect.name == "postgresql" else " ".join(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> list[str] | None:
        if value is None:
            return None
        return list(value) if dialect.name == "postgresql" else str(value).split()


Id = BigInteger().with_variant(Integer(), "sqlite")  # SQLite's rowid alias must be INTEGER
metadata = MetaData()

appeals = Table(
    "appeals",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("appeal_no", String(40), nullable=False, unique=True),
    Column("channel_id", String(64), nullable=False),
    Column("channel_kind", String(32), nullable=False),
    Column("external_id", String(200), nullable=False),
    Column("state", String(16), nullable=False),
    Column("unit", String(64)),
    Column("supervisor", String(64)),
    Column("received_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("filed_at", UtcDateTime),
    Column("subject", Text, nullable=False),
    Column("content", Text, nullable=False),
    Column("appeal_type", String(32), nullable=False),
    Column("urgency", String(32), nullable=False),
    Column("category", String(64)),
    Column("category_path", Text),
    Column("area", String(64)),
    Column("county", String(64)),
    Column("address", Text),
    Column("phone", String(32)),
    Column("phone_last4", String(4)),
    Column("identity", String(300)),
    Column("upstream_platform", String(64)),
    Column("upstream_number", String(128)),
    Column("supervised", Boolean, nullable=False),
    Column("satisfaction", String(32)),
    Column("reopened", Integer, nullable=False),
    Column("returns", Integer, nullable=False),
    Column("appeal", JSON, nullable=False),
    Column("record", JSON, nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
    Column("dropped_at", UtcDateTime),
    Column("bigrams", Bigrams, nullable=False),  # the index of two-character words, not for BI tools
    Column("minhash", LargeBinary),  # the text's MinHash signature for repeat detection (links.py)
)

appeal_events = Table(
    "appeal_events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("appeal_no", String(40), nullable=False),
    Column("event_id", String(64), nullable=False, unique=True),
    Column("seq", Integer, nullable=False),
    Column("type", String(40), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("state", String(16)),
    Column("event", JSON, nullable=False),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("webhook_id", String(80), nullable=False, unique=True),
    Column("appeal_no", String(40), nullable=False),
    Column("unit", String(64), nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("last_error", Text),
    Column("created_at", UtcDateTime, nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
)

raw_payloads = Table(
    "raw_payloads",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("appeal_no", String(40), nullable=False),
    Column("seq", Integer, nullable=False),  # 0: the message that made the appeal; 1...: merged, added
    Column("sha256", String(64), nullable=False),
    Column("content_type", String(200)),
    Column("size", Integer, nullable=False),
    Column("body", LargeBinary, nullable=False),
    UniqueConstraint("appeal_no", "seq", name="uq_raw_payloads_appeal_seq"),
)

appeal_links = Table(
    "appeal_links",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("appeal_no", String(40), nullable=False),
    Column("earlier_no", String(40), nullable=False),
    Column("kind", String(16), nullable=False),  # repeat | duplicate
    Column("why", JSON, nullable=False),
    Column("status", String(16), nullable=False),  # linked | confirmed | unlinked
    Column("decided_by", String(200), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    UniqueConstraint("appeal_no", "earlier_no", name="uq_appeal_links_pair"),
)

# the MinHash bands of the last duplicate hours, the newest appeal of each channel under each band
# (gateway.records.repeats): an appeal's near-duplicates of other channels are those sharing a band,
# found without reading the hours' other appeals, however often their text has been seen
appeal_bands = Table(
    "appeal_bands",
    metadata,
    Column("band", BigInteger, primary_key=True),
    Column("channel_id", String(64), primary_key=True),
    Column("appeal_no", String(40), nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
)

# the accounts of the centre's staff and the audit of reads of personal data (gateway.accounts)
accounts = Table(
    "accounts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("role", String(16), nullable=False),
    Column("token_sha256", String(64), nullable=False, unique=True),
    Column("password_hash", Text),
    Column("disabled", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

# browser sessions of the workbench (gateway.accounts.sessions): the cookie kept only as its hash
sessions = Table(
    "sessions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("token_sha256", String(64), nullable=False, unique=True),
    Column("account", String(64), nullable=False),
    Column("csrf", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
)

audit = Table(
    "audit",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("role", String(16), nullable=False),
    Column("action", String(40), nullable=False),
    Column("appeal_no", String(40)),
    Column("allowed", Boolean, nullable=False),
    Column("detail", JSON, nullable=False),
)

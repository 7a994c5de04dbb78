"""The record: appeals, their events, deliveries, raw payloads; full-text search over the appeals.

Revision ID: 0001
Revises:
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gateway.records.schema import Id, UtcDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SQLITE_FTS = [
    "CREATE VIRTUAL TABLE appeals_fts USING fts5(subject, content, content='appeals', "
    "content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER appeals_fts_insert AFTER INSERT ON appeals BEGIN "
    "INSERT INTO appeals_fts(rowid, subject, content) VALUES (new.id, new.subject, new.content); END",
    "CREATE TRIGGER appeals_fts_delete AFTER DELETE ON appeals BEGIN "
    "INSERT INTO appeals_fts(appeals_fts, rowid, subject, content) "
    "VALUES ('delete', old.id, old.subject, old.content); END",
    "CREATE TRIGGER appeals_fts_update AFTER UPDATE OF subject, content ON appeals "
    "WHEN old.subject IS NOT new.subject OR old.content IS NOT new.content BEGIN "
    "INSERT INTO appeals_fts(appeals_fts, rowid, subject, content) "
    "VALUES ('delete', old.id, old.subject, old.content); "
    "INSERT INTO appeals_fts(rowid, subject, content) VALUES (new.id, new.subject, new.content); END",
]
POSTGRES_TRGM = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX ix_appeals_text_trgm ON appeals USING gin ((subject || ' ' || content) gin_trgm_ops)",
]


def upgrade() -> None:
    op.create_table(
        "appeals",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("appeal_no", sa.String(40), nullable=False, unique=True),
        sa.Column("channel_id", sa.String(64), nullable=False),
        sa.Column("channel_kind", sa.String(32), nullable=False),
        sa.Column("external_id", sa.String(200), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("unit", sa.String(64)),
        sa.Column("supervisor", sa.String(64)),
        sa.Column("received_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.Column("filed_at", UtcDateTime),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("appeal_type", sa.String(32), nullable=False),
        sa.Column("urgency", sa.String(32), nullable=False),
        sa.Column("category", sa.String(64)),
        sa.Column("category_path", sa.Text),
        sa.Column("area", sa.String(64)),
        sa.Column("county", sa.String(64)),
        sa.Column("address", sa.Text),
        sa.Column("phone", sa.String(32)),
        sa.Column("phone_last4", sa.String(4)),
        sa.Column("identity", sa.String(300)),
        sa.Column("upstream_platform", sa.String(64)),
        sa.Column("upstream_number", sa.String(128)),
        sa.Column("supervised", sa.Boolean, nullable=False),
        sa.Column("satisfaction", sa.String(32)),
        sa.Column("reopened", sa.Integer, nullable=False),
        sa.Column("returns", sa.Integer, nullable=False),
        sa.Column("appeal", sa.JSON, nullable=False),
        sa.Column("record", sa.JSON, nullable=False),
        sa.Column("recorded_at", UtcDateTime, nullable=False),
        sa.Column("dropped_at", UtcDateTime),
    )
    for column in ("received_at", "unit", "state", "channel_id", "category", "area", "county"):
        columns = ["received_at"] if column == "received_at" else [column, "received_at"]
        op.create_index(f"ix_appeals_{column}", "appeals", columns)
    op.create_index("ix_appeals_phone", "appeals", ["phone"])
    op.create_index("ix_appeals_phone_last4", "appeals", ["phone_last4"])
    op.create_index("ix_appeals_filed", "appeals", ["state", "filed_at"])
    op.create_index("ix_appeals_county_category", "appeals", ["county", "category", "received_at"])
    op.create_table(
        "appeal_events",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("appeal_no", sa.String(40), nullable=False),
        sa.Column("event_id", sa.String(64), nullable=False, unique=True),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("type", sa.String(40), nullable=False),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("state", sa.String(16)),
        sa.Column("event", sa.JSON, nullable=False),
    )
    op.create_index("ix_appeal_events_appeal", "appeal_events", ["appeal_no", "seq"])
    op.create_index("ix_appeal_events_type", "appeal_events", ["type", "at"])
    op.create_table(
        "deliveries",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("webhook_id", sa.String(80), nullable=False, unique=True),
        sa.Column("appeal_no", sa.String(40), nullable=False),
        sa.Column("unit", sa.String(64), nullable=False),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("recorded_at", UtcDateTime, nullable=False),
    )
    op.create_index("ix_deliveries_appeal", "deliveries", ["appeal_no"])
    op.create_index("ix_deliveries_unit", "deliveries", ["unit", "created_at"])
    op.create_table(
        "raw_payloads",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("appeal_no", sa.String(40), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("content_type", sa.String(200)),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.UniqueConstraint("appeal_no", "seq", name="uq_raw_payloads_appeal_seq"),
    )
    for statement in SQLITE_FTS if op.get_bind().dialect.name == "sqlite" else POSTGRES_TRGM:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE appeals_fts")
    for table in ("raw_payloads", "deliveries", "appeal_events", "appeals"):
        op.drop_table(table)

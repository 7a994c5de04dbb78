"""Repeats and cross-channel duplicates: ``appeal_links``.

Revision ID: 0002_links
Revises: 0001
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gateway.records.schema import Id, UtcDateTime

revision = "0002_links"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "appeal_links",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("appeal_no", sa.String(40), nullable=False),
        sa.Column("earlier_no", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("why", sa.JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("decided_by", sa.String(200), nullable=False),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.UniqueConstraint("appeal_no", "earlier_no", name="uq_appeal_links_pair"),
    )
    op.create_index("ix_appeal_links_status", "appeal_links", ["status", "at"])
    op.create_index("ix_appeal_links_earlier", "appeal_links", ["earlier_no"])
    op.create_index("ix_appeals_identity", "appeals", ["identity", "received_at"])  # repeats by identity


def downgrade() -> None:
    op.drop_index("ix_appeals_identity", "appeals")
    op.drop_table("appeal_links")

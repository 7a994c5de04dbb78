"""Repeat detection bounded by work: each appeal's MinHash signature stored, and an index for the
same place and topic.

The recorder compares a new appeal with up to 200 earlier ones of its place and topic (and of the same
citizen, and of other channels within hours). It hashed every earlier appeal's text anew unless it
was among the last 4,096 texts hashed in the process (~0.2 ms each, 40 ms for a full set of
candidates; a month's candidates of a busy centre are far more than 4,096), read their texts, and
found the place-and-topic candidates through ``ix_appeals_area`` (area, received_at), reading every
appeal of the area in the window to keep those of the category: both grew with the record.
``appeals.minhash`` holds the signature (64 x 32 bits, written with the row, so a changed text
brings its own); a row without one (recorded before this migration) has it computed when it is
first compared.

Revision ID: 0007_link_signatures
Revises: 0006_retention_index
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_link_signatures"
down_revision = "0006_retention_index"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("appeals", sa.Column("minhash", sa.LargeBinary))
    op.create_index("ix_appeals_place_topic", "appeals", ["area", "category", "received_at"])


def downgrade() -> None:
    op.drop_index("ix_appeals_place_topic", table_name="appeals")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE appeals DROP COLUMN minhash")
    else:
        op.drop_column("appeals", "minhash")

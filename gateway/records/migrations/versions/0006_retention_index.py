"""An index for the retention sweep: the filed appeals not dropped from Redis yet, oldest first.

The sweep asks for the filed appeals past retention whose keys Redis still holds (``dropped_at IS
NULL AND state = 'filed' AND filed_at <= cutoff``, oldest first). Through ``ix_appeals_filed``
(state, filed_at) it walked every filed appeal ever recorded to reach the few not dropped yet:
1.1 s per sweep at 390,000 appeals, growing with the record (and pulling the whole table through
SQLite's memory map). With ``dropped_at`` first, a sweep reads only the entries of the appeals
Redis still holds.

Revision ID: 0006_retention_index
Revises: 0005_bigrams
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op

revision = "0006_retention_index"
down_revision = "0005_bigrams"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_appeals_to_drop", "appeals", ["dropped_at", "state", "filed_at"])


def downgrade() -> None:
    op.drop_index("ix_appeals_to_drop", table_name="appeals")

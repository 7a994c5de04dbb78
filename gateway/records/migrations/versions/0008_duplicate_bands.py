"""Cross-channel duplicates looked up by MinHash band: ``appeal_bands``.

A new appeal's near-duplicates of other channels were looked for among the newest 200 appeals of
the duplicate hours, read one by one: a busy centre's six hours hold more, so an earlier report
could be missed, and every new appeal read 200 rows. ``appeal_bands`` holds 21 band keys of each
appeal of the last duplicate hours (gateway.records.links.bands); the look-up reads the appeals that
share a band, however many the hours hold. The appeals received in the day before the newest
recorded one are banded here, so that duplicates of appeals recorded before the upgrade are found.

Revision ID: 0008_duplicate_bands
Revises: 0007_link_signatures
Create Date: 2026-12-03
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from alembic import op

from gateway.records.links import bands, signature
from gateway.records.schema import UtcDateTime

revision = "0008_duplicate_bands"
down_revision = "0007_link_signatures"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "appeal_bands",
        sa.Column("band", sa.BigInteger, primary_key=True),
        sa.Column("appeal_no", sa.String(40), primary_key=True),
        sa.Column("received_at", UtcDateTime, nullable=False),
    )
    op.create_index("ix_appeal_bands_received", "appeal_bands", ["received_at"])
    connection = op.get_bind()
    received_at = sa.column("received_at", UtcDateTime)
    appeals = sa.table("appeals", received_at, *(sa.column(n) for n in ("appeal_no", "subject", "content")))
    newest = connection.execute(sa.select(received_at).order_by(received_at.desc()).limit(1)).scalar()
    if newest is None:
        return
    recent = connection.execute(
        sa.select(appeals.c.appeal_no, appeals.c.received_at, appeals.c.subject, appeals.c.content).where(
            appeals.c.received_at >= newest - timedelta(days=1)
        )
    ).all()
    table = sa.table(
        "appeal_bands", sa.column("band"), sa.column("appeal_no"), sa.column("received_at", UtcDateTime)
    )
    rows = [
        {"band": band, "appeal_no": r.appeal_no, "received_at": r.received_at}
        for r in recent
        for band in bands(signature(f"{r.subject}{r.content}"))
    ]
    if rows:
        connection.execute(table.insert(), rows)


def downgrade() -> None:
    op.drop_index("ix_appeal_bands_received", table_name="appeal_bands")
    op.drop_table("appeal_bands")

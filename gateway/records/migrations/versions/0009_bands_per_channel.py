"""The duplicate bands keep the newest appeal of each channel: ``appeal_bands`` keyed by (band, channel).

``appeal_bands`` held every appeal of the duplicate hours under each of its 21 bands. An appeal
whose text many earlier ones of its own channel share (a template sent by hundreds, or the same
few hundred texts of a load test) found all of them under its bands and read each, only to leave
them out as of its own channel: the look-up grew with how often the text had been seen (a run of
the retention bench: 12.6 ms of CPU per appeal at 50,000 appeals, 20.7 at 200,000). A band now
holds at most one appeal per channel, the newest, so the look-up reads at most one row per other
channel and band. The appeals of the day before the newest recorded one are banded again here.

Revision ID: 0009_bands_per_channel
Revises: 0008_duplicate_bands
Create Date: 2026-12-04
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from alembic import op

from gateway.records.links import PERMUTATIONS, bands, signature
from gateway.records.schema import UtcDateTime

revision = "0009_bands_per_channel"
down_revision = "0008_duplicate_bands"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_appeal_bands_received", table_name="appeal_bands")
    op.drop_table("appeal_bands")
    op.create_table(
        "appeal_bands",
        sa.Column("band", sa.BigInteger, primary_key=True),
        sa.Column("channel_id", sa.String(64), primary_key=True),
        sa.Column("appeal_no", sa.String(40), nullable=False),
        sa.Column("received_at", UtcDateTime, nullable=False),
    )
    op.create_index("ix_appeal_bands_received", "appeal_bands", ["received_at"])
    connection = op.get_bind()
    received_at = sa.column("received_at", UtcDateTime)
    names = ("appeal_no", "channel_id", "subject", "content", "minhash")
    appeals = sa.table("appeals", received_at, *(sa.column(n) for n in names))
    newest = connection.execute(sa.select(received_at).order_by(received_at.desc()).limit(1)).scalar()
    if newest is None:
        return
    recent = connection.execute(
        sa.select(appeals).where(appeals.c.received_at >= newest - timedelta(days=1)).order_by(received_at)
    ).all()
    kept: dict[tuple[int, str], dict[str, object]] = {}
    for r in recent:  # oldest first: the newest of a channel is the one left under each band
        stored = r.minhash if r.minhash and len(r.minhash) == 4 * PERMUTATIONS else None
        for band in bands(stored or signature(f"{r.subject}{r.content}")):
            kept[(band, r.channel_id)] = {
                "band": band,
                "channel_id": r.channel_id,
                "appeal_no": r.appeal_no,
                "received_at": r.received_at,
            }
    table = sa.table(
        "appeal_bands",
        *(sa.column(n) for n in ("band", "channel_id", "appeal_no")),
        sa.column("received_at", UtcDateTime),
    )
    if kept:
        connection.execute(table.insert(), list(kept.values()))


def downgrade() -> None:
    connection = op.get_bind()
    rows = connection.execute(sa.text("SELECT band, appeal_no, received_at FROM appeal_bands")).all()
    op.drop_index("ix_appeal_bands_received", table_name="appeal_bands")
    op.drop_table("appeal_bands")
    op.create_table(
        "appeal_bands",
        sa.Column("band", sa.BigInteger, primary_key=True),
        sa.Column("appeal_no", sa.String(40), primary_key=True),
        sa.Column("received_at", UtcDateTime, nullable=False),
    )
    op.create_index("ix_appeal_bands_received", "appeal_bands", ["received_at"])
    if rows:
        table = sa.table("appeal_bands", sa.column("band"), sa.column("appeal_no"), sa.column("received_at"))
        connection.execute(table.insert(), [dict(r._mapping) for r in rows])

"""The index of two-character words: ``appeals.bigrams`` (the character bigrams of the subject and
content, :mod:`gateway.records.bigrams`), filled for the appeals already recorded, a batch at a time,
then indexed: PostgreSQL a GIN index on the ``text[]``, SQLite the FTS5 table ``appeals_bigrams``
(external content on ``appeals``, kept by triggers like ``appeals_fts``).

Revision ID: 0005_bigrams
Revises: 0004_sessions
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gateway.records.bigrams import bigrams
from gateway.records.schema import Bigrams

revision = "0005_bigrams"
down_revision = "0004_sessions"
branch_labels = None
depends_on = None

BATCH = 1000
SQLITE_FTS = [
    "CREATE VIRTUAL TABLE appeals_bigrams USING fts5(bigrams, content='appeals', content_rowid='id', "
    "tokenize='unicode61 remove_diacritics 0', detail=none)",  # a word's appeals, not its places
    "INSERT INTO appeals_bigrams(appeals_bigrams) VALUES ('rebuild')",  # the rows filled below
    "CREATE TRIGGER appeals_bigrams_insert AFTER INSERT ON appeals BEGIN "
    "INSERT INTO appeals_bigrams(rowid, bigrams) VALUES (new.id, new.bigrams); END",
    "CREATE TRIGGER appeals_bigrams_delete AFTER DELETE ON appeals BEGIN "
    "INSERT INTO appeals_bigrams(appeals_bigrams, rowid, bigrams) "
    "VALUES ('delete', old.id, old.bigrams); END",
    "CREATE TRIGGER appeals_bigrams_update AFTER UPDATE OF bigrams ON appeals "
    "WHEN old.bigrams IS NOT new.bigrams BEGIN "
    "INSERT INTO appeals_bigrams(appeals_bigrams, rowid, bigrams) VALUES ('delete', old.id, old.bigrams); "
    "INSERT INTO appeals_bigrams(rowid, bigrams) VALUES (new.id, new.bigrams); END",
]
POSTGRES_GIN = [
    "ALTER TABLE appeals ALTER COLUMN bigrams SET NOT NULL",
    "CREATE INDEX ix_appeals_bigrams ON appeals USING gin (bigrams)",
]


def _backfill(connection: sa.Connection) -> None:
    """Every recorded appeal's bigrams, BATCH rows at a time in the order of their ids."""
    table = sa.table(
        "appeals", sa.column("id"), sa.column("subject"), sa.column("content"), sa.column("bigrams", Bigrams)
    )
    update = (
        table.update()
        .where(table.c.id == sa.bindparam("row_id"))
        .values(bigrams=sa.bindparam("row_bigrams", type_=Bigrams()))
    )
    after = 0
    while True:
        rows = connection.execute(
            sa.select(table.c.id, table.c.subject, table.c.content)
            .where(table.c.id > after)
            .order_by(table.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        connection.execute(
            update, [{"row_id": r.id, "row_bigrams": bigrams(r.subject, r.content)} for r in rows]
        )
        after = rows[-1].id


def upgrade() -> None:
    connection = op.get_bind()
    sqlite = connection.dialect.name == "sqlite"
    # SQLite adds a NOT NULL column only with a default; PostgreSQL's is set NOT NULL once filled
    default = sa.text("''") if sqlite else None
    op.add_column("appeals", sa.Column("bigrams", Bigrams, nullable=not sqlite, server_default=default))
    _backfill(connection)
    for statement in SQLITE_FTS if sqlite else POSTGRES_GIN:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER appeals_bigrams_{trigger}")
        op.execute("DROP TABLE appeals_bigrams")
        op.execute("ALTER TABLE appeals DROP COLUMN bigrams")
    else:
        op.drop_index("ix_appeals_bigrams", "appeals")
        op.drop_column("appeals", "bigrams")

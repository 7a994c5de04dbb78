"""Alembic environment: always handed an open connection by :func:`gateway.records.migrate.upgrade`
(which owns the one transaction every pending migration runs in)."""

from __future__ import annotations

from alembic import context

from gateway.records.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()

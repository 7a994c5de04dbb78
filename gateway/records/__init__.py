"""The appeal record in a relational database (SQLAlchemy 2 async, Alembic): the system of record for
every appeal, its history events, deliveries and raw payloads. Redis stays the hot path.

db         where the record lives (SQLite in ``HOTLINE_DATA_DIR`` or ``DATABASE_URL``), engines
schema     the tables (made by the migrations in ``migrations/``; ``migrate`` runs them)
rows       pure: Redis hashes and events as rows
write      idempotent upserts and inserts
hot        reading Redis for the record; writing a batch
recorder   the consumer of the loop-events stream; its lag
retention  dropping filed appeals from Redis once recorded
search     the operators' search; ``read`` an appeal back; ``export`` the archive
service    what the runtime holds; ``find_appeal`` for every surface about one appeal
"""

from gateway.records.migrate import MigrationFailed
from gateway.records.service import Records, find_appeal

__all__ = ["MigrationFailed", "Records", "find_appeal"]

"""Where the record lives and how to reach it: SQLite in ``HOTLINE_DATA_DIR`` unless ``DATABASE_URL``
names another database (``postgresql+asyncpg://user@host/db``).

SQLite runs in WAL mode (readers never wait for the recorder), reads through a memory map (search
seeks many rows; ``sqlite_mmap_mb``, 0 for none), waits up to 5 s for a lock, keeps a fixed pool of
``SQLITE_CONNECTIONS`` that share ``sqlite_cache_mb`` of page cache (each connection's cache lives
in the heap, so the pool opens no more: a burst of sessions waits for a connection instead of
growing the heap), and wraps DDL in real transactions (pysqlite's own implicit transactions do not
cover DDL), so a migration that fails leaves the schema as it was.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

T = TypeVar("T")
WRITING = "hotline_writing"  # the execution option of writing()'s connections
SQLITE_FILE = "hotline.db"
SQLITE_CONNECTIONS = 5  # the recorder, retention, repeat review and the API's reads; no overflow


def database_url(env: Mapping[str, str], data_dir: Path) -> str:
    """``DATABASE_URL``, else SQLite in the data directory (``postgres://`` is read as asyncpg)."""
    url = env.get("DATABASE_URL", "").strip()
    if not url:
        return f"sqlite+aiosqlite:///{data_dir / SQLITE_FILE}"
    for plain in ("postgres://", "postgresql://"):
        if url.startswith(plain):
            return "postgresql+asyncpg://" + url[len(plain) :]
    return url


def safe_url(url: str) -> str:
    """The URL without its password, for logs."""
    return make_url(url).render_as_string(hide_password=True)


def make_engine(url: str, *, sqlite_cache_mb: int = 64, sqlite_mmap_mb: int = 1024) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_async_engine(url, pool_size=5, max_overflow=5, pool_pre_ping=True)
    if parsed.database:
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(
        url, connect_args={"timeout": 5}, pool_size=SQLITE_CONNECTIONS, max_overflow=0, pool_timeout=30
    )
    cache_kib = max(1024, sqlite_cache_mb * 1024 // SQLITE_CONNECTIONS)
    sync = engine.sync_engine

    @event.listens_for(sync, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (below)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.execute(f"PRAGMA cache_size=-{cache_kib}")  # KiB (negative), this connection's share
        cursor.execute(f"PRAGMA mmap_size={sqlite_mmap_mb * 2**20}")  # reads through the OS page cache
        cursor.close()

    @event.listens_for(sync, "begin")
    def _begin(connection: Any) -> None:
        immediate = connection.get_execution_options().get(WRITING, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


@asynccontextmanager
async def writing(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A transaction that writes (``engine.begin()`` for reads). On SQLite it takes the write lock
    as it begins (``BEGIN IMMEDIATE``, waiting for another writer up to the busy timeout): a deferred
    transaction that read first cannot write once another connection has written meanwhile (WAL
    refuses to upgrade its older snapshot) and fails at once with "database is locked", which made
    the recorder report its database down while retention wrote beside it."""
    async with engine.connect() as conn:
        await conn.execution_options(**{WRITING: True})
        async with conn.begin():
            yield conn


def padded(values: Sequence[T]) -> list[T]:
    """``values`` made as long as the next power of two by repeating the last one, for an
    ``IN (...)``: each length of an IN list is a statement of its own, which the database prepares
    and keeps (pysqlite keeps 128 per connection, asyncpg 100), so lists of every length up to a
    batch's grew the heap for the first hundred thousand appeals. A repeated value changes no IN."""
    if not values:
        return []
    size = 1 << (len(values) - 1).bit_length()
    return [*values, *[values[-1]] * (size - len(values))]


def is_sqlite(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "sqlite"

"""``hotline-gateway db upgrade|current``, ``records rebuild``, ``appeals search|export``: the record
from the command line, against the database a serving gateway uses (``DATABASE_URL``, else SQLite
in ``HOTLINE_DATA_DIR``)."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.errors import BadRequest
from gateway.records.db import database_url, make_engine, safe_url
from gateway.records.migrate import MigrationFailed, current, head, upgrade

T = TypeVar("T")
log = structlog.get_logger("records")


def url() -> str:
    return database_url(os.environ, Path(os.environ.get("HOTLINE_DATA_DIR", "var")).resolve())


def _with_engine(fn: Callable[[AsyncEngine], Awaitable[T]], *, migrate: bool = True) -> T:
    async def run() -> T:
        engine = make_engine(url())
        try:
            if migrate:
                await upgrade(engine)
            return await fn(engine)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def backup(target: Path) -> int:
    """A consistent copy of the SQLite record while the gateway writes (SQLite's online backup API)."""
    import sqlite3

    from sqlalchemy.engine import make_url

    parsed = make_url(url())
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        print(
            "db backup copies the SQLite record; for PostgreSQL use pg_dump (docs/operations.md)",
            file=sys.stderr,
        )
        return 2
    with sqlite3.connect(parsed.database) as source, sqlite3.connect(target) as copy:
        source.backup(copy)
    print(f"{parsed.database} -> {target}")
    return 0


def cmd_db(args: argparse.Namespace) -> int:
    if args.db_command == "backup":
        return backup(Path(args.target))
    try:
        if args.db_command == "upgrade":
            before, now = _with_engine(upgrade, migrate=False)
            print(f"{safe_url(url())}: {before or 'empty'} -> {now}")
            return 0
        found = _with_engine(current, migrate=False)
    except MigrationFailed as e:
        print(e.message, file=sys.stderr)
        return 2
    print(f"{safe_url(url())}: revision {found or 'none'} (newest {head()})")
    return 0 if found == head() else 1


def cmd_records(args: argparse.Namespace) -> int:
    from gateway.cli import _config, _with_store
    from gateway.progress import progress
    from gateway.records.hot import Context
    from gateway.records.rebuild import rebuild
    from gateway.records.rows import county
    from gateway.runtime import shanghai_now

    gazetteer = _config(args).router.gazetteer

    async def run(redis: Any, keys: Any) -> Any:
        engine = make_engine(url())
        try:
            await upgrade(engine)
            ctx = Context(redis, keys, engine, lambda a: county(gazetteer, a), shanghai_now)
            with progress("replaying appeals") as advance:
                return await rebuild(ctx, replayed=advance)
        finally:
            await engine.dispose()

    done = _with_store(run)
    print(f"{done.appeals} appeals and {done.events} events replayed into {safe_url(url())}")
    return 0


def cmd_appeals(args: argparse.Namespace) -> int:
    if args.appeals_command == "search":
        return _search(args)
    return _export(args)


def _search(args: argparse.Namespace) -> int:
    from gateway.records.search import SearchQuery, parse_query, search

    names = ("q", "phone", "unit", "state", "channel", "category", "area", "from", "to", "page", "per_page")
    params = {n: [str(v)] for n in names if (v := getattr(args, n.replace("from", "from_"))) is not None}
    try:
        query: SearchQuery = parse_query(params)
    except BadRequest as e:
        print(e.message, file=sys.stderr)
        return 2
    found = _with_engine(lambda engine: search(engine, query))
    if args.json:
        print(json.dumps(found, ensure_ascii=False, indent=2))
        return 0
    for item in found["items"]:
        when, unit = item["received_at"][:16], item["unit"] or "-"
        print(f"{item['appeal_no']}  {when}  {item['state']:<10} {unit:<28} {item['subject']}")
    print(f"{found['total']} found (page {found['page']}, {found['per_page']} a page)", file=sys.stderr)
    return 0


def _export(args: argparse.Namespace) -> int:
    from gateway.records.export import export
    from gateway.records.search import _moment

    try:
        start, end = _moment(args.from_, end=False), _moment(args.to, end=True)
    except ValueError as e:
        print(f"--from/--to: {e}", file=sys.stderr)
        return 2
    if args.with_contact:  # who took the citizens' contact, and for when: never the data itself
        from gateway import logging as gateway_logging

        gateway_logging.configure(os.environ.get("HOTLINE_LOG_LEVEL", "INFO"), stream=sys.stderr)
        log.warning(
            "records.export_with_contact",
            user=getpass.getuser(),
            start=start.isoformat(),
            end=end.isoformat(),
        )

    async def run(engine: AsyncEngine) -> int:
        if args.with_contact:
            from gateway.accounts import audit
            from gateway.runtime import shanghai_now

            actor, span = f"cli:{getpass.getuser()}", {"start": start.isoformat(), "end": end.isoformat()}
            await audit.write(engine, shanghai_now(), actor, "admin", audit.EXPORT_CONTACT, span=span)
        if args.output == "-":
            return await export(
                engine, sys.stdout, start, end, fmt=args.format, with_contact=args.with_contact
            )
        with open(args.output, "w", encoding="utf-8", newline="") as out:  # noqa: ASYNC230 (CLI only)
            return await export(engine, out, start, end, fmt=args.format, with_contact=args.with_contact)

    count = _with_engine(run)
    print(f"{count} appeals exported", file=sys.stderr)
    return 0


def add_parsers(sub: Any, default_config: str) -> None:
    db = sub.add_parser("db", help="the record's database: migrate, show the revision")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="apply every pending migration (all or none)")
    db_sub.add_parser("current", help="the schema's revision (exit 1 when behind)")
    db_backup = db_sub.add_parser("backup", help="copy the SQLite record while the gateway runs")
    db_backup.add_argument("target", help="the file to write")
    db.set_defaults(fn=cmd_db)

    records = sub.add_parser("records", help="the record of the loop")
    records_sub = records.add_subparsers(dest="records_command", required=True)
    rebuild = records_sub.add_parser("rebuild", help="replay into the record what Redis still holds")
    rebuild.add_argument("--config", default=default_config)
    records.set_defaults(fn=cmd_records)

    appeals = sub.add_parser("appeals", help="search and export the record of appeals")
    appeals_sub = appeals.add_subparsers(dest="appeals_command", required=True)
    search = appeals_sub.add_parser("search", help="appeals by text, phone, unit, state..., newest first")
    search.add_argument("q", nargs="?", help="words of the subject or content")
    for name in ("phone", "unit", "state", "channel", "category", "area", "to"):
        search.add_argument(f"--{name}")
    search.add_argument("--from", dest="from_", metavar="FROM")
    search.add_argument("--page", type=int)
    search.add_argument("--per-page", dest="per_page", type=int)
    search.add_argument("--json", action="store_true")
    export = appeals_sub.add_parser("export", help="the appeals received in a period, for the archive")
    export.add_argument("--from", dest="from_", required=True, metavar="FROM", help="a date or ISO time")
    export.add_argument("--to", required=True, help="a date (inclusive) or ISO time (exclusive)")
    export.add_argument("--format", choices=("csv", "jsonl"), default="jsonl")
    export.add_argument("--output", default="-", help="a file; '-' for standard output")
    export.add_argument("--with-contact", action="store_true", help="include the citizen's contact (logged)")
    appeals.set_defaults(fn=cmd_appeals)

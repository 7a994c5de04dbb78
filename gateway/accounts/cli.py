"""``hotline-gateway accounts add|list|disable|enable|token|password``: the centre's staff accounts,
in the database a serving gateway uses (``DATABASE_URL``, else SQLite in ``HOTLINE_DATA_DIR``)."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from typing import Any

from gateway.accounts.store import AccountStore, Role
from gateway.errors import RequestError
from gateway.records.cli import _with_engine
from gateway.runtime import shanghai_now


def _password(name: str) -> str:
    """The new password: from standard input when that is not a terminal (first line), else asked twice."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass(f"new password for {name}: ")
    if getpass.getpass("again: ") != first:
        raise SystemExit("the two passwords differ; nothing was changed")
    return first


def cmd_accounts(args: argparse.Namespace) -> int:
    command = args.accounts_command
    password = _password(args.name) if command == "password" else ""

    async def run(engine: Any) -> Any:
        store, now = AccountStore(engine), shanghai_now()
        if command == "add":
            return await store.add(args.name, args.role, now)
        if command == "list":
            return await store.list()
        if command == "token":
            return await store.new_token(args.name, now)
        if command == "password":
            return await store.set_password(args.name, password, now)
        return await (store.disable if command == "disable" else store.enable)(args.name, now)

    try:
        result = _with_engine(run)
    except RequestError as e:
        print(f"accounts {command}: {e.message}", file=sys.stderr)
        return 2
    if command in ("add", "token"):
        print(result)
        print(f"the personal API token of {args.name}: shown once, kept only as its hash", file=sys.stderr)
    elif command == "list":
        for a in result:
            if args.json:
                line = {
                    "name": a.name,
                    "role": a.role.value,
                    "disabled": a.disabled,
                    "password": a.has_password,
                }
                print(json.dumps(line | {"created_at": a.created_at.isoformat()}, ensure_ascii=False))
            else:
                status = "disabled" if a.disabled else "enabled"
                print(f"{a.name:<24} {a.role.value:<11} {status:<9} {'password' if a.has_password else '-'}")
    else:
        print(f"{args.name}: {command} done", file=sys.stderr)
    return 0


def add_parsers(sub: Any) -> None:
    accounts = sub.add_parser("accounts", help="staff accounts: operators, supervisors, admins")
    accounts_sub = accounts.add_subparsers(dest="accounts_command", required=True)
    add = accounts_sub.add_parser("add", help="a new account; prints its personal API token")
    add.add_argument("name")
    add.add_argument("--role", required=True, help="|".join(r.value for r in Role))
    listing = accounts_sub.add_parser("list", help="every account, its role and status")
    listing.add_argument("--json", action="store_true")
    for name, text in (
        ("disable", "refuse the account's token and sessions from now on"),
        ("enable", "accept the account again"),
        ("token", "a new personal API token (the old one stops working)"),
        ("password", "set the password (from standard input when it is not a terminal)"),
    ):
        accounts_sub.add_parser(name, help=text).add_argument("name")
    accounts.set_defaults(fn=cmd_accounts)

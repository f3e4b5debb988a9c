"""The accounts on the device's shell: `python -m frostserver.accounts COMMAND` in the app container.

    add NAME [--role viewer|admin]   make a user (the password: stdin's first line when stdin is
                                     not a terminal, so scripts can pipe it; else asked twice)
    passwd NAME                      set a user's password (ends their sessions)
    remove NAME                      remove a user
    list                             the users
    token NAME --scope read|write    make an API token; printed once, alone on its line
    tokens                           the tokens (never the tokens themselves)
    revoke ID                        revoke a token
    logout NAME                      end every session of a user
    setup-code                       the code that claims the device in the browser (nothing once claimed)

`make user NAME=... ROLE=...` and `make token NAME=... SCOPE=...` run it through `docker compose exec`.
The audit log names the actor `cli` and the client `local`. Exit status: 0 done, 1 refused (the
message says why), 2 a usage mistake.
"""

from __future__ import annotations

import argparse
import getpass
import sys
import time
from collections.abc import Sequence
from typing import TextIO

from ..config import SettingsError, load_settings
from ..logs import configure_logging
from .actions import Accounts
from .hash_gate import NoGate
from .model import AccountsError, Role, Scope, check_password, check_role, check_scope
from .store import AccountStore

ACTOR, CLIENT = "cli", "local"


def main(argv: Sequence[str] | None = None, stdin: TextIO | None = None) -> int:
    """Run one command; return the exit status."""
    arguments = parser().parse_args(argv)
    stdin = sys.stdin if stdin is None else stdin
    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"frostserver accounts: configuration error: {error}", file=sys.stderr)
        return 1
    # The audit's log lines: on this terminal (the app's log is the workers'); every event is in
    # the audit log too (GET /api/v1/audit).
    configure_logging("info")
    store = AccountStore(settings.accounts_home)
    accounts = Accounts(store, settings.run_dir, settings.access, NoGate(), clock=time.time)
    try:
        return run(arguments, accounts, stdin)
    except AccountsError as error:
        print(f"frostserver accounts: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"frostserver accounts: {error}", file=sys.stderr)
        return 1
    finally:
        store.close()


def parser() -> argparse.ArgumentParser:
    """Return the command line's parser."""
    top = argparse.ArgumentParser(prog="python -m frostserver.accounts", description="FrostServer's accounts.")
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add = commands.add_parser("add", help="make a user (password from stdin, or asked twice)")
    add.add_argument("name")
    add.add_argument("--role", default="viewer", choices=[role.value for role in Role])
    commands.add_parser("passwd", help="set a user's password (ends their sessions)").add_argument("name")
    commands.add_parser("remove", help="remove a user").add_argument("name")
    commands.add_parser("list", help="list the users")
    token = commands.add_parser("token", help="make an API token, printed once on a line of its own")
    token.add_argument("name")
    token.add_argument("--scope", required=True, choices=[scope.value for scope in Scope])
    commands.add_parser("tokens", help="list the tokens")
    commands.add_parser("revoke", help="revoke a token").add_argument("id", type=int)
    commands.add_parser("logout", help="end every session of a user").add_argument("name")
    commands.add_parser("setup-code", help="print the code that claims the device (nothing once claimed)")
    return top


def run(arguments: argparse.Namespace, accounts: Accounts, stdin: TextIO) -> int:
    """Carry out one parsed command."""
    command = arguments.command
    if command == "add":
        password = read_password(stdin, f"Password for {arguments.name}: ")
        user = accounts.add_user(ACTOR, arguments.name, password, check_role(arguments.role), CLIENT)
        print(f"Added {user.role.value} {user.name!r}.")
    elif command == "passwd":
        password = read_password(stdin, f"New password for {arguments.name}: ")
        user = accounts.change_user(ACTOR, arguments.name, CLIENT, password=password)
        print(f"Changed the password of {user.name!r}; their sessions have ended.")
    elif command == "remove":
        accounts.remove_user(ACTOR, arguments.name, CLIENT)
        print(f"Removed {arguments.name!r}.")
    elif command == "list":
        print_table(
            ("NAME", "ROLE", "CREATED", "LAST LOGIN", "SESSIONS"),
            [(u.name, u.role.value, when(u.created), when(u.last_login), str(u.sessions)) for u in accounts.users()],
        )
    elif command == "token":
        token, text = accounts.add_token(ACTOR, arguments.name, check_scope(arguments.scope), CLIENT)
        print(f"Token {token.id} {token.name!r} ({token.scope.value}): shown this once; keep it now.", file=sys.stderr)
        print(text)
    elif command == "tokens":
        print_table(
            ("ID", "NAME", "SCOPE", "CREATED", "BY", "LAST USED"),
            [
                (str(t.id), t.name, t.scope.value, when(t.created), t.created_by, when(t.last_used))
                for t in accounts.tokens()
            ],
        )
    elif command == "revoke":
        token = accounts.revoke_token(ACTOR, arguments.id, CLIENT)
        print(f"Revoked token {token.id} {token.name!r}.")
    elif command == "logout":
        ended = accounts.end_sessions(ACTOR, arguments.name, CLIENT)
        print(f"Ended {ended} session{'s' if ended != 1 else ''} of {arguments.name!r}.")
    elif command == "setup-code":
        code = accounts.current_setup_code()
        if code is None:
            print("FrostServer is claimed: an admin exists, so there is no setup code. Sign in, or use `make user`.")
        else:
            print(code)
    return 0


def read_password(stdin: TextIO, prompt: str) -> str:
    """Read a password: stdin's first line when it is not a terminal (scripts), else asked twice."""
    if not stdin.isatty():
        password = stdin.readline().rstrip("\r\n")
        return check_password(password)
    first = getpass.getpass(prompt)
    check_password(first)
    if getpass.getpass("Again: ") != first:
        raise AccountsError("the two passwords differ; nothing changed")
    return first


def when(stamp: float | None) -> str:
    """Show a time in UTC, or '-' for never."""
    return "-" if stamp is None else time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime(stamp))


def print_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Print rows under a header, in columns."""
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=False)]
    for row in (header, *rows):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


if __name__ == "__main__":
    sys.exit(main())

"""`python -m core users|audit|limits|serve`: a teacher's accounts, the audit, and starting the server.

python -m core users add ana --role teacher      # password prompted (or one line on stdin, --password-stdin)
python -m core users import roster.csv           # a 'name' (and 'role') column; prints passwords once
python -m core users list | remove NAME | password NAME
python -m core audit                             # who cancelled or deleted what, and when
python -m core limits [set queued=5 at-once=1 epochs=30 params=2000000 sweep-runs=20 hide-others=on]
python -m core serve [--classroom] [--port 8501] # laptop: localhost only; classroom: sign-in, network
"""
from __future__ import annotations

import argparse
import csv
import getpass
import os
import socket
import sys
import time

from core.domain.class_rules import LimitError
from core.domain.people import OPERATOR, ROLES, STUDENT, TEACHER, AccountError
from core.services import accounts, classroom
from core.settings import PROJECT_ROOT, load_settings


def add_classroom_commands(sub) -> None:
    """Add the users, audit and serve commands to the CLI's subparsers."""
    users = sub.add_parser("users", help="classroom accounts: add, import, list, remove, password")
    actions = users.add_subparsers(dest="users_action", required=True)
    add = actions.add_parser("add", help="add an account (password prompted, or read from stdin)")
    add.add_argument("name")
    add.add_argument("--role", choices=ROLES, default=STUDENT)
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin's first line")
    roster = actions.add_parser("import", help="add an account per row of a CSV roster; prints the passwords once")
    roster.add_argument("roster", type=argparse.FileType("r", encoding="utf-8-sig"))
    actions.add_parser("list", help="list the accounts")
    actions.add_parser("remove", help="remove an account (its runs stay)").add_argument("name")
    password = actions.add_parser("password", help="set an account's password (signs its browsers out)")
    password.add_argument("name")
    password.add_argument("--password-stdin", action="store_true", help="read the password from stdin's first line")
    sub.add_parser("audit", help="who cancelled, deleted or changed what, newest first").add_argument(
        "--limit", type=int, default=50)
    limits = sub.add_parser("limits", help="the class's limits for students (show, or set KEY=VALUE ...)")
    limits.add_argument("action", nargs="?", choices=("show", "set"), default="show")
    limits.add_argument("values", nargs="*", metavar="KEY=VALUE", help="e.g. queued=5 at-once=1 hide-others=on")
    serve = sub.add_parser("serve", help="start the app: on localhost, or for a class with sign-in (--classroom)")
    serve.add_argument("--classroom", action="store_true", help="sign-in on, listening on the network")
    serve.add_argument("--port", type=int, default=8501)
    serve.add_argument("--address", default=None,
                       help="address to listen on (default: localhost; 0.0.0.0 with --classroom)")


def _password(prompt: str, from_stdin: bool = False) -> str:
    """A password from the terminal (asked twice) or, with --password-stdin or when stdin is not a terminal,
    stdin's first line (as `docker login --password-stdin` reads it)."""
    if from_stdin or not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass(prompt)
    if getpass.getpass("Again: ") != first:
        raise AccountError("password: the two entries differ; nothing was changed")
    return first


def _users(args, parser) -> int:
    if args.users_action == "add":
        account = accounts.add(args.name, args.role, _password(f"Password for {args.name}: ", args.password_stdin))
        print(f"user {account.name} added ({account.role})")
    elif args.users_action == "import":
        made = accounts.import_roster(args.roster.read())
        out = csv.writer(sys.stdout)
        out.writerow(["name", "role", "password"])
        out.writerows(made)
        print(f"# {len(made)} accounts added; these passwords are shown only now: hand them out or save this",
              file=sys.stderr)
    elif args.users_action == "list":
        listed = accounts.accounts()
        for account in listed:
            added = time.strftime("%Y-%m-%d", time.localtime(account.created_at))
            print(f"{account.name:<24} {account.role:<8} added {added}")
        if not listed:
            print("no accounts yet: python -m core users add NAME --role teacher", file=sys.stderr)
    elif args.users_action == "remove":
        accounts.remove(args.name)
        print(f"user {args.name} removed (their runs stay)")
    else:
        accounts.set_password(args.name, _password(f"New password for {args.name}: ", args.password_stdin))
        print(f"password of {args.name} changed; their browsers are signed out")
    return 0


def _audit(args, parser) -> int:
    for row in accounts.audit(limit=args.limit):
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(row.at))
        print(f"{when}  {row.actor or 'operator':<16} {row.action:<12} {row.target:<12} {row.detail}")
    return 0


def _limits(args, parser) -> int:
    if args.action == "set":
        if not args.values:
            raise LimitError("limits: give KEY=VALUE pairs, e.g. queued=5 at-once=1 (none clears a limit)")
        pairs = {}
        for item in args.values:
            key, sep, value = item.partition("=")
            if not sep:
                raise LimitError(f"{item}: write it as KEY=VALUE, e.g. queued=5")
            pairs[key.strip()] = value
        rules = classroom.set_rules(pairs, actor=OPERATOR)
    else:
        rules = classroom.rules()
    for key, value, meaning in rules.describe():
        print(f"{key:<12} {value:>12}  {meaning}")
    return 0


def network_addresses() -> list[str]:
    """Addresses of this machine a classroom can reach (not loopback), best guess first."""
    found = []
    try:  # the address of the interface that routes outward (no packet is sent for a UDP "connect")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("192.0.2.1", 9))
            found.append(probe.getsockname()[0])
    except OSError:
        pass
    try:
        found += [a[4][0] for a in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)]
    except OSError:
        pass
    return [a for a in dict.fromkeys(found) if not a.startswith("127.")]


def _serve(args, parser) -> int:
    settings = load_settings()
    env = dict(os.environ)
    if args.classroom:
        if not any(a.role == TEACHER for a in accounts.accounts(settings)):
            raise AccountError("classroom: there is no teacher account yet; add one first: "
                               "python -m core users add NAME --role teacher")
        env["TRAINLAB_CLASSROOM"] = "1"
        address, script = args.address or "0.0.0.0", "serve.py"
        shown = network_addresses() if address == "0.0.0.0" else [address]
        for host in shown or ["<this machine's address>"]:
            print(f"Share with the class: http://{host}:{args.port}")
    else:
        if settings.classroom:
            raise AccountError("serve: TRAINLAB_CLASSROOM is on; start with --classroom (sign-in) or unset it")
        address, script = args.address or "localhost", "app.py"
    command = [sys.executable, "-m", "streamlit", "run", script, "--server.address", address,
               "--server.port", str(args.port)]
    # Streamlit takes this process's place, so stopping it (Ctrl-C, kill, a service manager) stops the server.
    os.chdir(PROJECT_ROOT)
    os.execvpe(command[0], command, env)


CLASSROOM_COMMANDS = {"users": _users, "audit": _audit, "limits": _limits, "serve": _serve}

"""`netkeep account create|list|disable|password`: who may sign in to the /ui pages."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.table import Table

from core.cli_support import cli_actor, cli_session, console, emit_json, handle_errors
from core.timeutil import show, utcnow
from web import accounts

account_app = typer.Typer(
    help="Web accounts: people who sign in to the /ui pages (staff by role, or a customer).",
    no_args_is_help=True,
)
Name = Annotated[str, typer.Argument(help="the account name (stored lower-case)")]
FromStdin = Annotated[
    bool, typer.Option("--password-stdin", help="read the password from one line of stdin")
]


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    value: str = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    return value


@account_app.command("create")
@handle_errors
def account_create(
    name: Name,
    role: Annotated[str, typer.Option(help=f"one of {', '.join(accounts.ROLES)}")],
    customer: Annotated[
        str | None, typer.Option(help="a customer account's customer (as on its contracts)")
    ] = None,
    locale: Annotated[str, typer.Option(help="ja or en")] = "ja",
    password_stdin: FromStdin = False,
) -> None:
    """Create an account; the password is asked for without echo (or read from stdin)."""
    password = _read_password(password_stdin)
    with cli_session() as session:
        row = accounts.create_account(
            session=session,
            actor=cli_actor(),
            name=name,
            password=password,
            role=role,
            customer=customer,
            locale=locale,
        )
        shown = f"{row.name}: {row.role}" + (f" of {row.customer}" if row.customer else "")
    console.print(f"{shown} created", markup=False)


@account_app.command("list")
@handle_errors
def account_list(json_out: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Every account (never a password or its hash)."""
    with cli_session() as session:
        data = [
            {
                "name": r.name,
                "role": r.role,
                "customer": r.customer,
                "locale": r.locale,
                "disabled": r.disabled_at is not None,
                "created_at": show(r.created_at),
            }
            for r in accounts.list_accounts(session=session)
        ]
    if json_out:
        emit_json(data)
        return
    table = Table("name", "role", "customer", "locale", "disabled", "created")
    for r in data:
        table.add_row(
            str(r["name"]),
            str(r["role"]),
            str(r["customer"] or ""),
            str(r["locale"]),
            "yes" if r["disabled"] else "",
            str(r["created_at"]),
        )
    console.print(table)


@account_app.command("disable")
@handle_errors
def account_disable(name: Name) -> None:
    """The account can no longer sign in; its open sessions end at once."""
    with cli_session() as session:
        row = accounts.disable_account(session=session, actor=cli_actor(), name=name, now=utcnow())
        shown = row.name
    console.print(f"{shown} disabled", markup=False)


@account_app.command("password")
@handle_errors
def account_password(name: Name, password_stdin: FromStdin = False) -> None:
    """Set a new password; the account's open sessions end."""
    password = _read_password(password_stdin)
    with cli_session() as session:
        row = accounts.set_password(
            session=session, actor=cli_actor(), name=name, password=password, now=utcnow()
        )
        shown = row.name
    console.print(f"{shown}: password set", markup=False)

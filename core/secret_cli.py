"""`netkeep secret set|list|delete`: a customer's named secrets (`secret:NAME` in sheets)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.table import Table

from core import secret_store
from core.cli_support import cli_actor, cli_session, console, emit_json, handle_errors, settings
from core.keys import installation_key
from core.timeutil import show, utcnow

secret_app = typer.Typer(
    help="Named secrets a sheet refers to as secret:NAME (per customer, encrypted).",
    no_args_is_help=True,
)
Customer = Annotated[str, typer.Argument(help="the customer the secret belongs to")]
Name = Annotated[str, typer.Argument(help="the name sheets use: secret:NAME")]


def _read_value(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    value: str = typer.prompt("secret value", hide_input=True, confirmation_prompt=True)
    return value


@secret_app.command("set")
@handle_errors
def secret_set(
    customer: Customer,
    name: Name,
    stdin: Annotated[bool, typer.Option("--stdin", help="read the value from stdin")] = False,
) -> None:
    """Create or replace a secret (asked for without echo, or one line of stdin)."""
    value = _read_value(stdin)
    with cli_session() as session:
        row = secret_store.set_secret(
            session=session,
            actor=cli_actor(),
            cipher=installation_key(settings()).fernet(),
            customer=customer,
            name=name,
            value=value,
            now=utcnow(),
        )
        console.print(f"{row.customer}: secret:{row.name} set", markup=False)


@secret_app.command("list")
@handle_errors
def secret_list(
    customer: Annotated[str | None, typer.Option(help="one customer's only")] = None,
    json_out: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The secrets' names (never their values)."""
    with cli_session() as session:
        data = [
            {
                "customer": r.customer,
                "name": r.name,
                "updated_at": show(r.updated_at),
                "updated_by": r.updated_by,
            }
            for r in secret_store.list_secrets(session=session, customer=customer)
        ]
    if json_out:
        emit_json(data)
        return
    table = Table("customer", "name", "updated", "by")
    for r in data:
        table.add_row(r["customer"], r["name"], r["updated_at"], r["updated_by"])
    console.print(table)


@secret_app.command("delete")
@handle_errors
def secret_delete(customer: Customer, name: Name) -> None:
    """Remove a secret; sheets naming it no longer load."""
    with cli_session() as session:
        secret_store.delete_secret(session=session, actor=cli_actor(), customer=customer, name=name)
    console.print(f"{customer}: secret:{name} deleted", markup=False)


def local_lookup(customer: str, name: str) -> str | None:
    """`secret:NAME` for a sheet run from the CLI: the store is opened only when one is named."""
    with cli_session() as session:
        cipher = installation_key(settings()).fernet()
        return secret_store.reveal(session=session, cipher=cipher, customer=customer, name=name)

"""`netkeep db ...` and `netkeep token ...`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from core import auth, migrate
from core.auth import TokenRole
from core.cli_support import cli_actor, cli_session, console, emit_json, handle_errors, settings
from core.timeutil import show, utcnow

db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)
token_app = typer.Typer(help="API tokens and their roles.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="target revision")] = "head",
) -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    migrate.upgrade(settings().database_url, revision)
    console.print(f"database at [bold]{revision}[/bold]")


@db_app.command("current")
def db_current() -> None:
    """Show the database's revision."""
    migrate.current(settings().database_url)


@token_app.command("create")
@handle_errors
def token_create(
    role: Annotated[
        TokenRole, typer.Option(help="admin, noc, field, logistics, viewer or customer")
    ],
    name: Annotated[str, typer.Option(help="who or what uses it, e.g. noc-desk")],
    customer: Annotated[
        str | None, typer.Option(help="a customer token's customer (as on its contracts)")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Issue a token; it is shown once and stored only as a hash."""
    with cli_session() as session:
        issued = auth.create_token(
            session=session, actor=cli_actor(), name=name, role=role, customer=customer
        )
    if json_out:
        emit_json(
            {
                "name": issued.name,
                "role": issued.role.value,
                "token": issued.token,
                "customer": issued.customer,
            }
        )
    else:
        console.print(f"token for [bold]{issued.name}[/bold] ({issued.role.value}), shown once:")
        console.print(issued.token, markup=False, highlight=False)


@token_app.command("list")
@handle_errors
def token_list(json_out: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List tokens (never their values)."""
    with cli_session() as session:
        rows = auth.list_tokens(session=session)
        data = [
            {
                "name": r.name,
                "role": r.role,
                "prefix": r.prefix,
                "customer": r.customer or "",
                "created_at": show(r.created_at),
                "revoked_at": show(r.revoked_at),
            }
            for r in rows
        ]
    if json_out:
        emit_json(data)
        return
    table = Table("name", "role", "prefix", "customer", "created", "revoked")
    for r in data:
        table.add_row(
            r["name"], r["role"], r["prefix"] + "…", r["customer"], r["created_at"], r["revoked_at"]
        )
    console.print(table)


@token_app.command("revoke")
@handle_errors
def token_revoke(
    name: str,
    force: Annotated[
        bool, typer.Option("--force", help="revoke even the last live admin token")
    ] = False,
) -> None:
    """Revoke a token by name (running servers refuse it within 2 s)."""
    with cli_session() as session:
        auth.revoke_token(
            session=session,
            actor=cli_actor(),
            name=name,
            now=utcnow(),
            allow_own=force,
            allow_last_admin=force,
        )
    console.print(f"token {name} revoked")

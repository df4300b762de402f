"""The `netkeep` command: every domain's sub-commands, `serve` and `demo`."""

from __future__ import annotations

import contextlib
from typing import Annotated

import typer

from changes.cli import change_app
from core.cli import db_app, token_app
from core.cli_support import console, settings
from doctor.cli import doctor_cmd
from inventory.cli import catalogue_app, inventory_app
from inventory.contract_cli import contract_app
from provisioning.cli import register as register_provisioning
from rma.cli import rma_app
from sandbox.cli import serve_sandbox
from survey.cli import survey_app
from vpn.cli import vpn_app

app = typer.Typer(
    name="netkeep",
    help="netkeep — managed Meraki network service: inventory, contracts, sandbox, API.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.add_typer(db_app, name="db")
app.add_typer(token_app, name="token")
app.add_typer(inventory_app, name="inventory")
app.add_typer(catalogue_app, name="catalogue")
app.add_typer(contract_app, name="contract")
app.add_typer(rma_app, name="rma")
app.add_typer(survey_app, name="survey")
app.add_typer(vpn_app, name="vpn")
app.add_typer(change_app, name="change")
app.command("sandbox")(serve_sandbox)
app.command("doctor")(doctor_cmd)
register_provisioning(app)


@app.command("serve")
def serve(
    host: Annotated[str | None, typer.Option(help="default NETKEEP_API_HOST")] = None,
    port: Annotated[int | None, typer.Option(help="default NETKEEP_API_PORT")] = None,
    workers: int = 1,
) -> None:
    """Upgrade the database, then serve the HTTP API."""
    import uvicorn

    from core import migrate

    cfg = settings()
    migrate.upgrade(cfg.database_url)
    uvicorn.run(
        "api.main:app",
        host=host or cfg.api_host,
        port=port or cfg.api_port,
        workers=workers,
        log_level="info",
    )


@app.command("demo")
def demo(
    port: Annotated[int | None, typer.Option(help="API port (default NETKEEP_API_PORT)")] = None,
    sandbox_port: int = 8787,
    smtp_port: Annotated[int, typer.Option(help="the mail sink's port (0: a free one)")] = 0,
    serve_api: Annotated[
        bool, typer.Option("--serve/--no-serve", help="serve the API after")
    ] = True,
) -> None:
    """Create the SQLite database, load sample data, start the sandbox, print a tour, serve."""
    import uvicorn

    from api.app import create_app
    from core.settings import DEFAULT_SANDBOX_URL
    from netkeep.demo import load_demo, tour
    from netkeep.mailsink import running_mail_sink
    from sandbox.app import SandboxConfig
    from sandbox.server import running_sandbox

    cfg = settings()
    data = load_demo(cfg.database_url)
    api_port = port or cfg.api_port
    with contextlib.ExitStack() as stack:
        sandbox_url = None
        if cfg.meraki_base_url == DEFAULT_SANDBOX_URL:
            server = stack.enter_context(
                running_sandbox(
                    SandboxConfig(api_key=cfg.meraki_api_key.get_secret_value()), port=sandbox_port
                )
            )
            sandbox_url = server.base_url
            cfg = cfg.model_copy(update={"meraki_base_url": sandbox_url})
        sink = stack.enter_context(running_mail_sink(cfg.var_dir / "mail", port=smtp_port))
        cfg = cfg.model_copy(update={"smtp_host": sink.host, "smtp_port": sink.port})
        console.print(
            tour(
                token=data.admin_token,
                api_url=f"http://{cfg.api_host}:{api_port}",
                sandbox_url=sandbox_url,
                mail=sink,
            ),
            markup=False,
            highlight=False,
        )
        if serve_api:
            uvicorn.run(create_app(cfg), host=cfg.api_host, port=api_port, log_level="info")


def main() -> None:
    app()

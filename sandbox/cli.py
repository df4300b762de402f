"""`netkeep sandbox`: serve the local Meraki dashboard stand-in (blocking)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
import uvicorn

from sandbox.app import SandboxConfig, create_app
from sandbox.faults import parse_faults
from sandbox.server import bind_socket, uvicorn_config


def serve_sandbox(
    port: Annotated[int, typer.Option(help="TCP port to listen on.")] = 8787,
    host: Annotated[str, typer.Option(help="Address to bind (keep it on loopback).")] = "127.0.0.1",
    seed: Annotated[str, typer.Option(help="Initial data: demo or empty.")] = "demo",
    rate_limit: Annotated[
        float, typer.Option(help="Requests per second per organization; 0 lifts the limit.")
    ] = 10.0,
    api_key: Annotated[
        str | None, typer.Option(help="API key to accept (default: sandbox-api-key).")
    ] = None,
    admin_token: Annotated[
        str | None,
        typer.Option(help="Admin token for /_sandbox (default: a random one, printed once)."),
    ] = None,
    faults: Annotated[
        str | None, typer.Option(help='Faults, e.g. "5xx=0.1,latency=50ms,429burst=5,drop=0.01".')
    ] = None,
    state_file: Annotated[
        Path | None,
        typer.Option(
            help="JSON file: loaded at start if present, saved on shutdown and on snapshot."
        ),
    ] = None,
    claim_settle: Annotated[
        float, typer.Option(help="Seconds a newly claimed device answers 404.")
    ] = 0.2,
    claim_limit: Annotated[
        int,
        typer.Option(
            help="Claims per organization within the window (the dashboard: 10); 0: none."
        ),
    ] = 0,
    claim_window: Annotated[
        float, typer.Option(help="Seconds the claim limit counts over (the dashboard: 300).")
    ] = 300.0,
    network_settle: Annotated[
        float, typer.Option(help="Seconds a newly created network answers 404.")
    ] = 0.2,
) -> None:
    """Serve the Meraki Dashboard API v1 sandbox until interrupted."""
    try:
        fault_config = parse_faults(faults)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--faults") from exc
    config = SandboxConfig(
        seed=seed,
        rate_limit=rate_limit or None,
        faults=fault_config,
        state_file=state_file,
        claim_settle=claim_settle,
        claim_limit=claim_limit or None,
        claim_window=claim_window,
        network_settle=network_settle,
    )
    if api_key:
        config.api_key = api_key
    if admin_token:
        config.admin_token = admin_token
    sock = bind_socket(host, port)
    shown = f"[{host}]" if ":" in host else host
    typer.echo(f"Meraki dashboard sandbox  base URL: http://{shown}:{port}/api/v1")
    typer.echo(f"  API key:     {config.api_key}")
    typer.echo(f"  admin token: {config.admin_token}  (header X-Sandbox-Admin-Token, /_sandbox/)")
    typer.echo(
        f"  seed: {seed}  rate limit: {rate_limit or 'none'} req/s/org  faults: {faults or 'none'}"
    )
    server = uvicorn.Server(uvicorn_config(create_app(config), host, port, log_level="info"))
    server.run(sockets=[sock])


def main() -> None:
    """Stand-alone entry point: python -m sandbox.cli."""
    typer.run(serve_sandbox)


if __name__ == "__main__":
    main()

"""The `netkeep` command: every domain's sub-commands, `serve` and `demo`.

Start-up costs Typer alone, so `netkeep --help` answers at once: a domain's commands (and the
SQLAlchemy, FastAPI, matplotlib, netmiko, openpyxl … they need) are imported only when one of
them runs or its own `--help` is asked for. To add commands, add one line to `SUB_COMMANDS`, never
an import at the top of this module (a test fails if `import netkeep.cli` pulls a heavy library):

    Lazy("doctor", "doctor.cli:doctor_cmd", "Check the installation: database, dashboard, mail."),

`target` is "module:attribute" naming a Typer sub-app, a single command function, or a function
called `register` that adds several commands to the app it is given (list each name it adds).
`help` is what `netkeep --help` lists without importing the module; a test checks that it is the
command's own first line of help.
"""

from __future__ import annotations

import contextlib
import importlib
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any

import typer
from typer.core import TyperCommand, TyperGroup


@dataclass(frozen=True, slots=True)
class Lazy:
    """A command loaded on first use: its name, where it lives, and its one line of help."""

    name: str
    target: str
    help: str


SUB_COMMANDS: tuple[Lazy, ...] = (
    Lazy("db", "core.cli:db_app", "Database schema (Alembic migrations)."),
    Lazy("token", "core.cli:token_app", "API tokens and their roles."),
    Lazy(
        "account",
        "web.cli:account_app",
        "Web accounts: people who sign in to the /ui pages (staff by role, or a customer).",
    ),
    Lazy(
        "secret",
        "core.secret_cli:secret_app",
        "Named secrets a sheet refers to as secret:NAME (per customer, encrypted).",
    ),
    Lazy(
        "inventory",
        "inventory.cli:inventory_app",
        "Devices: import, list, show, status, reconcile.",
    ),
    Lazy(
        "catalogue", "inventory.cli:catalogue_app", "The model catalogue (successors, list prices)."
    ),
    Lazy(
        "contract",
        "inventory.contract_cli:contract_app",
        "Contracts: devices, acceptance, initial fee, end.",
    ),
    Lazy(
        "monitor",
        "monitoring.cli:monitor_app",
        "Device liveness: poll now, list outages and received alerts, open an RMA from an outage.",
    ),
    Lazy(
        "rma",
        "rma.cli:rma_app",
        "Advance-replacement (send-back) maintenance: open, decide, reserve, release, ship, swap, "
        "pick up, receive, sweep, remind, extend, waive.",
    ),
    Lazy(
        "survey",
        "survey.cli:survey_app",
        "Wireless site survey: floors, layouts, exclusions, measurements, planned APs, the "
        "preparation sheet (導入準備シート), its approval and the generated settings sheet.",
    ),
    Lazy(
        "vpn",
        "vpn.cli:vpn_app",
        "VPN service (Option 4): eligibility checks, construction, client users, status reports.",
    ),
    Lazy(
        "change",
        "changes.cli:change_app",
        "Change requests (設定変更依頼): submit, approve, schedule, apply, accept; site checks.",
    ),
    Lazy(
        "sheet",
        "provisioning.cli:register",
        "Settings and change-request sheets: templates and validation.",
    ),
    Lazy(
        "plan",
        "provisioning.cli:register",
        "Show what applying the sheets would change, field by field, and what it costs.",
    ),
    Lazy(
        "apply",
        "provisioning.cli:register",
        "Apply sheets (plan, estimate, confirm, journalled writes, verify) or resume a job.",
    ),
    Lazy(
        "rollback",
        "provisioning.cli:register",
        "Restore the snapshot taken before a job (secrets cannot be restored).",
    ),
    Lazy("job", "provisioning.cli:register", "Provisioning jobs and their journals."),
    Lazy(
        "incident",
        "helpdesk.cli:incident_app",
        "Helpdesk incidents (seed 003): open, answer, reply, close, after-hours, list, counts, "
        "sweep.",
    ),
    Lazy(
        "sla",
        "sla.cli:sla_app",
        "SLA credits (seeds 004, 000): contract policies, outages, the monthly credit report.",
    ),
    Lazy(
        "rehearse",
        "provisioning.cli_rehearse:rehearse_cmd",
        "Apply a throw-away network to a real organization, verify, roll back and delete it.",
    ),
    Lazy(
        "doctor",
        "doctor.cli:doctor_cmd",
        "Check the invariants between inventory, RMA, contracts, ownership, jobs and dashboard.",
    ),
    Lazy(
        "worker",
        "jobs.cli:worker_cmd",
        "Run the recurring and background jobs on PostgreSQL (procrastinate) until stopped.",
    ),
    Lazy(
        "sandbox",
        "sandbox.cli:serve_sandbox",
        "Serve the Meraki Dashboard API v1 sandbox until interrupted.",
    ),
)
_BY_NAME = {entry.name: entry for entry in SUB_COMMANDS}


@cache
def _host(target: str, name: str) -> TyperGroup:
    """The commands `target` provides, built the way Typer builds any app."""
    module_name, _, attribute = target.partition(":")
    provided: Any = getattr(importlib.import_module(module_name), attribute)
    host = typer.Typer()
    if isinstance(provided, typer.Typer):
        host.add_typer(provided, name=name)
    elif attribute == "register":
        provided(host)
    else:
        host.command(name)(provided)
    host.command("_")(lambda: None)  # two commands, so Typer always builds a group
    group = typer.main.get_group(host)
    assert isinstance(group, TyperGroup)
    return group


def load(name: str) -> Any:
    """The real click command behind a lazy name (imports its module)."""
    entry = _BY_NAME[name]
    key = name if entry.target.rpartition(":")[2] != "register" else ""
    return _host(entry.target, key).commands[name]


class LazyGroup(TyperGroup):
    """The root group: lists every command from `SUB_COMMANDS`, imports one only to run it."""

    _listing = False

    def list_commands(self, ctx: Any) -> list[str]:
        return [*(e.name for e in SUB_COMMANDS if e.name not in self.commands), *self.commands]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name in self.commands or cmd_name not in _BY_NAME:
            return self.commands.get(cmd_name)
        if self._listing:  # `netkeep --help` shows the line of help without the import
            return TyperCommand(name=cmd_name, help=_BY_NAME[cmd_name].help)
        command = self.commands[cmd_name] = load(cmd_name)
        return command

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


app = typer.Typer(
    cls=LazyGroup,
    name="netkeep",
    help="netkeep — managed Meraki network service: inventory, contracts, sandbox, API.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)


@app.command("serve")
def serve(
    host: Annotated[str | None, typer.Option(help="default NETKEEP_API_HOST")] = None,
    port: Annotated[int | None, typer.Option(help="default NETKEEP_API_PORT")] = None,
    workers: int = 1,
) -> None:
    """Upgrade the database, then serve the HTTP API."""
    import uvicorn

    from core import migrate
    from core.cli_support import console, settings
    from core.keys import installation_key

    cfg = settings()
    migrate.upgrade(cfg.database_url)
    installation_key(cfg)  # generated at first start (var/secret.key, 0600)
    bind_host, bind_port = host or cfg.api_host, port or cfg.api_port
    if workers == 1:  # on SQLite this process also runs the periodic jobs (README "Jobs")
        import logging

        from api.app import create_app

        jobs_log = logging.getLogger("netkeep.jobs")  # each run's outcome beside uvicorn's lines
        jobs_log.setLevel(logging.INFO)
        jobs_log.addHandler(logging.StreamHandler())

        app = create_app(cfg.model_copy(update={"jobs_in_process": cfg.is_sqlite}))
        uvicorn.run(app, host=bind_host, port=bind_port, log_level="info")
        return
    if cfg.is_sqlite:
        console.print("several API workers on SQLite: the periodic jobs are not run; use one")
    uvicorn.run("api.main:app", host=bind_host, port=bind_port, workers=workers, log_level="info")


@app.command("demo")
def demo(
    port: Annotated[
        int | None, typer.Option(help="API port (default NETKEEP_API_PORT; 0: a free one)")
    ] = None,
    sandbox_port: Annotated[
        int, typer.Option(help="the Meraki sandbox's port (0: a free one)")
    ] = 8787,
    smtp_port: Annotated[int, typer.Option(help="the mail sink's port (0: a free one)")] = 0,
    serve_api: Annotated[
        bool, typer.Option("--serve/--no-serve", help="serve the API after")
    ] = True,
) -> None:
    """Create the SQLite database, load sample data, start the sandbox, print a tour, serve.

    While it runs, `var/demo.json` says where (the CLI follows it); it is removed on exit.
    """
    import os

    import uvicorn

    from api.app import create_app
    from core.cli_support import console
    from core.demo_state import DemoState, remove_state, write_state
    from core.keys import installation_key
    from core.settings import DEFAULT_SANDBOX_URL, get_settings
    from netkeep.demo import load_demo, tour
    from netkeep.mailsink import free_port, running_mail_sink
    from sandbox.app import SandboxConfig
    from sandbox.server import running_sandbox

    cfg = get_settings()  # not another running demo's ports
    data = load_demo(cfg.database_url)
    installation_key(cfg)  # generated at first start (var/secret.key, 0600)
    api_port = cfg.api_port if port is None else port or free_port(cfg.api_host)
    api_url = f"http://{cfg.api_host}:{api_port}"
    with contextlib.ExitStack() as stack:
        sandbox_url = sandbox_admin = None
        if cfg.meraki_base_url == DEFAULT_SANDBOX_URL:
            sandbox_config = SandboxConfig(api_key=cfg.meraki_api_key.get_secret_value())
            server = stack.enter_context(running_sandbox(sandbox_config, port=sandbox_port))
            sandbox_url, sandbox_admin = server.base_url, sandbox_config.admin_token
            cfg = cfg.model_copy(update={"meraki_base_url": sandbox_url})
        sink = stack.enter_context(running_mail_sink(cfg.var_dir / "mail", port=smtp_port))
        cfg = cfg.model_copy(update={"smtp_host": sink.host, "smtp_port": sink.port})
        state = DemoState(
            pid=os.getpid(),
            database_url=cfg.database_url,
            api_url=api_url if serve_api else "",
            sandbox_url=sandbox_url,
            smtp_host=sink.host,
            smtp_port=sink.port,
        )
        write_state(cfg.var_dir, state)
        stack.callback(remove_state, cfg.var_dir, state.pid)
        console.print(
            tour(
                token=data.admin_token,
                api_url=api_url,
                sandbox_url=sandbox_url,
                sandbox_admin_token=sandbox_admin,
                mail=sink,
                web_accounts=data.web_accounts,
            ),
            markup=False,
            highlight=False,
        )
        if serve_api and sandbox_url:  # the sandbox POSTs its alerts to this API
            cfg = _demo_webhooks(cfg, sandbox_url, api_url)
        if serve_api:  # on SQLite the periodic jobs run in this process too
            cfg = cfg.model_copy(update={"jobs_in_process": cfg.is_sqlite})
            uvicorn.run(create_app(cfg), host=cfg.api_host, port=api_port, log_level="info")


DEMO_NETWORKS = ("N_demo_tokyo", "N_demo_osaka", "N_demo_yokohama")
DEMO_ALERTS = ["applianceDown", "gatewayDown", "vpnConnectivityChange", "settingsChanged"]


def _demo_webhooks(cfg: Any, sandbox_url: str, api_url: str) -> Any:
    """A fresh webhook secret, and the demo networks' alerts sent to this API's receiver."""
    import secrets

    from pydantic import SecretStr

    from dashboard.monitoring import MerakiMonitoring

    secret = secrets.token_urlsafe(24)
    dashboard = MerakiMonitoring(
        api_key=cfg.meraki_api_key.get_secret_value(), base_url=sandbox_url
    )
    for network_id in DEMO_NETWORKS:
        dashboard.configure_webhook(
            network_id=network_id,
            name="netkeep",
            url=f"{api_url}/webhooks/meraki",
            shared_secret=secret,
            alert_types=DEMO_ALERTS,
        )
    return cfg.model_copy(update={"monitor_webhook_secret": SecretStr(secret)})


def main() -> None:
    app()

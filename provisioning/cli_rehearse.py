"""`netkeep rehearse`: a throw-away network applied to a real organization and taken away again.

Plans and applies an example sheet (`provisioning/examples/`) as a new network named
``netkeep-rehearsal-<UTC time>`` — without its devices, which a real organization does not
own — verifies it, rolls it back and deletes the network, all through the same services and
journal as `netkeep apply` and `netkeep rollback`. Without NETKEEP_MERAKI_API_KEY it says so and
does nothing (the one place a skip is right). `--base-url` points it at the sandbox instead.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from core.cli_support import (
    cli_actor,
    cli_session,
    console,
    emit_json,
    handle_errors,
    settings,
)
from core.errors import DomainError
from core.timeutil import utcnow
from provisioning import service
from provisioning.sheet_io import load_sheet
from provisioning.sheet_model import Sheet

EXAMPLES = Path(__file__).parent / "examples"
REAL_DASHBOARD = "https://api.meraki.com/api/v1"
KEY_VARIABLE = "NETKEEP_MERAKI_API_KEY"
FAILED_EXIT = 6


def rehearsal_sheet(example: str, name: str) -> Sheet:
    """The example's settings for a new network `name`, without the example's devices."""
    sheet = load_sheet(EXAMPLES / f"{example}.yaml")
    site = sheet.site.model_copy(update={"name": name})
    return sheet.model_copy(update={"site": site, "devices": None})


@handle_errors
def rehearse_cmd(
    org: Annotated[str, typer.Option("--org", help="the organization to rehearse in")],
    base_url: Annotated[
        str | None,
        typer.Option("--base-url", help=f"the dashboard API (default {REAL_DASHBOARD})"),
    ] = None,
    example: Annotated[
        str, typer.Option("--example", help="router | utm: the example sheet to apply")
    ] = "router",
    json_out: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Apply a throw-away network to a real organization, verify, roll back and delete it."""
    if not os.environ.get(KEY_VARIABLE):
        console.print(
            f"rehearsal skipped: {KEY_VARIABLE} is not set. Set it to an API key of the "
            f"organization (and give --org) to rehearse against the real dashboard.",
            markup=False,
        )
        return
    if example not in ("router", "utm"):
        raise typer.BadParameter("router or utm", param_hint="--example")
    from dashboard.provisioning import MerakiProvisioning  # the SDK only when it is used

    config = settings().model_copy(
        update={"meraki_base_url": base_url or REAL_DASHBOARD, "meraki_org_id": org}
    )
    dashboard = MerakiProvisioning.from_settings(config, organization_id=org)
    options = service.ProvisioningOptions.from_settings(config)
    name = f"netkeep-rehearsal-{utcnow():%Y%m%d-%H%M%S}"
    sheet = rehearsal_sheet(example, name)
    report: dict[str, Any] = {"organization": org, "network": name, "steps": []}
    started = time.monotonic()

    def step(label: str, status: str, **detail: Any) -> None:
        report["steps"].append({"step": label, "status": status, **detail})
        if not json_out:
            extra = " ".join(f"{k}={v}" for k, v in detail.items())
            console.print(f"{label}: {status} {extra}".rstrip(), markup=False)

    ok = False
    actor = cli_actor()
    with cli_session() as session:
        applied = None
        try:
            plan = service.plan_sheet(dashboard=dashboard, sheet=sheet, options=options)
            step("plan", "ok", changes=len(plan.changes), estimated_calls=plan.estimate.calls)
            applied = service.apply_plan(
                session=session, dashboard=dashboard, sheet=sheet, plan=plan, actor=actor,
                clock=utcnow, options=options,
            )  # fmt: skip
            step("apply+verify", str(applied.status), job=applied.id)
        except DomainError as exc:
            step("apply", "failed", error=exc.message)
        network = dashboard.find_network(name)
        if applied is not None and applied.network_id:
            try:
                undone = service.rollback_job(
                    session=session, dashboard=dashboard, job_id=applied.id or 0, actor=actor,
                    clock=utcnow, options=options, delete_network=True,
                )  # fmt: skip
                step("rollback+delete", str(undone.status), job=undone.id)
            except DomainError as exc:
                step("rollback+delete", "failed", error=exc.message)
        elif network is not None:
            step("cleanup", "needed", network_id=network["id"])
        left = dashboard.find_network(name)
        step("network removed", "yes" if left is None else "no")
        ok = (
            applied is not None
            and applied.status == "done"
            and left is None
            and all(s["status"] not in ("failed", "needed") for s in report["steps"])
        )
    report["ok"] = ok
    report["calls"] = dashboard.stats.snapshot()
    report["seconds"] = round(time.monotonic() - started, 1)
    if json_out:
        emit_json(report)
    else:
        console.print(
            f"rehearsal {'passed' if ok else 'FAILED'}: {report['calls']['calls']} calls, "
            f"{report['calls']['rate_limited']} 429s seen, {report['seconds']} s",
            markup=False,
        )
    if not ok:
        raise typer.Exit(FAILED_EXIT)

"""`netkeep doctor`: print each violation with its repair; the exit code says whether any."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer

from core.cli_support import console, emit_json, err_console, handle_errors, settings
from core.exit_codes import ExitCode

EXIT_VIOLATIONS = ExitCode.FOUND
EXIT_DASHBOARD = ExitCode.DASHBOARD


@handle_errors
def doctor_cmd(
    stuck_after: Annotated[
        int, typer.Option(min=1, help="minutes a pending/running job may stay idle")
    ] = 60,
    dashboard: Annotated[
        bool, typer.Option("--dashboard/--no-dashboard", help="also read the organization")
    ] = True,
    json_out: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Check the invariants between inventory, RMA, contracts, ownership, jobs and dashboard.

    Exit 0 when clean, 1 when there are violations, 6 when the dashboard could not be read.
    """
    from core.cli_support import cli_session
    from core.timeutil import utcnow
    from dashboard.meraki import MerakiDashboard
    from doctor import service
    from doctor.schemas import DoctorOut

    cfg = settings()
    with cli_session() as session:
        findings = service.check(
            session=session,
            dashboard=MerakiDashboard.from_settings(cfg) if dashboard else None,
            organization_id=cfg.meraki_org_id,
            now=utcnow(),
            stuck_after=timedelta(minutes=stuck_after),
        )
    out = DoctorOut.of(findings)
    if json_out:
        emit_json(out)
    else:
        for v in out.violations:
            line = f"✗ [{v.invariant}] {v.subject}: {v.message}"
            console.print(line, style="red", markup=False, highlight=False)
            console.print(f"    repair: {v.repair}", markup=False, highlight=False)
        if findings.dashboard_error:
            err_console.print(f"dashboard not checked: {findings.dashboard_error}", markup=False)
        elif not findings.dashboard_checked:
            console.print("dashboard not checked (--no-dashboard)")
        n = len(out.violations)
        console.print("no violations" if n == 0 else f"{n} violation(s)")
    if out.violations:
        raise typer.Exit(EXIT_VIOLATIONS)
    if findings.dashboard_error:
        raise typer.Exit(EXIT_DASHBOARD)

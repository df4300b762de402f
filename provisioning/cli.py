"""`netkeep sheet`, `plan`, `apply`, `rollback`, `job`: thin over the provisioning services."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from core.cli_support import (
    cli_actor,
    cli_session,
    console,
    emit_json,
    err_console,
    handle_errors,
    settings,
)
from core.errors import Problem, ValidationFailed
from core.exit_codes import ExitCode
from core.secret_cli import local_lookup
from core.settings import managed_organizations
from core.timeutil import show, utcnow
from provisioning import apply as jobs
from provisioning import rollout as rollouts
from provisioning import service
from provisioning.batching import CallEstimate
from provisioning.schemas import EstimateOut, JobOut, PlanOut, RolloutOut
from provisioning.sheet_io import load_all, load_sheet
from provisioning.sheet_model import Plan, Sheet, SheetKind, sheet_organization

if TYPE_CHECKING:
    from dashboard.provisioning import MerakiProvisioning

sheet_app = typer.Typer(help="Settings and change-request sheets: templates and validation.")
job_app = typer.Typer(help="Provisioning jobs and their journals.", no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable output")]
SheetArg = Annotated[Path, typer.Argument(help="sheet (.yaml or .xlsx)", exists=True)]
SheetsArg = Annotated[
    list[Path],
    typer.Argument(help="sheets (.yaml or .xlsx); several are applied as one rollout", exists=True),
]


def _dashboard(organization_id: str | None = None) -> MerakiProvisioning:
    """The adapter of one organization (the configured one unless named)."""
    org = organization_id or settings().meraki_org_id
    return _dashboards([org])[org]


def _dashboards(organization_ids: Iterable[str]) -> dict[str, MerakiProvisioning]:
    """One adapter per organization, one shared budget (`dashboard.provisioning.dashboards_for`)."""
    from dashboard.provisioning import dashboards_for  # the SDK only when it is used

    found = dashboards_for(settings(), organization_ids)
    for dash in found.values():
        dash.meter.observers.append(_show_wait)
    return found


def _organization(sheet: Sheet) -> str:
    return sheet_organization(sheet, settings().meraki_org_id)


def rollout_sites(loaded: list[Sheet], names: list[str]) -> list[rollouts.RolloutSite]:
    """Each sheet on the adapter of its own organization (`site.organizationId`)."""
    dashboards = _dashboards(_organization(sheet) for sheet in loaded)
    return [
        rollouts.RolloutSite(dashboards[_organization(sheet)], sheet, source=name)
        for sheet, name in zip(loaded, names, strict=True)
    ]


def _show_wait(organization_id: str, wait: Any) -> None:
    """A dashboard that said "wait": shown on stderr (above the progress bar), never fatal."""
    what = f"answered {wait.status}" if wait.status else "dropped the connection"
    err_console.print(
        f"dashboard {what} to {wait.method} {wait.path} (organization {organization_id}); "
        f"waiting {wait.seconds:.1f} s (attempt {wait.attempt})",
        markup=False,
        highlight=False,
    )


def _options() -> service.ProvisioningOptions:
    return service.ProvisioningOptions.from_settings(settings())


@sheet_app.command("template")
@handle_errors
def template(
    plan: Annotated[Plan, typer.Option("--plan", help="utm | router | wireless")],
    output: Annotated[Path, typer.Option("-o", "--out", "--output", help="the .xlsx to write")],
    kind: Annotated[SheetKind, typer.Option("--kind")] = SheetKind.SETTINGS,
    example: Annotated[bool, typer.Option(help="one example row per tab")] = False,
) -> None:
    """Write a blank Excel sheet for a plan."""
    from provisioning.excel import write_template  # openpyxl only to write Excel
    from provisioning.excel_layout import example_secret_variables

    path = write_template(plan, output, kind, example=example)
    console.print(f"wrote {path}", highlight=False)
    if example and (names := example_secret_variables(plan)):
        console.print(
            "the example reads its secrets from the environment / 秘密情報は環境変数から: "
            + " ".join(f"{name}=..." for name in names),
            highlight=False,
            markup=False,
        )


@sheet_app.command("validate")
@handle_errors
def validate(sheet: SheetArg) -> None:
    """Check a sheet; every problem is listed with its place (exit 2)."""
    loaded = load_sheet(
        sheet, secrets=local_lookup, organizations=managed_organizations(settings())
    )
    console.print(f"{sheet.name}: valid {loaded.kind} sheet for {loaded.site.name}", markup=False)


def _plan_table(out: PlanOut) -> Table:
    table = Table("resource", "action", "field", "before", "after", title=out.network_name)
    for change in out.changes:
        fields = change["fields"] or [{"field": "", "before": "", "after": ""}]
        for i, f in enumerate(fields):
            after = "set" if f.get("secret") else str(f.get("after", ""))
            before = "" if f.get("secret") else str(f.get("before", "") or "")
            table.add_row(
                change["resource"] if i == 0 else "",
                change["action"] if i == 0 else "",
                f["field"],
                before[:60],
                after[:60],
            )
    return table


def _show_plan(out: PlanOut) -> None:
    for ref, status in out.secrets.items():
        console.print(f"{out.network_name}: secret {ref}: {status}", markup=False)
    for serial, outcome in out.units.items():
        console.print(f"{out.network_name}: unit {serial}: {outcome}", markup=False)
    if not out.changes:
        console.print(f"{out.network_name}: no changes", markup=False)
        return
    console.print(_plan_table(out))
    e = out.estimate
    console.print(
        f"estimate: {e.calls} calls ({e.reads} reads, {e.batches} batches, {e.direct} direct, "
        f"{e.polls} polls, {e.verify_reads} verify reads), about {e.seconds:.1f} s",
        highlight=False,
    )


def plan_cmd(sheets: SheetsArg, json_out: JsonOpt = False) -> None:
    """Show what applying the sheets would change, field by field, and what it costs.

    Several sheets are planned as one rollout: each sheet's changes, then the rollout's cost.
    """
    loaded = load_sheets(sheets)
    options = _options()
    if len(loaded) == 1:
        with cli_session() as session:
            plan = service.plan_sheet(
                dashboard=_dashboard(_organization(loaded[0])),
                sheet=loaded[0],
                options=options,
                session=session,
                source=sheets[0].name,
            )
        out = PlanOut.of(plan)
        if json_out:
            emit_json(out)
        else:
            _show_plan(out)
        return
    sites = rollout_sites(loaded, [path.name for path in sheets])
    with cli_session() as session:
        plans = rollouts.plan_rollout(sites, options, session=session)
    estimate, alone = rollouts.rollout_cost(plans, options)
    if json_out:
        emit_json(
            {
                "plans": [PlanOut.of(p) for p in plans],
                "estimate": EstimateOut.of(estimate),
                "one_sheet_at_a_time": alone,
            }
        )
        return
    for plan in plans:
        _show_plan(PlanOut.of(plan))
    _show_rollout_cost(sites, estimate, alone)


def _show_rollout_cost(
    sites: list[rollouts.RolloutSite], estimate: CallEstimate, alone: int
) -> None:
    console.print(_rollout_table(sites))
    console.print(
        f"estimate: {estimate.calls} calls ({estimate.reads} reads, {estimate.batches} "
        f"batches, {estimate.direct} direct, {estimate.polls} polls, "
        f"{estimate.verify_reads} verify reads), about {estimate.seconds:.1f} s"
        + (
            f" (of which {estimate.claim_wait:.0f} s waiting for the claim limit)"
            if estimate.claim_wait
            else ""
        )
        + f"; {alone} one sheet at a time",
        highlight=False,
    )


def _summary(out: JobOut) -> None:
    r = out.result
    console.print(
        f"job {out.id}: {out.status} — {r.get('calls', 0) + r.get('plan_reads', 0)} calls, "
        f"{r.get('batches', 0)} batches, {r.get('rate_limited', 0)} 429s seen, "
        f"{r.get('server_errors', 0)} 5xx retried, {r.get('duration_s', 0)} s",
        highlight=False,
    )
    for row in out.verify_diff:
        console.print(f"  still differs: {row['resource']} {row['fields']}", markup=False)
    for item in out.not_restorable:
        console.print(f"  not restored: {item}", markup=False)
    if out.error:
        console.print(f"  error: {out.error}", markup=False)
    if out.continue_with:
        console.print(f"  continue with: {out.continue_with}", markup=False)


def _run_with_progress(run: Any, *, quiet: bool = False) -> Any:
    if quiet:
        return run(None)
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=console
    ) as bar:
        task = bar.add_task("applying", total=None)

        def progress(done: int, total: int, label: str) -> None:
            bar.update(task, completed=done, total=total, description=label[:40])

        return run(progress)


def load_sheets(paths: list[Path]) -> list[Sheet]:
    """Every sheet loaded, or every problem of every sheet at once (each with its file); a
    sheet naming an organization netkeep does not manage is one of them."""
    managed = managed_organizations(settings())
    return load_all(
        (path.name, partial(load_sheet, path, secrets=local_lookup, organizations=managed))
        for path in paths
    )


def _rollout_table(sites: list[rollouts.RolloutSite]) -> Table:
    table = Table("site", "network", "changes", "calls alone", title="rollout")
    for site in sites:
        assert site.plan is not None
        table.add_row(
            site.plan.network_name,
            site.plan.network_id or "(new)",
            str(len(site.plan.changes)),
            str(rollouts.alone_calls(site.plan)),
        )
    return table


def _rollout_summary(out: RolloutOut) -> None:
    console.print(
        f"rollout {out.rollout}: {out.status} — {len(out.jobs)} jobs, "
        f"{out.calls.get('calls', 0)} calls, {out.calls.get('rate_limited', 0)} 429s seen, "
        f"{out.seconds} s",
        highlight=False,
    )
    for job in out.jobs:
        line = f"  job {job.id} {job.network_name}: {job.status}"
        console.print(line + (f" — {job.error}" if job.error else ""), markup=False)
        for row in job.verify_diff:
            console.print(f"    still differs: {row['resource']} {row['fields']}", markup=False)
    if out.status != "done":
        console.print(
            f"  continue with: netkeep apply SHEETS... --rollout {out.rollout}", markup=False
        )


def _apply_rollout(
    loaded: list[Sheet],
    names: list[str],
    rollout: str | None,
    yes: bool,
    options: service.ProvisioningOptions,
    json_out: bool,
) -> RolloutOut:
    sites, actor = rollout_sites(loaded, names), cli_actor()
    with cli_session() as session:
        if rollout is not None:
            ids = jobs.unfinished_jobs(session=session, rollout=rollout)
            with jobs.claim_jobs(session=session, job_ids=ids, what=f"rollout {rollout}"):
                outcome = _run_with_progress(
                    lambda progress: rollouts.resume_rollout(
                        session=session, rollout=rollout, sites=sites, actor=actor,
                        clock=utcnow, options=options, progress=progress,
                    ),
                    quiet=json_out,
                )  # fmt: skip
            return RolloutOut.of_outcome(outcome)
        plans = rollouts.plan_rollout(sites, options, session=session)
        estimate, alone = rollouts.rollout_cost(plans, options)
        if not json_out:
            _show_rollout_cost(sites, estimate, alone)
        if all(p.empty for p in plans):
            return RolloutOut.of(None, [])
        if not yes and not typer.confirm(f"apply {sum(1 for p in plans if p.changes)} sheets?"):
            raise typer.Exit(ExitCode.FOUND)
        outcome = _run_with_progress(
            lambda progress: rollouts.apply_rollout(
                session=session, sites=sites, actor=actor, clock=utcnow, options=options,
                progress=progress,
            ),
            quiet=json_out,
        )  # fmt: skip
        return RolloutOut.of_outcome(outcome, estimate, alone)


def apply_cmd(
    sheets: SheetsArg,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask")] = False,
    resume: Annotated[int | None, typer.Option("--resume", help="continue job JOB")] = None,
    rollout: Annotated[
        str | None, typer.Option("--rollout", help="continue rollout R (give all its sheets)")
    ] = None,
    full_verify: Annotated[
        bool,
        typer.Option("--full-verify", help="read every collection back, direct writes included"),
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Apply sheets (plan, estimate, confirm, journalled writes, verify) or resume a job.

    Several sheets are applied as one rollout: one job each, sharing the dashboard's reads and
    action batches.
    """
    loaded = load_sheets(sheets)
    options = _options()
    if full_verify:
        options = replace(options, full_verify=True)
    if rollout is not None or (len(loaded) > 1 and resume is None):
        names = [path.name for path in sheets]
        out = _apply_rollout(loaded, names, rollout, yes, options, json_out)
        if json_out:
            emit_json(out)
        elif out.rollout is None:
            console.print("nothing to do: every sheet matches the dashboard", markup=False)
        else:
            _rollout_summary(out)
        if out.status not in ("done", "nothing to do"):
            failed = any(j.status == "failed" for j in out.jobs)
            raise typer.Exit(ExitCode.DASHBOARD if failed else ExitCode.VERIFY_FAILED)
        return
    if len(loaded) > 1:
        raise ValidationFailed([Problem("--resume continues one job: give its one sheet", "")])
    _apply_one(loaded[0], sheets[0].name, yes, resume, options, json_out)


def _apply_one(
    loaded: Sheet,
    name: str,
    yes: bool,
    resume: int | None,
    options: service.ProvisioningOptions,
    json_out: bool,
) -> None:
    actor = cli_actor()
    with cli_session() as session:
        if resume is not None:
            # the job's own organization, as journalled (the sheet is checked against the job)
            dash = _dashboard(jobs.get_job(session=session, job_id=resume).organization_id)
            job = _run_with_progress(
                lambda progress: service.resume_job(
                    session=session,
                    dashboard=dash,
                    job_id=resume,
                    sheet=loaded,
                    actor=actor,
                    clock=utcnow,
                    options=options,
                    progress=progress,
                ),
                quiet=json_out,
            )
        else:
            dash = _dashboard(_organization(loaded))
            plan = service.plan_sheet(
                dashboard=dash, sheet=loaded, options=options, session=session, source=name
            )
            if not json_out:
                _show_plan(PlanOut.of(plan))
            if plan.empty:
                if json_out:
                    emit_json({"status": "nothing to do", "changes": []})
                return
            if not yes and not typer.confirm("apply these changes?"):
                raise typer.Exit(ExitCode.FOUND)
            job = _run_with_progress(
                lambda progress: service.apply_plan(
                    session=session,
                    dashboard=dash,
                    sheet=loaded,
                    plan=plan,
                    actor=actor,
                    clock=utcnow,
                    options=options,
                    progress=progress,
                ),
                quiet=json_out,
            )
        out = JobOut.of(job, jobs.journal(session=session, job_id=job.id))
    if json_out:
        emit_json(out)
    else:
        _summary(out)
    if out.status != "done":
        raise typer.Exit(ExitCode.DASHBOARD if out.status == "failed" else ExitCode.VERIFY_FAILED)


@job_app.command("show")
@handle_errors
def job_show(job_id: int, json_out: JsonOpt = False) -> None:
    """A job and its journal."""
    with cli_session() as session:
        job = jobs.get_job(session=session, job_id=job_id)
        out = JobOut.of(job, jobs.journal(session=session, job_id=job_id))
    if json_out:
        emit_json(out)
        return
    _summary(out)
    table = Table("#", "step", "status", "request", "finished")
    for step in out.journal:
        table.add_row(
            str(step.number),
            step.action,
            step.status,
            step.request_id or "",
            show(step.finished_at),
        )
    console.print(table)


@job_app.command("list")
@handle_errors
def job_list(
    rollout: Annotated[str | None, typer.Option("--rollout", help="only this rollout's")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Recent jobs (or all of one rollout)."""
    with cli_session() as session:
        found = (
            rollouts.rollout_jobs(session=session, rollout=rollout)
            if rollout
            else jobs.list_jobs(session=session)
        )
        out = [JobOut.of(j) for j in found]
    if json_out:
        emit_json(out)
        return
    table = Table("id", "kind", "status", "network", "rollout", "by", "created")
    for j in out:
        table.add_row(
            str(j.id),
            j.kind,
            j.status,
            j.network_name,
            j.rollout or "",
            j.created_by,
            show(j.created_at),
        )
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add the provisioning commands to the `netkeep` app."""
    app.add_typer(sheet_app, name="sheet")
    app.add_typer(job_app, name="job")
    app.command("plan")(handle_errors(plan_cmd))
    app.command("apply")(handle_errors(apply_cmd))
    from provisioning.cli_rollback import rollback_cmd

    app.command("rollback")(handle_errors(rollback_cmd))

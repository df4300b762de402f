"""`netkeep sheet`, `plan`, `apply`, `rollback`, `job`: thin over the provisioning services."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from core.cli_support import cli_actor, cli_session, console, emit_json, handle_errors, settings
from core.timeutil import show, utcnow
from provisioning import apply as jobs
from provisioning import service
from provisioning.excel import write_template
from provisioning.meraki_adapter import MerakiProvisioning
from provisioning.schemas import JobOut, PlanOut
from provisioning.sheet_io import load_sheet
from provisioning.sheet_model import Plan, SheetKind

sheet_app = typer.Typer(help="Settings and change-request sheets: templates and validation.")
job_app = typer.Typer(help="Provisioning jobs and their journals.", no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable output")]
SheetArg = Annotated[Path, typer.Argument(help="sheet (.yaml or .xlsx)", exists=True)]


def _dashboard() -> MerakiProvisioning:
    return MerakiProvisioning.from_settings(settings())


def _options() -> service.ProvisioningOptions:
    return service.ProvisioningOptions.from_settings(settings())


@sheet_app.command("template")
@handle_errors
def template(
    plan: Annotated[Plan, typer.Option("--plan", help="utm | router | wireless")],
    output: Annotated[Path, typer.Option("-o", "--output", help="the .xlsx to write")],
    kind: Annotated[SheetKind, typer.Option("--kind")] = SheetKind.SETTINGS,
    example: Annotated[bool, typer.Option(help="one example row per tab")] = False,
) -> None:
    """Write a blank Excel sheet for a plan."""
    path = write_template(plan, output, kind, example=example)
    console.print(f"wrote {path}", highlight=False)


@sheet_app.command("validate")
@handle_errors
def validate(sheet: SheetArg) -> None:
    """Check a sheet; every problem is listed with its place (exit 2)."""
    loaded = load_sheet(sheet)
    console.print(f"{sheet.name}: valid {loaded.kind} sheet for {loaded.site.name}", markup=False)


def _plan_table(out: PlanOut) -> Table:
    table = Table("resource", "action", "field", "before", "after", title=out.network_name)
    for change in out.changes:
        fields = change["fields"] or [{"field": "", "before": "", "after": ""}]
        for i, f in enumerate(fields):
            after = "changed" if f.get("secret") else str(f.get("after", ""))
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


def plan_cmd(sheet: SheetArg, json_out: JsonOpt = False) -> None:
    """Show what applying the sheet would change, field by field, and what it costs."""
    out = PlanOut.of(
        service.plan_sheet(dashboard=_dashboard(), sheet=load_sheet(sheet), options=_options())
    )
    if json_out:
        emit_json(out)
    else:
        _show_plan(out)


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
        console.print(f"  not restorable: {item}", markup=False)
    if out.error:
        console.print(f"  error: {out.error}", markup=False)
        console.print(f"  continue with: netkeep apply SHEET --resume {out.id}", markup=False)


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


def apply_cmd(
    sheet: SheetArg,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask")] = False,
    resume: Annotated[int | None, typer.Option("--resume", help="continue job JOB")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Apply a sheet (plan, estimate, confirm, journalled writes, verify) or resume a job."""
    loaded = load_sheet(sheet)
    dash, options, actor = _dashboard(), _options(), cli_actor()
    with cli_session() as session:
        if resume is not None:
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
            plan = service.plan_sheet(dashboard=dash, sheet=loaded, options=options)
            if not json_out:
                _show_plan(PlanOut.of(plan))
            if plan.empty:
                if json_out:
                    emit_json({"status": "nothing to do", "changes": []})
                return
            if not yes and not typer.confirm("apply these changes?"):
                raise typer.Exit(1)
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
        raise typer.Exit(6 if out.status == "failed" else 8)


def rollback_cmd(
    job_id: Annotated[int, typer.Argument(help="the apply job to undo")],
    json_out: JsonOpt = False,
) -> None:
    """Restore the snapshot taken before a job (secrets cannot be restored)."""
    with cli_session() as session:
        job = service.rollback_job(
            session=session,
            dashboard=_dashboard(),
            job_id=job_id,
            actor=cli_actor(),
            clock=utcnow,
            options=_options(),
        )
        out = JobOut.of(job, jobs.journal(session=session, job_id=job.id or 0))
    if json_out:
        emit_json(out)
    else:
        _summary(out)


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
def job_list(json_out: JsonOpt = False) -> None:
    """Recent jobs."""
    with cli_session() as session:
        out = [JobOut.of(j) for j in jobs.list_jobs(session=session)]
    if json_out:
        emit_json(out)
        return
    table = Table("id", "kind", "status", "network", "by", "created")
    for j in out:
        table.add_row(str(j.id), j.kind, j.status, j.network_name, j.created_by, show(j.created_at))
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add the provisioning commands to the `netkeep` app."""
    app.add_typer(sheet_app, name="sheet")
    app.add_typer(job_app, name="job")
    app.command("plan")(handle_errors(plan_cmd))
    app.command("apply")(handle_errors(apply_cmd))
    app.command("rollback")(handle_errors(rollback_cmd))

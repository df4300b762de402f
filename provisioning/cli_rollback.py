"""`netkeep rollback`: restore a job's snapshot, or continue a rollback job (no sheet needed)."""

from __future__ import annotations

from typing import Annotated

import typer

from core.cli_support import cli_actor, cli_session, emit_json
from core.errors import Problem, ValidationFailed
from core.exit_codes import ExitCode
from core.timeutil import utcnow
from provisioning import apply as jobs
from provisioning import service
from provisioning.cli import JsonOpt, _dashboard, _options, _summary
from provisioning.schemas import JobOut

FAILED_EXIT = ExitCode.DASHBOARD
"""The README's exit code for a dashboard error: a rollback job that did not finish."""


def rollback_cmd(
    job_id: Annotated[int | None, typer.Argument(help="the apply job to undo")] = None,
    resume: Annotated[
        int | None, typer.Option("--resume", help="continue rollback job N (no sheet needed)")
    ] = None,
    delete_network: Annotated[
        bool,
        typer.Option(
            "--delete-network",
            help="delete the network the job created (default: leave it, reset to a new "
            "network's settings)",
        ),
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Restore the snapshot taken before a job (secrets cannot be restored).

    A network the job created is left in place and named, unless --delete-network. A rollback
    that fails exits 6 and says how to continue (`netkeep rollback --resume N`).
    """
    if (job_id is None) == (resume is None):
        raise ValidationFailed([Problem("give the apply job to undo, or --resume N", "JOB")])
    if resume is not None and delete_network:
        raise ValidationFailed(
            [Problem("--delete-network is decided when the rollback is planned", "--resume")]
        )
    actor, options = cli_actor(), _options()
    with cli_session() as session:
        # the job's own organization, as journalled
        target = resume if resume is not None else job_id
        assert target is not None
        dash = _dashboard(jobs.get_job(session=session, job_id=target).organization_id)
        if resume is not None:
            job = service.resume_rollback(
                session=session, dashboard=dash, job_id=resume, actor=actor, clock=utcnow,
                options=options,
            )  # fmt: skip
        else:
            assert job_id is not None
            job = service.rollback_job(
                session=session, dashboard=dash, job_id=job_id, actor=actor, clock=utcnow,
                options=options, delete_network=delete_network,
            )  # fmt: skip
        out = JobOut.of(job, jobs.journal(session=session, job_id=job.id or 0))
    if json_out:
        emit_json(out)
    else:
        _summary(out)
    if out.status != "done":
        raise typer.Exit(FAILED_EXIT)

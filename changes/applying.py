"""Carrying out a scheduled request: the provisioning engine, or a router over SSH.

An apply is held by the process that carries it out (`core.process_claims`, key
`apply_key`), from before its claim is committed until its outcome is: a process that dies
mid-apply (SIGKILL, a lost host, the API restarted before its background task ran) leaves the
request scheduled and claimed, and the holder gone. `resume_interrupted_applies` (the periodic
job `changes.resume_applies`: a worker on PostgreSQL, `netkeep serve`'s scheduler on SQLite)
finds such requests and finishes them: a dashboard apply whose job was journalled resumes that
job from its journal (nothing done is sent again), one that died before its job was journalled
(nothing sent) or a router push (a diff against the running configuration) is carried out again.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from datetime import datetime

from pydantic import SecretStr
from sqlalchemy import Connection
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from changes import claims
from changes.domain import ChangeStatus, Target
from changes.models import ChangeRequest
from changes.ports import CliFactory
from changes.scheduling import check_may_run
from changes.service import get_request, move, refuse, stored_sheet
from changes.validation import target_network_id
from core import audit, secret_store
from core.audit import Actor
from core.calendar import BusinessCalendar
from core.errors import DomainError, Problem, ValidationFailed
from core.process_claims import ProcessClaim, claimed, try_claim
from netdevices.ports import DeviceTarget, Platform
from netdevices.push import PushStatus, push_router_config
from netdevices.router_config import WAN_INTERFACE
from provisioning.apply import get_job
from provisioning.domain import JobStatus
from provisioning.journal import ApplyHooks
from provisioning.models import ProvisioningJob
from provisioning.plan import change_rows
from provisioning.ports import ProvisioningDashboard
from provisioning.service import ProvisioningOptions, apply_plan, plan_sheet, resume_job
from provisioning.sheet_model import Sheet

Clock = Callable[[], datetime]


def device_target(req: ChangeRequest, environ: Mapping[str, str] | None = None) -> DeviceTarget:
    """The SSH target of a CLI request, its password read from the environment now."""
    cli = dict(req.cli_target or {})
    env = os.environ if environ is None else environ
    name = str(cli.get("password_env", ""))
    if name not in env:
        raise ValidationFailed(
            [Problem(f"environment variable {name} is not set", "cli.password_env")],
            message=f"change request {req.id}: the router password is not available",
        )
    secret_name = cli.get("secret_env")
    secret = SecretStr(env[secret_name]) if secret_name and secret_name in env else None
    return DeviceTarget(
        secret=secret,
        host=str(cli["host"]),
        port=int(cli.get("port") or 22),
        device_type=Platform(cli["device_type"]),
        username=str(cli["username"]),
        password=SecretStr(env[name]),
    )


def _apply_dashboard(
    session: Session,
    req: ChangeRequest,
    sheet: Sheet,
    *,
    dashboard: ProvisioningDashboard,
    options: ProvisioningOptions,
    actor: Actor,
    clock: Clock,
    on_job: Callable[[int], None] | None = None,
    resume: bool = False,
) -> tuple[bool, dict[str, object]]:
    job = None if not resume or req.job_id is None else get_job(session=session, job_id=req.job_id)
    if job is not None and req.claimed_at is not None and job.created_at >= req.claimed_at:
        # journalled by the apply whose holder died (not an earlier attempt's): resume it
        assert req.job_id is not None
        if job.status not in (JobStatus.DONE, JobStatus.FAILED):
            job = resume_job(
                session=session, dashboard=dashboard, job_id=req.job_id, sheet=sheet,
                actor=actor, clock=clock, options=options,
            )  # fmt: skip
        return _outcome_of(req, job)
    # The customer's existing network, by the id the inventory links to the site: never a
    # network looked up (or created) by the sheet's site name.
    network_id = target_network_id(session, sheet, req.customer)
    plan = plan_sheet(
        dashboard=dashboard, sheet=sheet, options=options, network_id=network_id, session=session
    )
    req.plan_rows = change_rows(plan.changes)
    if plan.empty:
        return True, {"job_id": None, "note": "nothing to change"}

    def named(job: ProvisioningJob) -> None:
        req.job_id = job.id
        session.add(req)
        session.commit()
        if on_job is not None and job.id is not None:
            on_job(job.id)

    job = apply_plan(
        session=session,
        dashboard=dashboard,
        sheet=sheet,
        plan=plan,
        actor=actor,
        clock=clock,
        options=options,
        hooks=ApplyHooks(after_create=named),
    )
    return _outcome_of(req, job)


def _outcome_of(req: ChangeRequest, job: ProvisioningJob) -> tuple[bool, dict[str, object]]:
    req.job_id = job.id
    req.apply_error = job.error or (
        f"verification differs: {job.verify_diff}"[:2000] if job.verify_diff else None
    )
    return job.status == JobStatus.DONE, {"job_id": job.id, "job_status": job.status}


def _apply_cli(
    req: ChangeRequest,
    sheet: Sheet,
    *,
    cli_factory: CliFactory,
    environ: Mapping[str, str] | None,
) -> tuple[bool, dict[str, object]]:
    target = device_target(req, environ)
    wan = str((req.cli_target or {}).get("wan_interface") or WAN_INTERFACE)
    with cli_factory(target) as cli:
        result = push_router_config(cli=cli, sheet=sheet, wan_interface=wan)
    req.push_status = result.status.value
    req.push_journal = result.journal()
    commands = list(result.diff.commands)
    req.plan_rows = (
        [{"resource": "cli", "action": "update", "commands": commands}] if commands else []
    )
    req.apply_error = None if result.error is None else result.error.message[:2000]
    if result.status is PushStatus.VERIFY_FAILED:
        req.apply_error = f"still differs after push: {list(result.remaining.commands)}"[:2000]
    ok = result.status in (PushStatus.VERIFIED, PushStatus.UNCHANGED)
    return ok, {"push_status": result.status.value, "warnings": list(result.warnings)}


def begin_apply(
    *,
    session: Session,
    actor: Actor,
    calendar: BusinessCalendar,
    request_id: int,
    now: datetime,
    options: ProvisioningOptions | None = None,
    environ: Mapping[str, str] | None = None,
    allow_env: bool = True,
) -> Sheet:
    """Check that the request may run now, load its sheet, and claim the apply (committed).

    A refusal is kept in the history and raised; a second apply racing this one gets the
    claim's Conflict. The sheet returned (its secrets resolved) goes to `carry_out_apply`.
    """
    req = get_request(session=session, request_id=request_id)
    try:
        check_may_run(req, calendar=calendar, now=now)
        cipher = options.cipher if options is not None else None
        found = None if cipher is None else secret_store.lookup(session, cipher)
        sheet = stored_sheet(req, environ=environ, allow_env=allow_env, secrets=found)
    except DomainError as exc:
        refuse(session, req, exc, action="apply_refused", actor=actor, now=now)
        raise
    # claimed and committed before any call: one apply however many race, no lock held
    claims.claim(session, req, "apply", statuses=[ChangeStatus.SCHEDULED], actor=actor, now=now)
    return sheet


def carry_out_apply(
    *,
    session: Session,
    actor: Actor,
    request_id: int,
    sheet: Sheet,
    now: datetime,
    dashboard: ProvisioningDashboard | None = None,
    options: ProvisioningOptions | None = None,
    cli_factory: CliFactory | None = None,
    clock: Clock | None = None,
    environ: Mapping[str, str] | None = None,
    on_job: Callable[[int], None] | None = None,
    resume: bool = False,
) -> ChangeRequest:
    """Write and verify a claimed request; the verification decides applied or failed.

    A dashboard request names its provisioning job as soon as the job is journalled (committed
    before the first write, then `on_job(job_id)`), so its steps can be followed as they go.
    With `resume` (an apply whose process died), a job it named is resumed from its journal.
    """
    req = get_request(session=session, request_id=request_id)
    session.commit()  # only read: no transaction (SQLite: no write lock) across the calls
    req.apply_error, req.push_journal, req.push_status = None, [], None
    try:
        if Target(req.target) is Target.CLI:
            assert cli_factory is not None, "a CLI request needs a cli_factory"
            ok, data = _apply_cli(req, sheet, cli_factory=cli_factory, environ=environ)
        else:
            assert dashboard is not None and options is not None, "a dashboard request needs one"
            ok, data = _apply_dashboard(
                session,
                req,
                sheet,
                dashboard=dashboard,
                options=options,
                actor=actor,
                clock=clock or (lambda: now),
                on_job=on_job,
                resume=resume,
            )
    except DomainError as exc:
        ok, data = False, {"error": exc.message}
        req.apply_error = exc.message[:2000]
    except Exception as exc:
        claims.release(session, req, actor=actor, now=now, note=str(exc) or type(exc).__name__)
        raise
    target = ChangeStatus.APPLIED if ok else ChangeStatus.FAILED
    claims.clear(req)
    move(
        session,
        req,
        target,
        action=target.value,
        actor=actor,
        now=now,
        note=req.apply_error or "",
        data=data,
        apply_changes={"applied_at": now} if ok else None,
    )
    session.commit()
    return req


def apply_request(
    *,
    session: Session,
    actor: Actor,
    calendar: BusinessCalendar,
    request_id: int,
    now: datetime,
    dashboard: ProvisioningDashboard | None = None,
    options: ProvisioningOptions | None = None,
    cli_factory: CliFactory | None = None,
    clock: Clock | None = None,
    environ: Mapping[str, str] | None = None,
    allow_env: bool = True,
) -> ChangeRequest:
    """Plan, write and verify; the verification decides applied or failed. Committed.

    Applied through the API, `allow_env=False`: the sheet's ``env:`` references are refused;
    its ``secret:NAME`` ones are opened with `options.cipher`. Held by this process throughout
    (`hold_apply`): one that dies leaves it to `resume_interrupted_applies`.
    """
    with hold_apply(session, request_id):
        sheet = begin_apply(
            session=session, actor=actor, calendar=calendar, request_id=request_id, now=now,
            options=options, environ=environ, allow_env=allow_env,
        )  # fmt: skip
        return carry_out_apply(
            session=session, actor=actor, request_id=request_id, sheet=sheet, now=now,
            dashboard=dashboard, options=options, cli_factory=cli_factory, clock=clock,
            environ=environ,
        )  # fmt: skip


def apply_key(request_id: int) -> str:
    """The process claim of a request's apply (`core.process_claims`)."""
    return f"change-apply:{request_id}"


def _engine_of(session: Session) -> Engine:
    bind = session.get_bind()
    return bind.engine if isinstance(bind, Connection) else bind


def held_refusal(request_id: int) -> str:
    return (
        f"change request {request_id}: its apply is under way in another process; "
        "nothing was sent again"
    )


def hold_apply(session: Session, request_id: int) -> AbstractContextManager[ProcessClaim]:
    """Hold the request's apply in this process for the block (ClaimHeld: another holds it)."""
    return claimed(_engine_of(session), [apply_key(request_id)], held_refusal(request_id))


def try_hold_apply(session: Session, request_id: int) -> ProcessClaim | None:
    """Hold the request's apply in this process until `release` (None: another holds it); for
    an apply handed to a background task, which releases it when done."""
    return try_claim(_engine_of(session), [apply_key(request_id)])


def interrupted_applies(*, session: Session) -> list[int]:
    """Requests claimed for their apply and still scheduled (read-only; the transaction ends):
    under way, or left by a process that died. `resume_interrupted_apply` tells which."""
    stmt = select(ChangeRequest.id).where(
        ChangeRequest.claimed_for == "apply",
        ChangeRequest.status == ChangeStatus.SCHEDULED.value,
    )
    ids = sorted(i for i in session.exec(stmt.order_by(col(ChangeRequest.id))) if i is not None)
    session.commit()
    return ids


def resume_interrupted_apply(
    *,
    session: Session,
    actor: Actor,
    request_id: int,
    now: datetime,
    dashboard: ProvisioningDashboard | None = None,
    options: ProvisioningOptions | None = None,
    cli_factory: CliFactory | None = None,
    clock: Clock | None = None,
    environ: Mapping[str, str] | None = None,
) -> ChangeRequest | None:
    """Finish an apply whose process died (None: its holder is alive, or it ended meanwhile).

    Held here first, so a live apply is never taken over and two sweeps resume it once. The
    resumption is audited (`change_request.apply_resumed`) with the outcome's transaction
    following; the claim in the database stays until the outcome clears it.
    """
    hold = try_hold_apply(session, request_id)
    if hold is None:
        return None
    with hold:
        req = get_request(session=session, request_id=request_id)
        session.refresh(req)
        if req.claimed_for != "apply" or req.status != ChangeStatus.SCHEDULED:
            session.rollback()
            return None
        audit.record(
            session, actor=actor, action="change_request.apply_resumed",
            entity_type="change_request", entity_id=str(request_id),
            after={"claimed_at": str(req.claimed_at), "job_id": req.job_id}, at=now,
        )  # fmt: skip
        session.commit()
        try:
            cipher = options.cipher if options is not None else None
            found = None if cipher is None else secret_store.lookup(session, cipher)
            sheet = stored_sheet(req, environ=environ, allow_env=True, secrets=found)
        except DomainError as exc:
            claims.release(session, req, actor=actor, now=now, note=exc.message)
            refuse(session, req, exc, action="apply_refused", actor=actor, now=now)
            return get_request(session=session, request_id=request_id)
        return carry_out_apply(
            session=session, actor=actor, request_id=request_id, sheet=sheet, now=now,
            dashboard=dashboard, options=options, cli_factory=cli_factory, clock=clock,
            environ=environ, resume=True,
        )  # fmt: skip

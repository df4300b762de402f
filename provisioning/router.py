"""Thin HTTP routes over the provisioning services; applies run synchronously in the request."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, File, Query, Request, Response, UploadFile
from sqlmodel import Session

from api.deps import (
    Reader,
    SessionDep,
    SessionFactory,
    SessionRoute,
    SettingsDep,
    guard,
    session_factory,
)
from api.pages import PageOut, page_out
from api.params import Id, Limit, Offset
from api.uploads import checked_upload
from core import secret_store
from core.audit import Actor
from core.errors import NotFound
from core.keys import installation_key
from core.policy import Operation
from core.settings import Settings, managed_organizations
from core.timeutil import utcnow
from dashboard.provisioning import MerakiProvisioning, dashboards_for
from provisioning import apply as jobs
from provisioning import rollout as rollouts
from provisioning import service
from provisioning.apply import claim_jobs
from provisioning.jobs import (
    RolloutQueue,
    SheetUpload,
    read_all_uploaded,
    read_uploaded,
    rollout_payload,
)
from provisioning.schemas import JobOut, PlanOut, RollbackIn, RolloutOut, ValidationOut
from provisioning.sheet_model import Sheet, sheet_organization
from provisioning.units import check_units

router = APIRouter(tags=["provisioning"], route_class=SessionRoute)
Applier = Annotated[Actor, Depends(guard(Operation.PROVISIONING_APPLY))]
Planner = Annotated[Actor, Depends(guard(Operation.PROVISIONING_PLAN))]
Checker = Annotated[Actor, Depends(guard(Operation.SHEET_VALIDATE))]


def _bounded_sheet(
    file: Annotated[UploadFile, File(description="a sheet: .yaml/.yml or .xlsx")],
    settings: SettingsDep,
) -> UploadFile:
    """The uploaded sheet, refused (413) over `sheet_max_bytes` before it is parsed."""
    return checked_upload(file, limit=settings.sheet_max_bytes, what="sheet")


def _bounded_sheets(
    files: Annotated[
        list[UploadFile], File(description="sheets (.yaml/.yml or .xlsx), one per network")
    ],
    settings: SettingsDep,
) -> list[UploadFile]:
    return [checked_upload(f, limit=settings.sheet_max_bytes, what="sheet") for f in files]


SheetFile = Annotated[UploadFile, Depends(_bounded_sheet)]
SheetFiles = Annotated[list[UploadFile], Depends(_bounded_sheets)]


def get_provisioning_dashboard(request: Request) -> MerakiProvisioning:
    """The process's provisioning adapter (shared rate limiter), built on first use."""
    found: MerakiProvisioning | None = getattr(request.app.state, "provisioning_dashboard", None)
    if found is None:
        found = MerakiProvisioning.from_settings(request.app.state.settings)
        request.app.state.provisioning_dashboard = found
    return found


ProvisioningDep = Annotated[MerakiProvisioning, Depends(get_provisioning_dashboard)]
_BUILDING = threading.Lock()


class OrganizationDashboards:
    """The process's provisioning adapters by organization, built on first use and kept on the
    app; the configured organization's is `get_provisioning_dashboard`'s, and every one is
    paced by its budget (one shared limiter). An organization netkeep does not manage is refused
    (`dashboard.provisioning.dashboards_for`)."""

    def __init__(self, request: Request, configured: MerakiProvisioning) -> None:
        self.state = request.app.state
        self.configured = configured

    def of(self, organization_ids: Iterable[str]) -> dict[str, MerakiProvisioning]:
        settings: Settings = self.state.settings
        wanted = list(dict.fromkeys(organization_ids))
        with _BUILDING:
            built: dict[str, MerakiProvisioning] | None = getattr(
                self.state, "provisioning_dashboards", None
            )
            if built is None:
                built = self.state.provisioning_dashboards = {}
            built[self.configured.organization_id] = self.configured
            missing = [org for org in wanted if org not in built]
            if missing:
                built |= dashboards_for(settings, missing, limiter=self.configured.limiter)
            return {org: built[org] for org in wanted}

    def for_sheet(self, sheet: Sheet) -> MerakiProvisioning:
        """The adapter of the sheet's organization (`site.organizationId`, else the configured)."""
        org = sheet_organization(sheet, self.state.settings.meraki_org_id)
        return self.of([org])[org]

    def for_job(self, session: Session, job_id: int) -> MerakiProvisioning:
        """The adapter of the organization a job was journalled in."""
        org = jobs.get_job(session=session, job_id=job_id).organization_id
        return self.of([org])[org]


def get_provisioning_dashboards(
    request: Request, configured: ProvisioningDep
) -> OrganizationDashboards:
    return OrganizationDashboards(request, configured)


DashboardsDep = Annotated[OrganizationDashboards, Depends(get_provisioning_dashboards)]


class UploadedSheets:
    """Reads sheets sent over the network: no ``env:``, ``secret:NAME`` from netkeep's store.

    A named secret is read in a short session of its own, so a plan never holds the request's
    writer transaction (SQLite's write lock) while it waits on the dashboard.
    """

    def __init__(self, factory: SessionFactory, settings: Settings) -> None:
        self.factory = factory
        self.cipher = installation_key(settings).fernet()
        self.organizations = managed_organizations(settings)

    def secrets(self, customer: str, name: str) -> str | None:
        with self.factory() as session:  # closing it ends its read transaction
            return secret_store.reveal(
                session=session, cipher=self.cipher, customer=customer, name=name
            )

    def read(self, upload: UploadFile) -> Sheet:
        return read_uploaded(as_file(upload), self.secrets, self.organizations)


def as_file(upload: UploadFile) -> SheetUpload:
    upload.file.seek(0)
    return SheetUpload(name=Path(upload.filename or "sheet.yaml").name, content=upload.file.read())


def uploaded_sheets(request: Request, settings: SettingsDep) -> UploadedSheets:
    return UploadedSheets(session_factory(request), settings)


Uploads = Annotated[UploadedSheets, Depends(uploaded_sheets)]


@router.post("/sheets/validate", response_model=ValidationOut)
def validate_sheet(file: SheetFile, actor: Checker, uploads: Uploads) -> ValidationOut:
    """Validate an uploaded sheet; 422 lists every problem with its place."""
    sheet = uploads.read(file)
    sections = [k for k, v in sheet.model_dump(exclude_none=True, by_alias=True).items() if v]
    return ValidationOut(
        valid=True, site=sheet.site.name, plan=sheet.site.plan, kind=sheet.kind, sections=sections
    )


@router.post("/plans", response_model=PlanOut)
def create_plan(
    file: SheetFile,
    actor: Planner,
    dashboards: DashboardsDep,
    cfg: SettingsDep,
    uploads: Uploads,
) -> PlanOut:
    """The field-level plan of a sheet against the dashboard, with its call estimate.

    Its serials are checked against the inventory first (422 with every refused unit).
    """
    options = service.ProvisioningOptions.from_settings(cfg)
    sheet = uploads.read(file)
    with uploads.factory() as session:  # a short read: no transaction held during the plan
        placement = check_units(session=session, sheet=sheet, source=_name(file))
    plan = service.plan_sheet(dashboard=dashboards.for_sheet(sheet), sheet=sheet, options=options)
    plan.units = placement
    return PlanOut.of(plan)


def _name(upload: UploadFile) -> str:
    return Path(upload.filename or "sheet").name


@router.post("/jobs", response_model=JobOut, status_code=201)
def apply_sheet(
    file: SheetFile,
    actor: Applier,
    session: SessionDep,
    dashboards: DashboardsDep,
    cfg: SettingsDep,
    uploads: Uploads,
) -> JobOut:
    """Plan and apply a sheet now (synchronously); the job and its journal are returned."""
    options = service.ProvisioningOptions.from_settings(cfg)
    sheet = uploads.read(file)
    dash = dashboards.for_sheet(sheet)
    plan = service.plan_sheet(
        dashboard=dash, sheet=sheet, options=options, session=session, source=_name(file)
    )
    job = service.apply_plan(
        session=session,
        dashboard=dash,
        sheet=sheet,
        plan=plan,
        actor=actor,
        clock=utcnow,
        options=options,
    )
    assert job.id is not None
    return JobOut.of(job, jobs.journal(session=session, job_id=job.id))


@router.get("/jobs", response_model=PageOut[JobOut])
def list_jobs(
    session: SessionDep, actor: Reader, limit: Limit = 100, offset: Offset = 0
) -> PageOut[JobOut]:
    """Jobs newest first."""
    page = jobs.page_jobs(session=session, limit=limit, offset=offset)
    return page_out(page, JobOut.of, limit=limit, offset=offset)


@router.get("/jobs/{job_id}", response_model=JobOut)
def show_job(job_id: Id, session: SessionDep, actor: Reader) -> JobOut:
    """A job with its journal."""
    job = jobs.get_job(session=session, job_id=job_id)
    return JobOut.of(job, jobs.journal(session=session, job_id=job_id))


@router.post("/jobs/{job_id}/rollback", response_model=JobOut, status_code=201)
def rollback(
    job_id: Id,
    actor: Applier,
    session: SessionDep,
    dashboards: DashboardsDep,
    cfg: SettingsDep,
    body: RollbackIn | None = None,
) -> JobOut:
    """Restore the job's snapshot as a new rollback job (its status says whether it worked).

    A network the job created is left in place (named in `not_restorable`) unless
    `delete_network` is true; a failed rollback job continues with `POST /jobs/{id}/resume`.
    """
    options = service.ProvisioningOptions.from_settings(cfg)
    dash = dashboards.for_job(session, job_id)
    back = service.rollback_job(
        session=session, dashboard=dash, job_id=job_id, actor=actor, clock=utcnow,
        options=options, delete_network=body is not None and body.delete_network,
    )  # fmt: skip
    assert back.id is not None
    return JobOut.of(back, jobs.journal(session=session, job_id=back.id))


@router.post("/jobs/{job_id}/resume", response_model=JobOut)
def resume_rollback(
    job_id: Id, actor: Applier, session: SessionDep, dashboards: DashboardsDep, cfg: SettingsDep
) -> JobOut:
    """Continue a rollback job at its first unfinished step (an apply job needs its sheet: 409)."""
    options = service.ProvisioningOptions.from_settings(cfg)
    dash = dashboards.for_job(session, job_id)
    job = service.resume_rollback(
        session=session, dashboard=dash, job_id=job_id, actor=actor, clock=utcnow, options=options
    )
    return JobOut.of(job, jobs.journal(session=session, job_id=job_id))


def background_queue(request: Request) -> RolloutQueue:
    """This app's queue of background rollouts (`jobs.queue_for`: a worker's, or in-process)."""
    queue: RolloutQueue = request.app.state.background_jobs
    return queue


@router.post(
    "/rollouts",
    response_model=RolloutOut,
    status_code=201,
    responses={
        200: {"model": RolloutOut, "description": "No sheet changes anything: no rollout"},
        201: {"description": "Applied (wait=true): the rollout ran; `Location` names it"},
        202: {
            "model": RolloutOut,
            "description": "Accepted (wait=false): its jobs are journalled and run in the "
            "background; follow `Location` (GET /rollouts/{id})",
        },
    },
)
def apply_rollout(
    files: SheetFiles,
    uploads: Uploads,
    actor: Applier,
    session: SessionDep,
    dashboards: DashboardsDep,
    cfg: SettingsDep,
    request: Request,
    response: Response,
    background: BackgroundTasks,
    queue: Annotated[RolloutQueue, Depends(background_queue)],
    wait: Annotated[
        bool,
        Query(
            description="false: answer 202 once the jobs are journalled and queued; a worker "
            "runs them (on SQLite, this process); follow GET /rollouts/{id}"
        ),
    ] = True,
) -> RolloutOut:
    """Plan and apply several sheets as one rollout (shared reads and action batches).

    201 when it has run (wait=true), 202 when it runs in the background (wait=false); both name
    the rollout in `Location`. Sheets without changes: 200 and no rollout.
    """
    options = service.ProvisioningOptions.from_settings(cfg)
    sent = [as_file(u) for u in files]
    sheets = read_all_uploaded(sent, uploads.secrets, uploads.organizations)
    organizations = [sheet_organization(sheet, cfg.meraki_org_id) for sheet in sheets]
    by_org = dashboards.of(organizations)  # each sheet on its organization's adapter
    sites = [
        rollouts.RolloutSite(by_org[org], sheet, source=upload.name)
        for sheet, org, upload in zip(sheets, organizations, sent, strict=True)
    ]
    plans = rollouts.plan_rollout(sites, options, session=session)
    if all(p.empty for p in plans):
        response.status_code = 200  # nothing was created
        return RolloutOut.of(None, [])
    estimate, alone = rollouts.rollout_cost(plans, options)
    prepared = rollouts.prepare_rollout(
        session=session, sites=sites, actor=actor, clock=utcnow, options=options
    )
    if not wait:
        jobs = rollouts.rollout_jobs(session=session, rollout=prepared.rollout)
        out = RolloutOut.of(prepared.rollout, jobs, estimate=estimate, one_sheet_at_a_time=alone)
        payload = rollout_payload(
            rollout=prepared.rollout,
            files=sent,
            organizations=organizations,
            actor=actor,
            cipher=installation_key(cfg).job_fernet(),
        )
        queue.defer_rollout(payload, after_response=background.add_task, dashboards=by_org)
        response.status_code = 202
        response.headers["Location"] = f"{request.url.path}/{prepared.rollout}"
        return out
    with claim_jobs(session=session, job_ids=prepared.job_ids, what=f"rollout {prepared.rollout}"):
        outcome = rollouts.run_rollout(
            session=session, prepared=prepared, actor=actor, clock=utcnow, options=options
        )
    response.headers["Location"] = f"{request.url.path}/{prepared.rollout}"
    return RolloutOut.of_outcome(outcome, estimate, alone)


@router.get("/rollouts/{rollout}", response_model=RolloutOut)
def show_rollout(rollout: str, session: SessionDep, actor: Reader) -> RolloutOut:
    """A rollout's jobs (their journals through GET /jobs/{id})."""
    found = rollouts.rollout_jobs(session=session, rollout=rollout)
    if not found:
        raise NotFound(f"rollout {rollout} does not exist", rollout=rollout)
    return RolloutOut.of(rollout, found)

"""Thin HTTP layer over the survey services: /api/v1/surveys..."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Query, UploadFile
from fastapi.responses import Response

from api.deps import Reader, SessionDep, SettingsDep, guard
from api.params import ID_MAX, Id, VersionNumber
from core.audit import Actor
from core.policy import Operation
from core.timeutil import utcnow
from survey import floor_plan, service, versions, views
from survey.schemas import (
    ApIn,
    ApOut,
    ApproveIn,
    ExclusionIn,
    ExclusionOut,
    FloorIn,
    FloorOut,
    PointsImportOut,
    PointsIn,
    SerialsIn,
    SsidsIn,
    SurveyIn,
    SurveyOut,
    SurveySummary,
    VersionOut,
)
from survey.wireless_sheet import wireless_sheet_yaml

router = APIRouter(prefix="/surveys", tags=["survey"])

Recorder = Annotated[Actor, Depends(guard(Operation.SURVEY_RECORD))]
Issuer = Annotated[Actor, Depends(guard(Operation.SURVEY_ISSUE))]
Approver = Annotated[Actor, Depends(guard(Operation.SURVEY_APPROVE))]
Version = Annotated[
    int | None, Query(ge=1, le=ID_MAX, description="a version number; default the present")
]


@router.post("", response_model=SurveyOut, status_code=201)
def create_survey(body: SurveyIn, session: SessionDep, actor: Recorder) -> SurveyOut:
    survey = service.create_survey(session=session, actor=actor, now=utcnow(), **body.model_dump())
    return views.survey_out(session=session, survey_id=survey.id or 0)


@router.get("", response_model=list[SurveySummary])
def list_surveys(
    session: SessionDep, actor: Reader, customer: str | None = None, site: str | None = None
) -> list[SurveySummary]:
    return views.survey_list(session=session, customer=customer, site=site)


@router.get("/{survey_id}", response_model=SurveyOut)
def get_survey(survey_id: Id, session: SessionDep, actor: Reader) -> SurveyOut:
    return views.survey_out(session=session, survey_id=survey_id)


@router.post("/{survey_id}/floors", response_model=FloorOut, status_code=201)
def add_floor(survey_id: Id, body: FloorIn, session: SessionDep, actor: Recorder) -> FloorOut:
    floor = service.add_floor(
        session=session, actor=actor, survey_id=survey_id, now=utcnow(), **body.model_dump()
    )
    return FloorOut.of(floor)


@router.put("/{survey_id}/floors/{floor}/layout", response_model=FloorOut)
async def upload_layout(
    survey_id: Id,
    floor: str,
    file: Annotated[UploadFile, File(description="the customer's floor layout, PNG or JPEG")],
    session: SessionDep,
    settings: SettingsDep,
    actor: Recorder,
) -> FloorOut:
    data = await file.read()
    row = service.set_layout(
        session=session,
        actor=actor,
        survey_id=survey_id,
        floor=floor,
        data=data,
        filename=file.filename or "layout",
        storage_dir=settings.survey_dir,
        now=utcnow(),
    )
    return FloorOut.of(row)


@router.post("/{survey_id}/floors/{floor}/exclusions", response_model=ExclusionOut, status_code=201)
def add_exclusion(
    survey_id: Id, floor: str, body: ExclusionIn, session: SessionDep, actor: Recorder
) -> ExclusionOut:
    area = floor_plan.add_exclusion(
        session=session,
        actor=actor,
        survey_id=survey_id,
        floor=floor,
        now=utcnow(),
        **body.model_dump(),
    )
    return ExclusionOut.of(area)


@router.post("/{survey_id}/floors/{floor}/points", response_model=PointsImportOut, status_code=201)
def add_points(
    survey_id: Id, floor: str, body: PointsIn, session: SessionDep, actor: Recorder
) -> PointsImportOut:
    count = floor_plan.add_points(
        session=session,
        actor=actor,
        survey_id=survey_id,
        floor=floor,
        points=[p.measurement() for p in body.points],
        now=utcnow(),
    )
    return PointsImportOut(floor=floor, count=count, ignored_columns=[])


@router.post(
    "/{survey_id}/floors/{floor}/points.csv", response_model=PointsImportOut, status_code=201
)
async def import_points(
    survey_id: Id,
    floor: str,
    file: Annotated[UploadFile, File(description="the survey tool's CSV")],
    session: SessionDep,
    actor: Recorder,
) -> PointsImportOut:
    result = floor_plan.import_points_csv(
        session=session,
        actor=actor,
        survey_id=survey_id,
        floor=floor,
        data=await file.read(),
        name=file.filename or "points.csv",
        now=utcnow(),
    )
    return PointsImportOut(
        floor=result.floor,
        count=result.count,
        ignored_columns=result.ignored_columns,
        added=result.added,
    )


@router.post("/{survey_id}/aps", response_model=ApOut, status_code=201)
def add_ap(survey_id: Id, body: ApIn, session: SessionDep, actor: Recorder) -> ApOut:
    ap = floor_plan.add_ap(
        session=session,
        actor=actor,
        survey_id=survey_id,
        floor=body.floor,
        name=body.name,
        model=body.model,
        x_m=body.x_m,
        y_m=body.y_m,
        mounting=body.mounting,
        radios=[r.plan() for r in body.radios],
        serial=body.serial,
        now=utcnow(),
    )
    return ApOut.of(ap, body.floor)


@router.put("/{survey_id}/aps/serials", response_model=list[ApOut])
def record_serials(
    survey_id: Id, body: SerialsIn, session: SessionDep, actor: Recorder
) -> list[ApOut]:
    """Record installed APs' serials (no new version opens: a serial is not a setting)."""
    aps = floor_plan.record_serials(
        session=session, actor=actor, survey_id=survey_id, serials=body.serials, now=utcnow()
    )
    floors = {f.id: f.name for f in service.floors_of(session=session, survey_id=survey_id)}
    return [ApOut.of(ap, floors[ap.floor_id]) for ap in aps]


@router.put("/{survey_id}/ssids", response_model=SurveyOut)
def set_ssids(survey_id: Id, body: SsidsIn, session: SessionDep, actor: Recorder) -> SurveyOut:
    service.set_ssids(
        session=session,
        actor=actor,
        survey_id=survey_id,
        ssids=[s.data() for s in body.ssids],
        now=utcnow(),
    )
    return views.survey_out(session=session, survey_id=survey_id)


@router.post("/{survey_id}/versions", response_model=VersionOut, status_code=201)
def issue_version(
    survey_id: Id, session: SessionDep, settings: SettingsDep, actor: Issuer
) -> VersionOut:
    """Issue the draft: its data and PDF are frozen and handed to the customer."""
    version = versions.issue_version(
        session=session,
        actor=actor,
        survey_id=survey_id,
        storage_dir=settings.survey_dir,
        now=utcnow(),
    )
    return VersionOut.of(version)


@router.post("/{survey_id}/versions/{number}/approve", response_model=VersionOut)
def approve_version(
    survey_id: Id, number: VersionNumber, body: ApproveIn, session: SessionDep, actor: Approver
) -> VersionOut:
    """Record the customer's signature on the completion-confirmation field."""
    version = versions.approve_version(
        session=session,
        actor=actor,
        survey_id=survey_id,
        number=number,
        now=utcnow(),
        **body.model_dump(),
    )
    return VersionOut.of(version)


def _pdf(
    session: SessionDep, settings: SettingsDep, survey_id: int, number: int | None
) -> Response:
    version, pdf = versions.version_pdf(
        session=session, survey_id=survey_id, number=number, storage_dir=settings.survey_dir
    )
    name = f"survey-{survey_id}-v{version.number}.pdf"
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/{survey_id}/pdf", response_class=Response)
def latest_pdf(
    survey_id: Id, session: SessionDep, settings: SettingsDep, actor: Reader
) -> Response:
    """The latest version's PDF (a draft preview if it is not issued yet)."""
    return _pdf(session, settings, survey_id, None)


@router.get("/{survey_id}/versions/{number}/pdf", response_class=Response)
def version_pdf(
    survey_id: Id, number: VersionNumber, session: SessionDep, settings: SettingsDep, actor: Reader
) -> Response:
    """A version's PDF exactly as issued."""
    return _pdf(session, settings, survey_id, number)


@router.get("/{survey_id}/diagram.svg", response_class=Response)
def diagram(survey_id: Id, session: SessionDep, actor: Reader, version: Version = None) -> Response:
    svg = versions.network_diagram_svg(session=session, survey_id=survey_id, version=version)
    return Response(svg, media_type="image/svg+xml")


@router.get("/{survey_id}/floors/{floor}/coverage.png", response_class=Response)
def coverage(
    survey_id: Id,
    floor: str,
    session: SessionDep,
    settings: SettingsDep,
    actor: Reader,
    version: Version = None,
    dpi: Annotated[int, Query(ge=30, le=300)] = 100,
) -> Response:
    png = versions.coverage_png(
        session=session,
        survey_id=survey_id,
        floor=floor,
        storage_dir=settings.survey_dir,
        version=version,
        dpi=dpi,
    )
    return Response(png, media_type="image/png")


@router.get("/{survey_id}/sheet", response_class=Response)
def generated_sheet(
    survey_id: Id, session: SessionDep, actor: Reader, version: Version = None
) -> Response:
    """The wireless settings sheet (YAML) generated from the approved version."""
    text = wireless_sheet_yaml(session=session, survey_id=survey_id, version=version)
    return Response(text.encode("utf-8"), media_type="application/yaml; charset=utf-8")

"""Thin HTTP layer over the survey services: /api/v1/surveys..."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Query, UploadFile
from fastapi.responses import Response

from api.deps import Reader, RenderGateDep, SessionDep, SessionRoute, SettingsDep, guard
from api.pages import ItemsOut, PageOut, items_out, list_page
from api.params import ID_MAX, Limit, Offset, SurveyRef, VersionNumber
from api.uploads import read_upload
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

router = APIRouter(prefix="/surveys", tags=["survey"], route_class=SessionRoute)

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


@router.get("", response_model=PageOut[SurveySummary])
def list_surveys(
    session: SessionDep,
    actor: Reader,
    customer: str | None = None,
    site: str | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> PageOut[SurveySummary]:
    rows = views.survey_list(session=session, customer=customer, site=site)
    return list_page(rows, limit=limit, offset=offset)


@router.get("/{survey_id}", response_model=SurveyOut)
def get_survey(survey_id: SurveyRef, session: SessionDep, actor: Reader) -> SurveyOut:
    return views.survey_out(session=session, survey_id=survey_id)


@router.post("/{survey_id}/floors", response_model=FloorOut, status_code=201)
def add_floor(
    survey_id: SurveyRef, body: FloorIn, session: SessionDep, actor: Recorder
) -> FloorOut:
    floor = service.add_floor(
        session=session, actor=actor, survey_id=survey_id, now=utcnow(), **body.model_dump()
    )
    return FloorOut.of(floor)


@router.put("/{survey_id}/floors/{floor}/layout", response_model=FloorOut)
def upload_layout(
    survey_id: SurveyRef,
    floor: str,
    file: Annotated[UploadFile, File(description="the customer's floor layout, PNG or JPEG")],
    session: SessionDep,
    settings: SettingsDep,
    gate: RenderGateDep,
    actor: Recorder,
) -> FloorOut:
    """At most `layout_max_bytes` and `layout_max_pixels`, checked before any pixel is decoded."""
    data = read_upload(file, limit=settings.layout_max_bytes, what="layout")
    with gate.slot():  # decoding the picture costs memory like a render
        row = service.set_layout(
            session=session,
            actor=actor,
            survey_id=survey_id,
            floor=floor,
            data=data,
            filename=file.filename or "layout",
            storage_dir=settings.survey_dir,
            now=utcnow(),
            max_bytes=settings.layout_max_bytes,
            max_pixels=settings.layout_max_pixels,
        )
    return FloorOut.of(row)


@router.post("/{survey_id}/floors/{floor}/exclusions", response_model=ExclusionOut, status_code=201)
def add_exclusion(
    survey_id: SurveyRef, floor: str, body: ExclusionIn, session: SessionDep, actor: Recorder
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
    survey_id: SurveyRef, floor: str, body: PointsIn, session: SessionDep, actor: Recorder
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
def import_points(
    survey_id: SurveyRef,
    floor: str,
    file: Annotated[UploadFile, File(description="the survey tool's CSV")],
    session: SessionDep,
    settings: SettingsDep,
    actor: Recorder,
) -> PointsImportOut:
    """At most `import_max_bytes` bytes and 50,000 rows."""
    result = floor_plan.import_points_csv(
        session=session,
        actor=actor,
        survey_id=survey_id,
        floor=floor,
        data=read_upload(file, limit=settings.import_max_bytes, what="points file"),
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
def add_ap(survey_id: SurveyRef, body: ApIn, session: SessionDep, actor: Recorder) -> ApOut:
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


@router.put("/{survey_id}/aps/serials", response_model=ItemsOut[ApOut])
def record_serials(
    survey_id: SurveyRef, body: SerialsIn, session: SessionDep, actor: Recorder
) -> ItemsOut[ApOut]:
    """Record installed APs' serials (no new version opens: a serial is not a setting)."""
    aps = floor_plan.record_serials(
        session=session, actor=actor, survey_id=survey_id, serials=body.serials, now=utcnow()
    )
    floors = {f.id: f.name for f in service.floors_of(session=session, survey_id=survey_id)}
    return items_out(ApOut.of(ap, floors[ap.floor_id]) for ap in aps)


@router.put("/{survey_id}/ssids", response_model=SurveyOut)
def set_ssids(
    survey_id: SurveyRef, body: SsidsIn, session: SessionDep, actor: Recorder
) -> SurveyOut:
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
    survey_id: SurveyRef,
    session: SessionDep,
    settings: SettingsDep,
    gate: RenderGateDep,
    actor: Issuer,
) -> VersionOut:
    """Issue the draft: its data and PDF are frozen and handed to the customer."""
    version = versions.issue_version(
        session=session,
        actor=actor,
        survey_id=survey_id,
        storage_dir=settings.survey_dir,
        now=utcnow(),
        gate=gate,
    )
    return VersionOut.of(version)


@router.post("/{survey_id}/versions/{number}/approve", response_model=VersionOut)
def approve_version(
    survey_id: SurveyRef,
    number: VersionNumber,
    body: ApproveIn,
    session: SessionDep,
    actor: Approver,
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
    session: SessionDep,
    settings: SettingsDep,
    gate: RenderGateDep,
    survey_id: int,
    number: int | None,
) -> Response:
    version, pdf = versions.version_pdf(
        session=session,
        survey_id=survey_id,
        number=number,
        storage_dir=settings.survey_dir,
        gate=gate,
    )
    name = f"survey-{survey_id}-v{version.number}.pdf"
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/{survey_id}/pdf", response_class=Response)
def latest_pdf(
    survey_id: SurveyRef,
    session: SessionDep,
    settings: SettingsDep,
    gate: RenderGateDep,
    actor: Reader,
) -> Response:
    """The latest version's PDF (a draft preview if it is not issued yet)."""
    return _pdf(session, settings, gate, survey_id, None)


@router.get("/{survey_id}/versions/{number}/pdf", response_class=Response)
def version_pdf(
    survey_id: SurveyRef,
    number: VersionNumber,
    session: SessionDep,
    settings: SettingsDep,
    gate: RenderGateDep,
    actor: Reader,
) -> Response:
    """A version's PDF exactly as issued."""
    return _pdf(session, settings, gate, survey_id, number)


@router.get("/{survey_id}/diagram.svg", response_class=Response)
def diagram(
    survey_id: SurveyRef, session: SessionDep, actor: Reader, version: Version = None
) -> Response:
    svg = versions.network_diagram_svg(session=session, survey_id=survey_id, version=version)
    return Response(svg, media_type="image/svg+xml")


@router.get("/{survey_id}/floors/{floor}/coverage.png", response_class=Response)
def coverage(
    survey_id: SurveyRef,
    floor: str,
    session: SessionDep,
    settings: SettingsDep,
    gate: RenderGateDep,
    actor: Reader,
    version: Version = None,
    dpi: Annotated[int, Query(ge=30, le=300)] = 100,
) -> Response:
    """Drawn at most `render_concurrency` at a time per process, and cached by content."""
    png = versions.coverage_png(
        session=session,
        survey_id=survey_id,
        floor=floor,
        storage_dir=settings.survey_dir,
        version=version,
        dpi=dpi,
        gate=gate,
    )
    return Response(png, media_type="image/png")


@router.get("/{survey_id}/sheet", response_class=Response)
def generated_sheet(
    survey_id: SurveyRef, session: SessionDep, actor: Reader, version: Version = None
) -> Response:
    """The wireless settings sheet (YAML) generated from the approved version."""
    text = wireless_sheet_yaml(session=session, survey_id=survey_id, version=version)
    return Response(text.encode("utf-8"), media_type="application/yaml; charset=utf-8")

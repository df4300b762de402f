"""Preparation-sheet versions: issue, approve, the PDF and pictures, and the approval gate."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from sqlmodel import Session, col, select

from core import audit
from core.audit import Actor
from core.errors import Conflict, NotFound, Problem, ValidationFailed
from core.models import AuditEntry
from core.policy import four_eyes
from core.timeutil import TOKYO
from inventory.contracts import get_contract
from survey.domain import (
    Band,
    ExclusionReason,
    Mounting,
    VersionStatus,
    advance,
    check_approvable,
    superseded_by_issue,
)
from survey.models import PlannedAp, Survey, SurveyPoint, SurveyVersion
from survey.service import (
    aps_of,
    exclusions_of,
    floors_of,
    get_floor,
    get_survey,
    latest_version,
    versions_of,
)
from survey.snapshot import (
    ApData,
    ExclusionData,
    FloorData,
    PointData,
    SsidData,
    SurveyData,
)
from survey.storage import load_blob, store_blob

PDF_DPI = 110


def snapshot(*, session: Session, survey: Survey) -> SurveyData:
    """The survey's present content as plain data (what a version keeps)."""
    assert survey.id is not None
    floors = floors_of(session=session, survey_id=survey.id)
    aps_by_floor: dict[int, list[PlannedAp]] = {}
    for ap in aps_of(session, survey.id):
        aps_by_floor.setdefault(ap.floor_id, []).append(ap)
    floor_ids = [f.id for f in floors]
    points_by_floor: dict[int, list[PointData]] = {}
    if floor_ids:
        stmt = (
            select(SurveyPoint)
            .where(col(SurveyPoint.floor_id).in_(floor_ids))
            .order_by(col(SurveyPoint.id))
        )
        for p in session.exec(stmt):
            points_by_floor.setdefault(p.floor_id, []).append(
                PointData(
                    x_m=p.x_m,
                    y_m=p.y_m,
                    band=Band(p.band),
                    channel=p.channel,
                    rssi_dbm=p.rssi_dbm,
                    snr_db=p.snr_db,
                    ssid=p.ssid,
                    bssid=p.bssid,
                    interference=p.interference,
                )
            )
    number = 0
    data_floors = []
    for floor in floors:
        assert floor.id is not None
        aps = []
        for ap in aps_by_floor.get(floor.id, []):
            number += 1
            aps.append(
                ApData(
                    number=number,
                    name=ap.name,
                    model=ap.model,
                    x_m=ap.x_m,
                    y_m=ap.y_m,
                    mounting=Mounting(ap.mounting),
                    channel_24=ap.channel_24,
                    power_24=ap.power_24,
                    channel_5=ap.channel_5,
                    power_5=ap.power_5,
                    channel_6=ap.channel_6,
                    power_6=ap.power_6,
                    serial=ap.serial,
                )
            )
        data_floors.append(
            FloorData(
                name=floor.name,
                width_m=floor.width_m,
                height_m=floor.height_m,
                layout_sha256=floor.layout_sha256,
                layout_suffix=floor.layout_suffix,
                exclusions=[
                    ExclusionData(
                        reason=ExclusionReason(e.reason),
                        x_m=e.x_m,
                        y_m=e.y_m,
                        width_m=e.width_m,
                        height_m=e.height_m,
                        note=e.note,
                    )
                    for e in exclusions_of(session, floor.id)
                ],
                points=points_by_floor.get(floor.id, []),
                aps=aps,
            )
        )
    contract_number = None
    if survey.contract_id is not None:
        from inventory.models import Contract

        contract = session.get(Contract, survey.contract_id)
        contract_number = contract.number if contract else None
    return SurveyData(
        number=survey.number,
        customer=survey.customer,
        site=survey.site,
        address=survey.address,
        surveyor=survey.surveyor,
        survey_date=survey.survey_date,
        contract_number=contract_number,
        gateway_model=survey.gateway_model,
        switch_model=survey.switch_model,
        ssids=[SsidData(**s) for s in survey.ssids],
        floors=data_floors,
    )


def get_version(*, session: Session, survey_id: int, number: int) -> SurveyVersion:
    stmt = select(SurveyVersion).where(
        SurveyVersion.survey_id == survey_id, SurveyVersion.number == number
    )
    version = session.exec(stmt).first()
    if version is None:
        raise NotFound(f"survey SV-{survey_id:06d} has no version {number}", version=number)
    return version


def data_of(*, session: Session, survey: Survey, version: SurveyVersion | None) -> SurveyData:
    """A version's kept data, or the survey's present data for a draft (or no version)."""
    if version is not None and version.snapshot is not None:
        return SurveyData.from_json(version.snapshot)
    return snapshot(session=session, survey=survey)


def floor_coverage(
    floor: FloorData, *, storage_dir: Path, dpi: int = PDF_DPI, width_in: float = 8.0
) -> bytes:
    """The coverage PNG of a floor, its stored layout as background."""
    layout = None
    if floor.layout_sha256 and floor.layout_suffix:
        layout = load_blob(storage_dir, "layouts", floor.layout_sha256, floor.layout_suffix)
    from numpy.linalg import LinAlgError  # numpy and matplotlib: only to draw

    from survey.coverage import render_coverage

    try:
        return render_coverage(floor, layout=layout, dpi=dpi, width_in=width_in)
    except LinAlgError as exc:
        # matplotlib inverts the axes' transform; degenerate geometry makes it singular.
        raise ValidationFailed(
            [
                Problem(
                    f"the floor's geometry is degenerate, so coverage cannot be drawn ({exc}); "
                    "check its size and the measurement positions",
                    location=f"floor {floor.name}",
                )
            ]
        ) from exc


def build_pdf(
    data: SurveyData,
    *,
    version: int,
    issued_on: date | None,
    storage_dir: Path,
    draft: bool = False,
    dpi: int = PDF_DPI,
) -> bytes:
    """Coverage pictures of every floor, then the sheet."""
    coverage = {f.name: floor_coverage(f, storage_dir=storage_dir, dpi=dpi) for f in data.floors}
    from survey.prep_sheet_pdf import render_prep_sheet  # reportlab: only to print

    return render_prep_sheet(
        data, version=version, issued_on=issued_on, coverage=coverage, draft=draft
    )


def issue_version(
    *, session: Session, actor: Actor, survey_id: int, storage_dir: Path, now: datetime
) -> SurveyVersion:
    """Freeze the draft: keep its data and PDF hash; earlier issued/approved ones are superseded."""
    survey = get_survey(session=session, survey_id=survey_id, for_update=True)
    version = latest_version(session=session, survey_id=survey_id)
    advance(VersionStatus(version.status), VersionStatus.ISSUED)
    data = snapshot(session=session, survey=survey)
    if not data.floors or not data.aps:
        raise ValidationFailed(
            [Problem("a sheet needs at least one floor and one planned AP", survey.number)]
        )
    issued_on = now.astimezone(TOKYO).date()
    pdf = build_pdf(data, version=version.number, issued_on=issued_on, storage_dir=storage_dir)
    pdf_sha = hashlib.sha256(pdf).hexdigest()
    store_blob(storage_dir, "sheets", pdf_sha, "pdf", pdf)
    older = versions_of(session=session, survey_id=survey_id)
    for number in superseded_by_issue(
        (v.number, VersionStatus(v.status)) for v in older if v.number != version.number
    ):
        old = next(v for v in older if v.number == number)
        old.status = advance(VersionStatus(old.status), VersionStatus.SUPERSEDED).value
        old.superseded_at = now
        session.add(old)
    version.status = VersionStatus.ISSUED.value
    version.snapshot = data.to_json()
    version.snapshot_sha256 = data.digest()
    version.pdf_sha256, version.pdf_size = pdf_sha, len(pdf)
    version.issued_at, version.issued_by = now, actor.name
    session.add(version)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="survey.issue",
        entity_type="survey",
        entity_id=survey.number,
        after={"version": version.number, "pdf_sha256": pdf_sha, "data": version.snapshot_sha256},
        at=now,
    )
    return version


def approve_version(
    *,
    session: Session,
    actor: Actor,
    survey_id: int,
    number: int,
    approver_name: str,
    approved_on: date,
    signature_ref: str = "",
    note: str = "",
    now: datetime,
) -> SurveyVersion:
    """The customer signed the completion-confirmation field of the latest issued version.

    Recorded with the signer's name and the evidence (`signature_ref`: where the signed copy is
    kept), by someone who neither recorded nor issued the survey (four-eyes).
    """
    survey = get_survey(session=session, survey_id=survey_id, for_update=True)
    problems = (
        [] if approver_name.strip() else [Problem("approver name is required", "approver_name")]
    )
    if not signature_ref.strip():
        problems.append(Problem("say where the signed sheet is kept", "signature_ref"))
    if problems:
        raise ValidationFailed(problems)
    version = get_version(session=session, survey_id=survey_id, number=number)
    latest = latest_version(session=session, survey_id=survey_id)
    check_approvable(
        number=number, status=VersionStatus(version.status), latest_number=latest.number
    )
    four_eyes(
        recorder=actor.name,
        authors=[version.issued_by, *survey_authors(session=session, number=survey.number)],
        what=f"survey {survey.number}",
    )
    if version.issued_at is not None and approved_on < version.issued_at.astimezone(TOKYO).date():
        raise ValidationFailed(
            [Problem(f"approval date {approved_on} is before the issue date", "approved_on")]
        )
    if approved_on > now.astimezone(TOKYO).date():
        raise ValidationFailed(
            [Problem(f"approval date {approved_on} is in the future", "approved_on")]
        )
    version.status = VersionStatus.APPROVED.value
    version.approver_name = approver_name.strip()
    version.approved_on = approved_on
    version.signature_ref = signature_ref.strip() or None
    version.approval_note = note.strip()
    version.approval_recorded_by, version.approval_recorded_at = actor.name, now
    session.add(version)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="survey.approve",
        entity_type="survey",
        entity_id=survey.number,
        after={
            "version": number,
            "approver": version.approver_name,
            "approved_on": approved_on,
            "signature_ref": version.signature_ref,
        },
        at=now,
    )
    return version


def survey_authors(*, session: Session, number: str) -> list[str]:
    """Everyone who recorded or issued something of the survey (its audit trail)."""
    stmt = select(AuditEntry.actor).where(
        AuditEntry.entity_type == "survey",
        AuditEntry.entity_id == number,
        AuditEntry.action != "survey.approve",
    )
    return list(session.exec(stmt).all())


def version_pdf(
    *, session: Session, survey_id: int, number: int | None, storage_dir: Path
) -> tuple[SurveyVersion, bytes]:
    """The PDF exactly as issued; a draft gets a preview marked 下書き."""
    survey = get_survey(session=session, survey_id=survey_id)
    version = (
        latest_version(session=session, survey_id=survey_id)
        if number is None
        else get_version(session=session, survey_id=survey_id, number=number)
    )
    if version.pdf_sha256 is None:
        data = snapshot(session=session, survey=survey)
        pdf = build_pdf(
            data, version=version.number, issued_on=None, storage_dir=storage_dir, draft=True
        )
        return version, pdf
    return version, load_blob(storage_dir, "sheets", version.pdf_sha256, "pdf")


def coverage_png(
    *,
    session: Session,
    survey_id: int,
    floor: str,
    storage_dir: Path,
    version: int | None = None,
    dpi: int = 100,
) -> bytes:
    """A floor's coverage picture, of the present data or of a version."""
    survey = get_survey(session=session, survey_id=survey_id)
    kept = None
    if version is not None:
        kept = get_version(session=session, survey_id=survey_id, number=version)
    data = data_of(session=session, survey=survey, version=kept)
    match = next((f for f in data.floors if f.name == floor), None)
    if match is None:
        get_floor(session=session, survey_id=survey_id, name=floor)  # raises NotFound
        raise NotFound(f"version {version} has no floor {floor!r}", floor=floor)
    return floor_coverage(match, storage_dir=storage_dir, dpi=dpi)


def network_diagram_svg(*, session: Session, survey_id: int, version: int | None = None) -> bytes:
    """The network diagram of the present data or of a version, as SVG."""
    survey = get_survey(session=session, survey_id=survey_id)
    kept = None
    if version is not None:
        kept = get_version(session=session, survey_id=survey_id, number=version)
    from survey.diagram import diagram_svg  # reportlab's SVG renderer: only to draw

    return diagram_svg(data_of(session=session, survey=survey, version=kept))


@dataclass(frozen=True, slots=True)
class ApprovedSurvey:
    """The survey and version that allow a site's wireless plan to be provisioned."""

    survey: Survey
    version: SurveyVersion


def require_approved_survey(
    *, session: Session, site: str, contract: str | None = None
) -> ApprovedSurvey:
    """Provisioning of a site's wireless plan waits until its latest survey version is approved."""
    stmt = select(Survey).where(Survey.site == site)
    if contract is not None:
        stmt = stmt.where(Survey.contract_id == get_contract(session=session, number=contract).id)
    survey = session.exec(stmt.order_by(col(Survey.id).desc())).first()
    where = f"site {site}" + (f" (contract {contract})" if contract else "")
    if survey is None:
        raise Conflict(
            f"{where} has no site survey; the preparation sheet must be approved before the "
            "wireless plan is provisioned",
            site=site,
        )
    assert survey.id is not None
    version = latest_version(session=session, survey_id=survey.id)
    if version.status != VersionStatus.APPROVED:
        raise Conflict(
            f"{where}: survey {survey.number} version {version.number} is {version.status}, "
            "not approved by the customer; provisioning is withheld until it is",
            site=site,
            survey=survey.number,
            version=version.number,
            status=version.status,
        )
    return ApprovedSurvey(survey=survey, version=version)

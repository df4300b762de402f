"""Read views shared by the router and the CLI."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, col, select

from inventory.models import Contract
from survey.models import PlannedAp, SurveyExclusion, SurveyPoint
from survey.schemas import ApOut, FloorOut, SsidIn, SurveyOut, SurveySummary, VersionOut
from survey.service import floors_of, get_survey, latest_version, list_surveys, versions_of


def survey_out(*, session: Session, survey_id: int) -> SurveyOut:
    """A survey with its floors, excluded areas, planned APs and every version."""
    survey = get_survey(session=session, survey_id=survey_id)
    floors = floors_of(session=session, survey_id=survey_id)
    names = {f.id: f.name for f in floors}
    counts: dict[int, int] = {}
    if floors:
        stmt = (
            select(SurveyPoint.floor_id, func.count())
            .where(col(SurveyPoint.floor_id).in_(list(names)))
            .group_by(col(SurveyPoint.floor_id))
        )
        counts = {floor_id: n for floor_id, n in session.exec(stmt)}
    exclusions: dict[int, list[SurveyExclusion]] = {}
    if floors:
        stmt_ex = (
            select(SurveyExclusion)
            .where(col(SurveyExclusion.floor_id).in_(list(names)))
            .order_by(col(SurveyExclusion.id))
        )
        for e in session.exec(stmt_ex):
            exclusions.setdefault(e.floor_id, []).append(e)
    aps = session.exec(
        select(PlannedAp).where(PlannedAp.survey_id == survey_id).order_by(col(PlannedAp.id))
    )
    contract = session.get(Contract, survey.contract_id) if survey.contract_id else None
    return SurveyOut(
        id=survey_id,
        number=survey.number,
        customer=survey.customer,
        contract_number=contract.number if contract else None,
        site=survey.site,
        address=survey.address,
        surveyor=survey.surveyor,
        survey_date=survey.survey_date,
        gateway_model=survey.gateway_model,
        switch_model=survey.switch_model,
        ssids=[SsidIn.model_validate(s) for s in survey.ssids],
        floors=[
            FloorOut.of(f, counts.get(f.id or 0, 0), exclusions.get(f.id or 0)) for f in floors
        ],
        aps=[ApOut.of(ap, names.get(ap.floor_id, "")) for ap in aps],
        versions=[VersionOut.of(v) for v in versions_of(session=session, survey_id=survey_id)],
    )


def survey_list(
    *, session: Session, customer: str | None = None, site: str | None = None
) -> list[SurveySummary]:
    return [
        SurveySummary.of(s, latest_version(session=session, survey_id=s.id or 0))
        for s in list_surveys(session=session, customer=customer, site=site)
    ]

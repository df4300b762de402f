"""What a customer sees of its site surveys (the portal), and its own approval of a
preparation sheet.

The sheet's completion-confirmation field (seed 002 IV(3)) is signed either on paper — then the
NOC or an admin records the signature (`versions.approve_version`, four-eyes) — or by the
customer itself in the portal (`approve_as_customer`): the signer is the customer's account, the
date is today in Tokyo, the evidence names the portal account, and the four-eyes rule still runs
(a customer's actor name, `customer:<account>`, is never one of the staff who did the work).
Drafts are not shown to the customer: a draft version is answered as absent.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlmodel import Session, col, select

from core.audit import Actor
from core.errors import NotFound, PermissionDenied
from core.paging import Page, page_of_query
from core.timeutil import TOKYO
from survey import versions
from survey.domain import VersionStatus
from survey.models import Survey, SurveyVersion
from survey.storage import load_blob

CUSTOMER_ROLE = "customer"
SHOWN = (VersionStatus.ISSUED, VersionStatus.APPROVED, VersionStatus.SUPERSEDED)


def customer_surveys(
    *, session: Session, customer: str, limit: int = 100, offset: int = 0
) -> Page[Survey]:
    """The customer's surveys, newest first."""
    stmt = select(Survey).where(Survey.customer == customer).order_by(col(Survey.id).desc())
    return page_of_query(session, stmt, limit=limit, offset=offset)


def customer_survey(
    *, session: Session, customer: str, survey_id: int, for_update: bool = False
) -> Survey:
    """One of the customer's surveys; someone else's is NotFound, worded as a missing one."""
    stmt = select(Survey).where(Survey.id == survey_id, Survey.customer == customer)
    found = session.exec(stmt.with_for_update() if for_update else stmt).first()
    if found is None:
        raise NotFound(f"no survey SV-{survey_id:06d}", survey=survey_id)
    return found


def customer_versions(*, session: Session, customer: str, survey_id: int) -> list[SurveyVersion]:
    """The survey's versions the customer was handed (issued, approved, superseded)."""
    customer_survey(session=session, customer=customer, survey_id=survey_id)
    stmt = (
        select(SurveyVersion)
        .where(
            SurveyVersion.survey_id == survey_id,
            col(SurveyVersion.status).in_([s.value for s in SHOWN]),
        )
        .order_by(col(SurveyVersion.number))
    )
    return list(session.exec(stmt))


def sheets_to_approve(*, session: Session, customer: str) -> list[tuple[Survey, SurveyVersion]]:
    """The customer's issued preparation sheets awaiting its approval, newest survey first
    (one query, however many surveys the customer has)."""
    stmt = (
        select(Survey, SurveyVersion)
        .join(SurveyVersion, col(SurveyVersion.survey_id) == col(Survey.id))
        .where(Survey.customer == customer, SurveyVersion.status == VersionStatus.ISSUED.value)
        .order_by(col(Survey.id).desc(), col(SurveyVersion.number))
    )
    return [(survey, version) for survey, version in session.exec(stmt)]


def customer_version(
    *, session: Session, customer: str, survey_id: int, number: int
) -> SurveyVersion:
    """One handed-out version of the customer's survey; a draft or another's is NotFound."""
    customer_survey(session=session, customer=customer, survey_id=survey_id)
    return _shown_version(session, survey_id, number)


def _shown_version(session: Session, survey_id: int, number: int) -> SurveyVersion:
    version = session.exec(
        select(SurveyVersion).where(
            SurveyVersion.survey_id == survey_id, SurveyVersion.number == number
        )
    ).first()
    if version is None or VersionStatus(version.status) not in SHOWN:
        raise NotFound(f"survey SV-{survey_id:06d} has no version {number}", version=number)
    return version


def approve_as_customer(
    *,
    session: Session,
    actor: Actor,
    customer: str,
    signer: str,
    survey_id: int,
    number: int,
    now: datetime,
    note: str = "",
) -> SurveyVersion:
    """The customer signs the latest issued version's completion-confirmation field itself.

    Recorded who (`signer`, the customer's account; `approval_recorded_by` its actor) and when
    (`approval_recorded_at`, and the Tokyo date as `approved_on`). Approving a version this
    actor already approved changes nothing and returns it (a double submit has one effect).
    """
    if actor.role != CUSTOMER_ROLE:
        raise PermissionDenied(
            "only the customer approves in the portal; staff record a signed sheet instead",
            role=actor.role,
        )
    customer_survey(session=session, customer=customer, survey_id=survey_id, for_update=True)
    version = _shown_version(session, survey_id, number)
    if version.status == VersionStatus.APPROVED and version.approval_recorded_by == actor.name:
        return version
    return versions.approve_version(
        session=session,
        actor=actor,
        survey_id=survey_id,
        number=number,
        approver_name=signer,
        approved_on=now.astimezone(TOKYO).date(),
        signature_ref=f"netkeep portal: {actor.name}",
        note=note,
        now=now,
    )


def customer_version_pdf(
    *,
    session: Session,
    customer: str,
    survey_id: int,
    number: int,
    storage_dir: Path,
) -> tuple[SurveyVersion, bytes]:
    """A handed-out version's PDF exactly as issued (never a draft preview)."""
    version = customer_version(
        session=session, customer=customer, survey_id=survey_id, number=number
    )
    if version.pdf_sha256 is None:
        raise NotFound(f"survey SV-{survey_id:06d} version {number} has no PDF", version=number)
    return version, load_blob(storage_dir, "sheets", version.pdf_sha256, "pdf")

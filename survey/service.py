"""Survey records: create, read, floors and their layouts, planned SSIDs.

Every change checks all of its input first and stores nothing when any of it is wrong. A change
after a version left draft opens the next draft version (see `survey.domain`); `record_change`
does that for every module that edits a survey.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from core import audit
from core.audit import Actor
from core.errors import Conflict, NotFound, Problem, ValidationFailed
from inventory.contracts import get_contract
from inventory.domain import ContractOption, Plan
from survey.domain import VersionStatus, change_opens_new_version, dimension_problems
from survey.models import PlannedAp, Survey, SurveyExclusion, SurveyFloor, SurveyVersion
from survey.snapshot import SsidData
from survey.storage import (
    MAX_LAYOUT_BYTES,
    MAX_LAYOUT_PIXELS,
    check_layout_image,
    store_blob,
    store_preview,
)

SSID_AUTH_MODES = ("open", "psk")


def raise_if(problems: Sequence[Problem]) -> None:
    if problems:
        raise ValidationFailed(problems)


# --- reading ----------------------------------------------------------------------------------


def get_survey(*, session: Session, survey_id: int, for_update: bool = False) -> Survey:
    survey = session.get(Survey, survey_id, with_for_update=for_update)
    if survey is None:
        raise NotFound(f"no survey SV-{survey_id:06d}", survey=survey_id)
    return survey


def list_surveys(
    *, session: Session, customer: str | None = None, site: str | None = None
) -> list[Survey]:
    stmt = select(Survey)
    if customer is not None:
        stmt = stmt.where(Survey.customer == customer)
    if site is not None:
        stmt = stmt.where(Survey.site == site)
    return list(session.exec(stmt.order_by(col(Survey.id))))


def floors_of(*, session: Session, survey_id: int) -> list[SurveyFloor]:
    stmt = select(SurveyFloor).where(SurveyFloor.survey_id == survey_id)
    return list(session.exec(stmt.order_by(col(SurveyFloor.position), col(SurveyFloor.id))))


def get_floor(*, session: Session, survey_id: int, name: str) -> SurveyFloor:
    stmt = select(SurveyFloor).where(SurveyFloor.survey_id == survey_id, SurveyFloor.name == name)
    floor = session.exec(stmt).first()
    if floor is None:
        raise NotFound(f"survey SV-{survey_id:06d} has no floor {name!r}", floor=name)
    return floor


def versions_of(*, session: Session, survey_id: int) -> list[SurveyVersion]:
    stmt = select(SurveyVersion).where(SurveyVersion.survey_id == survey_id)
    return list(session.exec(stmt.order_by(col(SurveyVersion.number))))


def latest_version(*, session: Session, survey_id: int) -> SurveyVersion:
    stmt = (
        select(SurveyVersion)
        .where(SurveyVersion.survey_id == survey_id)
        .order_by(col(SurveyVersion.number).desc())
    )
    version = session.exec(stmt).first()
    if version is None:  # every survey is created with version 1
        raise NotFound(f"survey SV-{survey_id:06d} has no version", survey=survey_id)
    return version


def exclusions_of(session: Session, floor_id: int) -> list[SurveyExclusion]:
    stmt = select(SurveyExclusion).where(SurveyExclusion.floor_id == floor_id)
    return list(session.exec(stmt.order_by(col(SurveyExclusion.id))))


def aps_of(session: Session, survey_id: int) -> list[PlannedAp]:
    stmt = select(PlannedAp).where(PlannedAp.survey_id == survey_id)
    return list(session.exec(stmt.order_by(col(PlannedAp.id))))


# --- changing ---------------------------------------------------------------------------------


def record_change(
    session: Session,
    *,
    actor: Actor,
    survey: Survey,
    action: str,
    after: dict[str, Any],
    now: datetime,
) -> None:
    """Record a change: audit, timestamps, and a new draft version if the latest was issued."""
    assert survey.id is not None
    latest = latest_version(session=session, survey_id=survey.id)
    if change_opens_new_version(VersionStatus(latest.status)):
        session.add(
            SurveyVersion(
                survey_id=survey.id,
                number=latest.number + 1,
                status=VersionStatus.DRAFT.value,
                created_at=now,
            )
        )
        after = {**after, "opened_version": latest.number + 1}
    survey.updated_at = now
    session.add(survey)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=action,
        entity_type="survey",
        entity_id=survey.number,
        after=after,
        at=now,
    )


def required_text(value: str, name: str, limit: int) -> Problem | None:
    if not value.strip():
        return Problem(f"{name} is required", name)
    if len(value.strip()) > limit:
        return Problem(f"{name} is longer than {limit} characters", name)
    return None


def create_survey(
    *,
    session: Session,
    actor: Actor,
    customer: str,
    site: str,
    surveyor: str,
    survey_date: date,
    address: str = "",
    contract_number: str | None = None,
    gateway_model: str | None = None,
    switch_model: str | None = None,
    now: datetime,
) -> Survey:
    """A new survey with its first (draft) version of the preparation sheet."""
    problems = [
        p
        for p in (
            required_text(customer, "customer", 120),
            required_text(site, "site", 120),
            required_text(surveyor, "surveyor", 120),
        )
        if p
    ]
    raise_if(problems)
    contract_id = None
    if contract_number:
        contract = get_contract(session=session, number=contract_number)
        if contract.customer != customer.strip():
            raise Conflict(
                f"contract {contract_number} belongs to {contract.customer}, not {customer}",
                contract=contract_number,
            )
        if ContractOption.SURVEY.value not in contract.options and contract.plan != Plan.WIRELESS:
            raise Conflict(
                f"contract {contract_number} has neither the survey option nor the wireless plan",
                contract=contract_number,
            )
        contract_id = contract.id
    survey = Survey(
        customer=customer.strip(),
        contract_id=contract_id,
        site=site.strip(),
        address=address.strip(),
        surveyor=surveyor.strip(),
        survey_date=survey_date,
        gateway_model=(gateway_model or "").strip().upper() or None,
        switch_model=(switch_model or "").strip().upper() or None,
        created_at=now,
        updated_at=now,
    )
    session.add(survey)
    session.flush()
    assert survey.id is not None
    session.add(
        SurveyVersion(survey_id=survey.id, number=1, status=VersionStatus.DRAFT, created_at=now)
    )
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="survey.create",
        entity_type="survey",
        entity_id=survey.number,
        after=survey.model_dump(exclude={"created_at", "updated_at"}),
        at=now,
    )
    return survey


def add_floor(
    *,
    session: Session,
    actor: Actor,
    survey_id: int,
    name: str,
    width_m: float,
    height_m: float,
    now: datetime,
) -> SurveyFloor:
    """A floor with its real dimensions (metres)."""
    survey = get_survey(session=session, survey_id=survey_id, for_update=True)
    problems = [p for p in (required_text(name, "name", 40),) if p]
    problems += dimension_problems(width_m, height_m, f"floor {name}")
    raise_if(problems)
    existing = floors_of(session=session, survey_id=survey_id)
    if any(f.name == name.strip() for f in existing):
        raise Conflict(f"survey {survey.number} already has floor {name!r}", floor=name)
    floor = SurveyFloor(
        survey_id=survey_id,
        name=name.strip(),
        position=len(existing),
        width_m=width_m,
        height_m=height_m,
    )
    session.add(floor)
    record_change(
        session,
        actor=actor,
        survey=survey,
        action="survey.floor_add",
        after={"floor": floor.name, "width_m": width_m, "height_m": height_m},
        now=now,
    )
    return floor


def set_layout(
    *,
    session: Session,
    actor: Actor,
    survey_id: int,
    floor: str,
    data: bytes,
    storage_dir: Path,
    filename: str = "layout",
    now: datetime,
    max_bytes: int = MAX_LAYOUT_BYTES,
    max_pixels: int = MAX_LAYOUT_PIXELS,
) -> SurveyFloor:
    """The customer's floor layout (PNG/JPEG), stored under its content hash."""
    image = check_layout_image(data, filename, max_bytes=max_bytes, max_pixels=max_pixels)
    survey = get_survey(session=session, survey_id=survey_id, for_update=True)
    row = get_floor(session=session, survey_id=survey_id, name=floor)
    store_blob(storage_dir, "layouts", image.sha256, image.suffix, data)
    store_preview(storage_dir, image.sha256, image.preview)
    before = row.layout_sha256
    row.layout_sha256, row.layout_suffix = image.sha256, image.suffix
    row.layout_width_px, row.layout_height_px = image.width_px, image.height_px
    session.add(row)
    record_change(
        session,
        actor=actor,
        survey=survey,
        action="survey.layout",
        after={"floor": floor, "sha256": image.sha256, "before": before, "file": filename},
        now=now,
    )
    return row


def set_ssids(
    *, session: Session, actor: Actor, survey_id: int, ssids: Sequence[SsidData], now: datetime
) -> Survey:
    """The SSIDs planned with the customer (names only; keys are never kept here)."""
    survey = get_survey(session=session, survey_id=survey_id, for_update=True)
    problems = []
    seen: set[str] = set()
    for index, ssid in enumerate(ssids):
        where = f"ssids[{index}]"
        if not 1 <= len(ssid.name) <= 32:
            problems.append(Problem("name must be 1–32 characters", f"{where}.name"))
        if ssid.name in seen:
            problems.append(Problem(f"{ssid.name} is listed twice", f"{where}.name"))
        seen.add(ssid.name)
        if ssid.auth_mode not in SSID_AUTH_MODES:
            problems.append(
                Problem(f"auth {ssid.auth_mode} is not one of open, psk", f"{where}.auth_mode")
            )
        if ssid.vlan_id is not None and not 1 <= ssid.vlan_id <= 4094:
            problems.append(Problem(f"VLAN {ssid.vlan_id} is out of 1–4094", f"{where}.vlan_id"))
    if len(ssids) > 15:
        problems.append(Problem("at most 15 SSIDs", "ssids"))
    raise_if(problems)
    survey.ssids = [{"name": s.name, "auth_mode": s.auth_mode, "vlan_id": s.vlan_id} for s in ssids]
    record_change(
        session,
        actor=actor,
        survey=survey,
        action="survey.ssids",
        after={"ssids": survey.ssids},
        now=now,
    )
    return survey

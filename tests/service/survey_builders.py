"""Builders shared by the survey service, API and CLI tests (no tests here)."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from pathlib import Path

from PIL import Image
from sqlmodel import Session, select

from core.audit import Actor
from inventory.models import Device
from survey import floor_plan, service
from survey.domain import Band, ExclusionReason, Measurement, Mounting, RadioPlan
from survey.models import Survey
from survey.snapshot import SsidData

ACTOR = Actor(name="field-tanaka", role="field", request_id="req-s")
APPROVER = Actor(name="noc-desk", role="noc", request_id="req-a")
"""Records the customer's approvals: never the engineer who recorded the survey (four-eyes)."""
T0 = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
SERIAL_1 = "Q3AJ-SVEY-0001"
SERIAL_2 = "Q3AJ-SVEY-0002"
INSTALLED = ("Q3AJ-INST-0001", "Q3AJ-INST-0009")  # MR36s the installers bring later


def stock(session: Session, *serials: str, model: str = "MR36", **fields: object) -> None:
    """Units in the warehouse (an AP's serial must be one the inventory knows)."""
    for serial in serials:
        if session.exec(select(Device).where(Device.serial == serial)).first() is None:
            session.add(Device(serial=serial, model=model, **({"status": "in_stock"} | fields)))
    session.flush()


def png_bytes(size: tuple[int, int] = (60, 40), kind: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, "white").save(buffer, kind)
    return buffer.getvalue()


def build_survey(session: Session, storage: Path, *, site: str = "あおばクリニック") -> Survey:
    """A surveyed site: two floors, a layout, exclusions, a few readings, two APs, SSIDs."""
    stock(session, SERIAL_1, SERIAL_2, *INSTALLED)
    survey = service.create_survey(
        session=session,
        actor=ACTOR,
        customer="医療法人あおば会",
        site=site,
        surveyor="田中",
        survey_date=date(2026, 11, 2),
        address="宮城県仙台市青葉区一番町3-7-1",
        gateway_model="MX67",
        now=T0,
    )
    sid = survey.id or 0
    for name in ("1F", "2F"):
        service.add_floor(
            session=session, actor=ACTOR, survey_id=sid, name=name, width_m=30, height_m=20, now=T0
        )
    service.set_layout(
        session=session,
        actor=ACTOR,
        survey_id=sid,
        floor="1F",
        data=png_bytes(),
        storage_dir=storage,
        now=T0,
    )
    floor_plan.add_exclusion(
        session=session,
        actor=ACTOR,
        survey_id=sid,
        floor="1F",
        reason=ExclusionReason.OUTDOOR,
        x_m=0,
        y_m=0,
        width_m=5,
        height_m=5,
        note="テラス",
        now=T0,
    )
    floor_plan.add_exclusion(
        session=session,
        actor=ACTOR,
        survey_id=sid,
        floor="2F",
        reason=ExclusionReason.LADDER,
        x_m=20,
        y_m=0,
        width_m=10,
        height_m=4,
        now=T0,
    )
    floor_plan.add_points(
        session=session,
        actor=ACTOR,
        survey_id=sid,
        floor="1F",
        points=[
            Measurement(10, 10, Band.GHZ_5, 36, -50.0, 30.0, "AOBA", "00:11:22:33:44:55"),
            Measurement(25, 15, Band.GHZ_24, 6, -78.0, interference=True),
        ],
        now=T0,
    )
    floor_plan.add_ap(
        session=session,
        actor=ACTOR,
        survey_id=sid,
        floor="1F",
        name="1F-受付-AP01",
        model="mr36",
        x_m=12,
        y_m=8,
        mounting=Mounting.CEILING,
        radios=[RadioPlan(Band.GHZ_24, 1, 14), RadioPlan(Band.GHZ_5, 36, 17)],
        serial=SERIAL_1,
        now=T0,
    )
    floor_plan.add_ap(
        session=session,
        actor=ACTOR,
        survey_id=sid,
        floor="2F",
        name="2F-事務室-AP02",
        model="MR36",
        x_m=10,
        y_m=10,
        mounting=Mounting.WALL,
        radios=[RadioPlan(Band.GHZ_24, 6, 11), RadioPlan(Band.GHZ_5, 44, 20)],
        serial=SERIAL_2,
        now=T0,
    )
    service.set_ssids(
        session=session,
        actor=ACTOR,
        survey_id=sid,
        ssids=[SsidData("AOBA-STAFF", "psk", 10), SsidData("AOBA-GUEST", "open")],
        now=T0,
    )
    session.flush()
    return survey

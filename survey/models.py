"""Survey tables: the survey, its floors, excluded areas, measurements, planned APs, versions."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

import inventory.models  # noqa: F401  (the tables its foreign keys point to: contract)
from core.timeutil import UtcDateTime, utcnow


class Survey(SQLModel, table=True):
    """A site survey for one customer site; its content is versioned by SurveyVersion."""

    __tablename__ = "survey"
    __table_args__ = (Index("ix_survey_site", "site"),)

    id: int | None = Field(default=None, primary_key=True)
    customer: str = Field(max_length=120, index=True)
    contract_id: int | None = Field(default=None, foreign_key="contract.id")
    site: str = Field(max_length=120)
    address: str = Field(default="", max_length=200)
    surveyor: str = Field(max_length=120)
    survey_date: date
    gateway_model: str | None = Field(default=None, max_length=20)
    switch_model: str | None = Field(default=None, max_length=20)
    ssids: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False)
    )

    @property
    def number(self) -> str:
        return f"SV-{self.id or 0:06d}"


class SurveyFloor(SQLModel, table=True):
    """A floor with its real dimensions and, once uploaded, the customer's layout image."""

    __tablename__ = "survey_floor"
    __table_args__ = (UniqueConstraint("survey_id", "name", name="uq_survey_floor_name"),)

    id: int | None = Field(default=None, primary_key=True)
    survey_id: int = Field(foreign_key="survey.id", index=True)
    name: str = Field(max_length=40)
    position: int = 0
    width_m: float
    height_m: float
    layout_sha256: str | None = Field(default=None, max_length=64)
    layout_suffix: str | None = Field(default=None, max_length=8)
    layout_width_px: int | None = None
    layout_height_px: int | None = None


class SurveyExclusion(SQLModel, table=True):
    """An area left out (outdoor, a high place needing a ladder, other), a rectangle in metres."""

    __tablename__ = "survey_exclusion"

    id: int | None = Field(default=None, primary_key=True)
    floor_id: int = Field(foreign_key="survey_floor.id", index=True)
    reason: str = Field(max_length=20)
    x_m: float
    y_m: float
    width_m: float
    height_m: float
    note: str = Field(default="", max_length=200)


class SurveyPoint(SQLModel, table=True):
    """One measurement at a point of a floor."""

    __tablename__ = "survey_point"

    id: int | None = Field(default=None, primary_key=True)
    floor_id: int = Field(foreign_key="survey_floor.id", index=True)
    x_m: float
    y_m: float
    band: str = Field(max_length=4)
    channel: int
    rssi_dbm: float
    snr_db: float | None = None
    ssid: str = Field(default="", max_length=32)
    bssid: str = Field(default="", max_length=17)
    interference: bool = False


class PlannedAp(SQLModel, table=True):
    """Where an access point will go and how its radios are set."""

    __tablename__ = "survey_ap"
    __table_args__ = (UniqueConstraint("survey_id", "name", name="uq_survey_ap_name"),)

    id: int | None = Field(default=None, primary_key=True)
    survey_id: int = Field(foreign_key="survey.id", index=True)
    floor_id: int = Field(foreign_key="survey_floor.id", index=True)
    name: str = Field(max_length=60)
    model: str = Field(max_length=20)
    x_m: float
    y_m: float
    mounting: str = Field(max_length=10)
    channel_24: int | None = None
    power_24: int | None = None
    channel_5: int | None = None
    power_5: int | None = None
    channel_6: int | None = None
    power_6: int | None = None
    serial: str | None = Field(default=None, max_length=14)


class SurveyVersion(SQLModel, table=True):
    """One version of the preparation sheet: its data snapshot, PDF hash and approval."""

    __tablename__ = "survey_version"
    __table_args__ = (UniqueConstraint("survey_id", "number", name="uq_survey_version_number"),)

    id: int | None = Field(default=None, primary_key=True)
    survey_id: int = Field(foreign_key="survey.id", index=True)
    number: int
    status: str = Field(max_length=20)
    snapshot: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    snapshot_sha256: str | None = Field(default=None, max_length=64)
    pdf_sha256: str | None = Field(default=None, max_length=64)
    pdf_size: int | None = None
    issued_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime(), nullable=True))
    issued_by: str | None = Field(default=None, max_length=120)
    approver_name: str | None = Field(default=None, max_length=120)
    approved_on: date | None = None
    signature_ref: str | None = Field(default=None, max_length=200)
    approval_note: str = Field(default="", max_length=2000)
    approval_recorded_by: str | None = Field(default=None, max_length=120)
    approval_recorded_at: datetime | None = Field(
        default=None, sa_column=Column(UtcDateTime(), nullable=True)
    )
    superseded_at: datetime | None = Field(
        default=None, sa_column=Column(UtcDateTime(), nullable=True)
    )
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UtcDateTime(), nullable=False)
    )

"""Request and response bodies of /api/v1/surveys."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from core.bounds import DbInt
from survey.domain import Band, ExclusionReason, Measurement, Mounting, RadioPlan
from survey.models import PlannedAp, Survey, SurveyExclusion, SurveyFloor, SurveyVersion
from survey.snapshot import SsidData


class SurveyIn(BaseModel):
    customer: str
    site: str
    surveyor: str
    survey_date: date
    address: str = ""
    contract_number: str | None = None
    gateway_model: str | None = None
    switch_model: str | None = None


class FloorIn(BaseModel):
    name: str
    width_m: float
    height_m: float


class ExclusionIn(BaseModel):
    reason: ExclusionReason
    x_m: float
    y_m: float
    width_m: float
    height_m: float
    note: str = ""


class PointIn(BaseModel):
    x_m: float
    y_m: float
    band: Band
    channel: DbInt
    rssi_dbm: float
    snr_db: float | None = None
    ssid: str = Field(default="", max_length=32)
    bssid: str = ""
    interference: bool = False

    def measurement(self) -> Measurement:
        return Measurement(**self.model_dump())


class PointsIn(BaseModel):
    points: list[PointIn] = Field(min_length=1, max_length=50_000)


class RadioIn(BaseModel):
    band: Band
    channel: DbInt
    power_dbm: DbInt

    def plan(self) -> RadioPlan:
        return RadioPlan(band=self.band, channel=self.channel, power_dbm=self.power_dbm)


class ApIn(BaseModel):
    floor: str
    name: str
    model: str
    x_m: float
    y_m: float
    mounting: Mounting = Mounting.CEILING
    radios: list[RadioIn]
    serial: str | None = None


class SsidIn(BaseModel):
    name: str
    auth_mode: str = "psk"
    vlan_id: DbInt | None = None

    def data(self) -> SsidData:
        return SsidData(name=self.name, auth_mode=self.auth_mode, vlan_id=self.vlan_id)


class SsidsIn(BaseModel):
    ssids: list[SsidIn]


class ApproveIn(BaseModel):
    approver_name: str
    approved_on: date
    signature_ref: str = ""
    note: str = ""


class ExclusionOut(BaseModel):
    id: int
    reason: str
    x_m: float
    y_m: float
    width_m: float
    height_m: float
    note: str

    @classmethod
    def of(cls, row: SurveyExclusion) -> ExclusionOut:
        return cls.model_validate(row, from_attributes=True)


class FloorOut(BaseModel):
    name: str
    width_m: float
    height_m: float
    layout_sha256: str | None
    layout_width_px: int | None
    layout_height_px: int | None
    points: int = 0
    exclusions: list[ExclusionOut] = []

    @classmethod
    def of(
        cls, row: SurveyFloor, points: int = 0, exclusions: list[SurveyExclusion] | None = None
    ) -> FloorOut:
        return cls(
            name=row.name,
            width_m=row.width_m,
            height_m=row.height_m,
            layout_sha256=row.layout_sha256,
            layout_width_px=row.layout_width_px,
            layout_height_px=row.layout_height_px,
            points=points,
            exclusions=[ExclusionOut.of(e) for e in exclusions or []],
        )


class ApOut(BaseModel):
    name: str
    floor: str
    model: str
    x_m: float
    y_m: float
    mounting: str
    channel_24: int | None
    power_24: int | None
    channel_5: int | None
    power_5: int | None
    channel_6: int | None
    power_6: int | None
    serial: str | None

    @classmethod
    def of(cls, row: PlannedAp, floor: str) -> ApOut:
        return cls.model_validate({**row.model_dump(), "floor": floor})


class SerialsIn(BaseModel):
    """Installed serials by AP name; null clears one."""

    serials: dict[str, str | None]


class VersionOut(BaseModel):
    number: int
    status: str
    pdf_sha256: str | None
    pdf_size: int | None
    snapshot_sha256: str | None
    issued_at: datetime | None
    issued_by: str | None
    approver_name: str | None
    approved_on: date | None
    signature_ref: str | None
    approval_note: str
    approval_recorded_by: str | None
    superseded_at: datetime | None

    @classmethod
    def of(cls, row: SurveyVersion) -> VersionOut:
        return cls.model_validate(row, from_attributes=True)


class SurveyOut(BaseModel):
    id: int
    number: str
    customer: str
    contract_number: str | None
    site: str
    address: str
    surveyor: str
    survey_date: date
    gateway_model: str | None
    switch_model: str | None
    ssids: list[SsidIn]
    floors: list[FloorOut]
    aps: list[ApOut]
    versions: list[VersionOut]


class SurveySummary(BaseModel):
    id: int
    number: str
    customer: str
    site: str
    survey_date: date
    latest_version: int
    status: str

    @classmethod
    def of(cls, row: Survey, version: SurveyVersion) -> SurveySummary:
        return cls(
            id=row.id or 0,
            number=row.number,
            customer=row.customer,
            site=row.site,
            survey_date=row.survey_date,
            latest_version=version.number,
            status=version.status,
        )


class PointsImportOut(BaseModel):
    floor: str
    count: int  # distinct readings given
    ignored_columns: list[str]
    added: int | None = None  # of which new to the floor (CSV import); the rest were stored already

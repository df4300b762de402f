"""A survey's content as plain data: what a version keeps, and what every output is drawn from."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from survey.domain import Band, ExclusionReason, Mounting


@dataclass(frozen=True, slots=True)
class ExclusionData:
    reason: ExclusionReason
    x_m: float
    y_m: float
    width_m: float
    height_m: float
    note: str = ""


@dataclass(frozen=True, slots=True)
class PointData:
    x_m: float
    y_m: float
    band: Band
    channel: int
    rssi_dbm: float
    snr_db: float | None = None
    ssid: str = ""
    bssid: str = ""
    interference: bool = False


@dataclass(frozen=True, slots=True)
class ApData:
    number: int  # the label on the pictures and in the AP list (1, 2, …)
    name: str
    model: str
    x_m: float
    y_m: float
    mounting: Mounting
    channel_24: int | None = None
    power_24: int | None = None
    channel_5: int | None = None
    power_5: int | None = None
    channel_6: int | None = None
    power_6: int | None = None
    serial: str | None = None

    def radio_text(self) -> str:
        """'2.4G ch1/14dBm, 5G ch36/17dBm' for tables and the diagram."""
        parts = []
        for band, channel, power in (
            ("2.4G", self.channel_24, self.power_24),
            ("5G", self.channel_5, self.power_5),
            ("6G", self.channel_6, self.power_6),
        ):
            if channel is not None:
                parts.append(f"{band} ch{channel}/{power}dBm")
        return ", ".join(parts)


@dataclass(frozen=True, slots=True)
class FloorData:
    name: str
    width_m: float
    height_m: float
    layout_sha256: str | None = None
    layout_suffix: str | None = None
    exclusions: list[ExclusionData] = field(default_factory=list)
    points: list[PointData] = field(default_factory=list)
    aps: list[ApData] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class SsidData:
    name: str
    auth_mode: str  # open | psk
    vlan_id: int | None = None


@dataclass(frozen=True, slots=True)
class SurveyData:
    number: str
    customer: str
    site: str
    address: str
    surveyor: str
    survey_date: date
    contract_number: str | None = None
    gateway_model: str | None = None
    switch_model: str | None = None
    ssids: list[SsidData] = field(default_factory=list)
    floors: list[FloorData] = field(default_factory=list)

    @property
    def aps(self) -> list[tuple[FloorData, ApData]]:
        return [(floor, ap) for floor in self.floors for ap in floor.aps]

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["survey_date"] = self.survey_date.isoformat()
        return data

    def digest(self) -> str:
        """SHA-256 of the canonical JSON: equal content, equal digest."""
        text = json.dumps(self.to_json(), sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SurveyData:
        floors = [
            FloorData(
                name=f["name"],
                width_m=f["width_m"],
                height_m=f["height_m"],
                layout_sha256=f.get("layout_sha256"),
                layout_suffix=f.get("layout_suffix"),
                exclusions=[
                    ExclusionData(**{**e, "reason": ExclusionReason(e["reason"])})
                    for e in f["exclusions"]
                ],
                points=[PointData(**{**p, "band": Band(p["band"])}) for p in f["points"]],
                aps=[ApData(**{**a, "mounting": Mounting(a["mounting"])}) for a in f["aps"]],
            )
            for f in data["floors"]
        ]
        return cls(
            number=data["number"],
            customer=data["customer"],
            site=data["site"],
            address=data["address"],
            surveyor=data["surveyor"],
            survey_date=date.fromisoformat(data["survey_date"]),
            contract_number=data.get("contract_number"),
            gateway_model=data.get("gateway_model"),
            switch_model=data.get("switch_model"),
            ssids=[SsidData(**s) for s in data.get("ssids", [])],
            floors=floors,
        )

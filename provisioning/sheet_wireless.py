"""Wireless sheet sections: SSIDs (with their RADIUS servers) and RF profiles."""

# ruff: noqa: RUF012 -- pydantic copies mutable defaults; ruff cannot tell that an imported
# SheetModel is a pydantic model (astral-sh/ruff#13630).

from __future__ import annotations

import re
from typing import Annotated, Final

from pydantic import Field, field_validator

from provisioning.sheet_enums import (
    AuthMode,
    BandOperationMode,
    BandSelection,
    BandSelectionType,
    ChannelWidth,
    IpAssignmentMode,
    SheetModel,
    Text,
    WpaEncryptionMode,
    as_text,
)
from provisioning.sheet_secrets import SheetSecret

MIN_BITRATES_24: Final = (1.0, 2.0, 5.5, 6.0, 9.0, 11.0, 12.0, 18.0, 24.0, 36.0, 48.0, 54.0)
MIN_BITRATES_5: Final = (6.0, 9.0, 12.0, 18.0, 24.0, 36.0, 48.0, 54.0)
POWER_24: Final = (5, 30)
POWER_5: Final = (8, 30)

_HEX64 = re.compile(r"^[0-9A-Fa-f]{64}$")


class RadiusServer(SheetModel):
    """An 802.1X RADIUS server for an SSID."""

    host: Text
    port: Annotated[int, Field(ge=1, le=65535)] = 1812
    secret: SheetSecret


class Ssid(SheetModel):
    """A wireless SSID slot (0–14), as PUT /networks/{id}/wireless/ssids/{number}."""

    number: int
    name: Annotated[str, Field(min_length=1, max_length=32)]
    enabled: bool = True
    auth_mode: AuthMode
    wpa_encryption_mode: WpaEncryptionMode | None = None
    psk: SheetSecret | None = None
    radius_servers: list[RadiusServer] = []
    ip_assignment_mode: IpAssignmentMode = IpAssignmentMode.BRIDGE
    use_vlan_tagging: bool = False
    default_vlan_id: int | None = None
    band_selection: BandSelection = BandSelection.DUAL
    visible: bool = True

    @field_validator("number")
    @classmethod
    def _slot(cls, value: int) -> int:
        if not 0 <= value <= 14:
            raise ValueError(f"{value} is out of range 0–14")
        return value

    @field_validator("default_vlan_id")
    @classmethod
    def _vlan_range(cls, value: int | None) -> int | None:
        if value is not None and not 1 <= value <= 4094:
            raise ValueError(f"{value} is out of range 1–4094")
        return value

    @field_validator("psk")
    @classmethod
    def _psk_form(cls, value: SheetSecret | None) -> SheetSecret | None:
        if value is None:
            return None
        text = value.reveal()
        printable = 8 <= len(text) <= 63 and all(32 <= ord(ch) <= 126 for ch in text)
        if not (printable or _HEX64.match(text)):
            raise ValueError(
                f"must be 8–63 printable ASCII characters or 64 hex digits (got {len(text)} "
                "characters)"
            )
        return value


class TwoFourGhzSettings(SheetModel):
    """2.4 GHz radio settings of an RF profile."""

    min_bitrate: float = 11.0
    min_power: int = POWER_24[0]
    max_power: int = POWER_24[1]


class FiveGhzSettings(SheetModel):
    """5 GHz radio settings of an RF profile."""

    min_bitrate: float = 12.0
    min_power: int = POWER_5[0]
    max_power: int = POWER_5[1]
    channel_width: ChannelWidth = ChannelWidth.AUTO

    @field_validator("channel_width", mode="before")
    @classmethod
    def _width_text(cls, value: object) -> object:
        return as_text(value)


class ApBandSettings(SheetModel):
    """Which bands the APs serve when band selection is per AP."""

    band_operation_mode: BandOperationMode = BandOperationMode.DUAL


class RfProfile(SheetModel):
    """A wireless RF profile."""

    name: Text
    band_selection_type: BandSelectionType = BandSelectionType.AP
    ap_band_settings: ApBandSettings = Field(default_factory=ApBandSettings)
    two_four_ghz_settings: TwoFourGhzSettings = Field(default_factory=TwoFourGhzSettings)
    five_ghz_settings: FiveGhzSettings = Field(default_factory=FiveGhzSettings)

"""Cross-field rules of the wireless sections: SSID slots and auth, RF profile bands."""

from __future__ import annotations

from collections.abc import Iterator

from provisioning.sheet_enums import AuthMode, IpAssignmentMode
from provisioning.sheet_wireless import (
    MIN_BITRATES_5,
    MIN_BITRATES_24,
    POWER_5,
    POWER_24,
    RfProfile,
    Ssid,
)
from provisioning.validation_parts import Found, Loc, SheetParts


def check_wireless(parts: SheetParts) -> Iterator[Found]:
    """SSID slots and names unique; auth mode has what it needs; RF profile values allowed."""
    numbers: dict[int, int] = {}
    ssid_names: dict[str, int] = {}
    for index, ssid in parts.each("ssids", Ssid):
        loc: Loc = ("ssids", index)
        if ssid.number in numbers:
            yield (
                (*loc, "number"),
                (f"number {ssid.number} is already used by ssids[{numbers[ssid.number]}]"),
            )
        numbers.setdefault(ssid.number, index)
        if ssid.name in ssid_names:  # two networks broadcasting one name: clients cannot tell
            yield (
                (*loc, "name"),
                f"SSID name {ssid.name} is already used by ssids[{ssid_names[ssid.name]}]",
            )
        ssid_names.setdefault(ssid.name, index)
        yield from _ssid_auth(ssid, loc)
        if ssid.use_vlan_tagging:
            if ssid.default_vlan_id is None:
                yield (*loc, "defaultVlanId"), "defaultVlanId is required with useVlanTagging"
            if ssid.ip_assignment_mode is not IpAssignmentMode.BRIDGE:
                yield (*loc, "useVlanTagging"), "useVlanTagging needs ipAssignmentMode bridge"
    names: dict[str, int] = {}
    for index, profile in parts.each("rfProfiles", RfProfile):
        loc = ("rfProfiles", index)
        if profile.name in names:
            yield (
                (*loc, "name"),
                f"name {profile.name} is already used by rfProfiles[{names[profile.name]}]",
            )
        names.setdefault(profile.name, index)
        yield from _rf_bands(profile, loc)


def _ssid_auth(ssid: Ssid, loc: Loc) -> Iterator[Found]:
    if ssid.auth_mode is AuthMode.PSK and ssid.psk is None:
        yield (*loc, "psk"), "psk is required when authMode is psk"
    if ssid.auth_mode is not AuthMode.PSK and ssid.psk is not None:
        yield (*loc, "psk"), f"psk is only for authMode psk, not {ssid.auth_mode}"
    if ssid.auth_mode is AuthMode.RADIUS and not ssid.radius_servers:
        yield (*loc, "radiusServers"), "radiusServers is required when authMode is 8021x-radius"
    if ssid.auth_mode is not AuthMode.RADIUS and ssid.radius_servers:
        yield (
            (*loc, "radiusServers"),
            f"radiusServers is only for 8021x-radius, not {ssid.auth_mode}",
        )
    if ssid.auth_mode is AuthMode.OPEN and ssid.wpa_encryption_mode is not None:
        yield (*loc, "wpaEncryptionMode"), "wpaEncryptionMode does not apply to an open SSID"


def _rf_bands(profile: RfProfile, loc: Loc) -> Iterator[Found]:
    bands = (
        ("twoFourGhzSettings", profile.two_four_ghz_settings, MIN_BITRATES_24, POWER_24),
        ("fiveGhzSettings", profile.five_ghz_settings, MIN_BITRATES_5, POWER_5),
    )
    for key, band, bitrates, (low, high) in bands:
        band_loc = (*loc, key)
        if band.min_bitrate not in bitrates:
            allowed = ", ".join(f"{b:g}" for b in bitrates)
            yield (
                (*band_loc, "minBitrate"),
                (f"minBitrate {band.min_bitrate:g} is not one of {allowed}"),
            )
        for name, power in (("minPower", band.min_power), ("maxPower", band.max_power)):
            if not low <= power <= high:
                yield (*band_loc, name), f"{name} {power} is out of range {low}–{high} dBm"
        if band.min_power > band.max_power:
            yield (
                (*band_loc, "minPower"),
                (f"minPower {band.min_power} is above maxPower {band.max_power}"),
            )

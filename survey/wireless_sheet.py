"""The wireless settings sheet generated from an approved survey version: nothing typed twice."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlmodel import Session

from core.errors import Conflict
from provisioning.sheet_io import dump_yaml
from provisioning.sheet_model import FORMAT, Plan, Sheet, SheetKind
from survey.domain import POWER_DBM, Band, VersionStatus
from survey.service import aps_of, get_survey, latest_version
from survey.snapshot import SurveyData
from survey.versions import get_version


def psk_secret(survey_id: int, slot: int) -> str:
    """The customer's named secret an SSID's key is read from (``secret:NAME``)."""
    return f"SV{survey_id:06d}-SSID{slot}-PSK"


def _tag(text: str) -> str:
    return "_".join(text.split()) or "floor"


def _power_range(powers: list[int], band: Band) -> dict[str, int]:
    low, high = POWER_DBM[band]
    if not powers:
        return {"minPower": low, "maxPower": high}
    return {"minPower": max(low, min(powers)), "maxPower": min(high, max(powers))}


def sheet_raw(
    data: SurveyData,
    *,
    survey_id: int,
    version: int,
    serials: Mapping[str, str | None] | None = None,
) -> dict[str, Any]:
    """The sheet as YAML-shaped data (dashboard camelCase keys), from a version's data.

    Every access point is assigned the RF profile built from the survey's planned powers.
    `serials` (by AP name) are the installed serials recorded since; an AP without one is left
    out, as it cannot be claimed yet.
    """
    profile = f"{data.number} 第{version}版"
    installed = {ap.name: (serials or {}).get(ap.name, ap.serial) for _, ap in data.aps}
    devices = [
        {
            "serial": installed[ap.name],
            "model": ap.model,
            "name": ap.name,
            **({"address": data.address} if data.address else {}),
            "tags": [_tag(floor.name), f"survey-v{version}"],
            "rfProfile": profile,
        }
        for floor, ap in data.aps
        if installed[ap.name]
    ]
    ssids = []
    for slot, ssid in enumerate(data.ssids):
        item: dict[str, Any] = {"number": slot, "name": ssid.name, "authMode": ssid.auth_mode}
        if ssid.auth_mode == "psk":
            item["wpaEncryptionMode"] = "wpa2"
            item["psk"] = {"secret": psk_secret(survey_id, slot)}
        if ssid.vlan_id is not None:
            item["useVlanTagging"] = True
            item["defaultVlanId"] = ssid.vlan_id
        ssids.append(item)
    aps = [ap for _, ap in data.aps]
    power_24 = [ap.power_24 for ap in aps if ap.power_24 is not None]
    power_5 = [ap.power_5 for ap in aps if ap.power_5 is not None]
    has_24 = any(ap.channel_24 is not None for ap in aps)
    has_5 = any(ap.channel_5 is not None for ap in aps)
    mode = "dual" if has_24 == has_5 else ("2.4ghz" if has_24 else "5ghz")
    raw: dict[str, Any] = {
        "format": FORMAT,
        "kind": SheetKind.SETTINGS.value,
        "site": {
            "name": data.site,
            "plan": Plan.WIRELESS.value,
            "timeZone": "Asia/Tokyo",
            **({"address": data.address} if data.address else {}),
            "customer": data.customer,
        },
        "devices": devices,
        "ssids": ssids,
        "rfProfiles": [
            {
                "name": profile,
                "bandSelectionType": "ap",
                "apBandSettings": {"bandOperationMode": mode},
                "twoFourGhzSettings": _power_range(power_24, Band.GHZ_24),
                "fiveGhzSettings": _power_range(power_5, Band.GHZ_5),
            }
        ],
    }
    return raw


def wireless_sheet(*, session: Session, survey_id: int, version: int | None = None) -> Sheet:
    """The settings sheet of an approved version (the latest one unless `version` is given)."""
    survey = get_survey(session=session, survey_id=survey_id)
    row = (
        latest_version(session=session, survey_id=survey_id)
        if version is None
        else get_version(session=session, survey_id=survey_id, number=version)
    )
    if row.status != VersionStatus.APPROVED or row.snapshot is None:
        raise Conflict(
            f"survey {survey.number} version {row.number} is {row.status}; only a version the "
            "customer approved generates the wireless settings sheet",
            version=row.number,
            status=row.status,
        )
    data = SurveyData.from_json(row.snapshot)
    serials = {ap.name: ap.serial for ap in aps_of(session, survey_id)}
    raw = sheet_raw(data, survey_id=survey_id, version=row.number, serials=serials)
    context = {"customer": data.customer, "named_secret": lambda name: "placeholder-psk"}
    return Sheet.model_validate(raw, context=context)


def wireless_sheet_yaml(*, session: Session, survey_id: int, version: int | None = None) -> str:
    """The generated sheet as YAML for `netkeep` provisioning; PSKs stay secret: references."""
    sheet = wireless_sheet(session=session, survey_id=survey_id, version=version)
    header = (
        f"# 無線LAN設定シート — generated from survey SV-{survey_id:06d} (approved version).\n"
        "# PSKs are the customer's secrets held by netkeep (secret:NAME below): set each with\n"
        "# `netkeep secret set CUSTOMER NAME` or PUT /api/v1/secrets/{customer}/{name}.\n"
    )
    return header + dump_yaml(sheet)

"""The siteToSiteVpn section: validation with key paths and cells, plan fit, Excel round trip."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from core.errors import Problem, ValidationFailed
from provisioning.excel import write_workbook
from provisioning.sheet_io import dashboard_view, load_sheet
from provisioning.validation import validate_sheet

from . import sheets

SPOKE: dict[str, Any] = {
    "mode": "spoke",
    "hubs": [{"hubId": "N_24329156", "useDefaultRoute": True}, "東京本社"],
    "subnets": ["192.168.20.0/24", {"localSubnet": "192.168.10.0/24", "useVpn": False}],
}


def _with(plan: str, vpn: Any) -> dict[str, Any]:
    raw = {"utm": sheets.utm, "router": sheets.router, "wireless": sheets.wireless}[plan]()
    raw["siteToSiteVpn"] = vpn
    return raw


def _problems(raw: dict[str, Any]) -> list[Problem]:
    sheet, problems = validate_sheet(raw, environ={})
    assert sheet is None
    return problems


@pytest.mark.parametrize("plan", ["utm", "router"])
def test_utm_and_router_sheets_accept_it_and_the_view_is_the_put_body(plan: str) -> None:
    sheet, problems = validate_sheet(_with(plan, SPOKE), environ={})
    assert problems == [] and sheet is not None and sheet.site_to_site_vpn is not None
    view = dashboard_view(sheet, secret_key=b"k")
    assert view["appliance"]["vpn/siteToSiteVpn"] == {
        "mode": "spoke",
        "hubs": [
            {"hubId": "N_24329156", "useDefaultRoute": True},
            {"hubId": "東京本社", "useDefaultRoute": False},
        ],
        "subnets": [  # address order
            {"localSubnet": "192.168.10.0/24", "useVpn": False},
            {"localSubnet": "192.168.20.0/24", "useVpn": True},
        ],
    }


def test_hub_mode_sends_no_hubs_and_leaves_subnets_alone_when_not_named() -> None:
    sheet, _ = validate_sheet(_with("utm", {"mode": "hub"}), environ={})
    assert sheet is not None
    assert dashboard_view(sheet, secret_key=b"k")["appliance"]["vpn/siteToSiteVpn"] == {
        "mode": "hub",
        "hubs": [],
    }


def test_wireless_sheet_refuses_it() -> None:
    assert _problems(_with("wireless", {"mode": "hub"})) == [
        Problem("siteToSiteVpn is an appliance setting, not on a wireless plan sheet",
                "siteToSiteVpn"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("vpn", "where", "message"),
    [
        ({"mode": "mesh"}, "siteToSiteVpn.mode", "mode: Input should be 'hub', 'spoke' or 'none'"),
        ({"mode": "spoke"}, "siteToSiteVpn.hubs", "hubs: a spoke needs at least one hub"),
        ({"mode": "spoke", "hubs": []}, "siteToSiteVpn.hubs",
         "hubs: a spoke needs at least one hub"),
        ({"mode": "hub", "hubs": ["N_1"]}, "siteToSiteVpn.hubs",
         "hubs are named only in spoke mode, not in hub mode"),
        ({"mode": "spoke", "hubs": ["N_1", "N_1"]}, "siteToSiteVpn.hubs[1].hubId",
         "hubId N_1 is already listed at siteToSiteVpn.hubs[0]"),
        ({"mode": "hub", "subnets": ["10.0.0.1/24"]}, "siteToSiteVpn.subnets[0].localSubnet",
         "localSubnet 10.0.0.1/24 is not a valid IPv4 network (host bits set)"),
        ({"mode": "hub", "subnets": ["10.0.0.0/33"]}, "siteToSiteVpn.subnets[0].localSubnet",
         "localSubnet 10.0.0.0/33 is not a valid IPv4 network"),
        ({"mode": "hub", "subnets": ["10.0.0.0/24", "10.0.0.0/24"]},
         "siteToSiteVpn.subnets[1].localSubnet",
         "localSubnet 10.0.0.0/24 is already listed at siteToSiteVpn.subnets[0]"),
        ({"mode": "spoke", "hubs": [{"useDefaultRoute": True}]}, "siteToSiteVpn.hubs[0].hubId",
         "hubId is required"),
    ],
)  # fmt: skip
def test_problems_name_the_key_path(vpn: dict[str, Any], where: str, message: str) -> None:
    assert Problem(message, where) in _problems(_with("utm", vpn))


def test_excel_round_trip_and_problems_name_the_cell(tmp_path: Path) -> None:
    sheet, _ = validate_sheet(_with("router", SPOKE), environ={})
    assert sheet is not None
    path = write_workbook(sheet, tmp_path / "vpn.xlsx")
    assert load_sheet(path, environ={}) == sheet

    bad, _ = validate_sheet(_with("utm", {"mode": "hub", "subnets": ["10.0.0.0/24"]}), environ={})
    assert bad is not None
    path = write_workbook(bad, tmp_path / "bad.xlsx")
    workbook = load_workbook(path)
    workbook["VPNサブネット VPN subnets"]["A3"] = "10.0.0.1/24"
    workbook.save(path)
    with pytest.raises(ValidationFailed) as caught:
        load_sheet(path, environ={})
    assert caught.value.problems == [
        Problem("localSubnet 10.0.0.1/24 is not a valid IPv4 network (host bits set)",
                "tab VPNサブネット VPN subnets, cell A3"),
    ]  # fmt: skip
    workbook["VPNサブネット VPN subnets"]["A3"] = "10.0.0.0/24"
    workbook["VPNハブ VPN hubs"]["A3"] = "N_1"
    workbook.save(path)
    with pytest.raises(ValidationFailed) as caught:
        load_sheet(path, environ={})
    assert caught.value.problems == [
        Problem("hubs are named only in spoke mode, not in hub mode",
                "tab サイト間VPN Site-to-site VPN, row 3"),
    ]  # fmt: skip

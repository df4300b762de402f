"""The swap on the dashboard through the real meraki SDK against the local sandbox."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from core.audit import history
from core.errors import DashboardError
from dashboard.meraki import MerakiDashboard
from inventory import service as inventory
from inventory.models import Device, OwnershipEvent
from rma import replacement
from rma import service as rma_service
from rma.domain import RmaStatus, SwapParty
from sandbox.app import SandboxConfig
from sandbox.server import SandboxServer, running_sandbox
from tests.service.rma_builders import (
    AP,
    AP_SPARE,
    FAILED,
    LOGI,
    SPARE,
    SWAPPED,
    build_world,
    shipped_rma,
)

ORG = "537758"
NET = "N_demo_tokyo"
STATIC_WAN = {
    "wanEnabled": "enabled",
    "usingStaticIp": True,
    "staticIp": "203.0.113.20",
    "staticSubnetMask": "255.255.255.0",
    "staticGatewayIp": "203.0.113.1",
    "staticDns": ["1.1.1.1"],
}


@pytest.fixture(scope="module")
def rma_sandbox_server() -> Iterator[SandboxServer]:
    """A sandbox of our own (same setup as sandbox.testing's), independent of the plugin."""
    config = SandboxConfig(rate_limit=None, ip_rate_limit=None, batch_delay=0.05)
    with running_sandbox(config) as server:
        yield server


@pytest.fixture
def dash_sandbox(rma_sandbox_server: SandboxServer) -> SandboxServer:
    rma_sandbox_server.admin.reset("demo")
    rma_sandbox_server.admin.clear_faults()
    return rma_sandbox_server


def adapter(server: SandboxServer) -> MerakiDashboard:
    dashboard = MerakiDashboard(
        api_key=server.api_key, base_url=server.base_url, maximum_retries=1, retry_wait=0
    )
    dashboard.swap_poll_seconds = 0.05
    return dashboard


def network_serials(sdk: Any) -> set[str]:
    return {d["serial"] for d in sdk.networks.getNetworkDevices(NET)}


def test_swap_carries_settings_over_by_bulk_swap(
    session: Session, tmp_path: Path, dash_sandbox: SandboxServer
) -> None:
    sdk = dash_sandbox.dashboard_api()
    sdk.devices.updateDevice(
        FAILED, name="本社UTM", tags=["utm", "tokyo"], address="東京都千代田区1-1", notes="3F"
    )
    sdk.devices.updateDeviceManagementInterface(FAILED, wan1=STATIC_WAN)
    build_world(session, tmp_path)
    rma = shipped_rma(session, swap=False)
    dashboard = adapter(dash_sandbox)

    replacement.swap_replacement(
        session=session,
        actor=LOGI,
        rma_id=rma.id or 0,
        now=SWAPPED,
        dashboard=dashboard,
        organization_id=ORG,
    )
    session.flush()
    session.expire_all()

    assert network_serials(sdk) >= {SPARE} and FAILED not in network_serials(sdk)
    new = sdk.devices.getDevice(SPARE)
    assert (new["name"], new["tags"], new["address"], new["notes"]) == (
        "本社UTM",
        ["utm", "tokyo"],
        "東京都千代田区1-1",
        "3F",
    )
    wan1 = sdk.devices.getDeviceManagementInterface(SPARE)["wan1"]
    assert (wan1["usingStaticIp"], wan1["staticIp"]) == (True, "203.0.113.20")
    rma = rma_service.get_rma(session=session, rma_id=rma.id or 0)
    assert rma.status == RmaStatus.SWAPPED
    assert rma.dashboard_swap is not None and rma.dashboard_swap.startswith("bulk_swap")
    assert inventory.get_device(session=session, serial=SPARE).status == "deployed"

    # a retry after, say, a lost commit is harmless on the dashboard side
    again = dashboard.swap_device(
        organization_id=ORG, network_id=NET, old_serial=FAILED, new_serial=SPARE
    )
    assert again.method == "already_done"
    assert network_serials(sdk) >= {SPARE} and FAILED not in network_serials(sdk)


def test_swap_by_claim_copy_remove_carries_radio_settings(
    session: Session, tmp_path: Path, dash_sandbox: SandboxServer
) -> None:
    sdk = dash_sandbox.dashboard_api()
    sdk.devices.updateDevice(AP, name="3F会議室AP", tags=["ap"], notes="天井")
    sdk.wireless.updateDeviceWirelessRadioSettings(
        AP,
        twoFourGhzSettings={"channel": 6, "targetPower": 12},
        fiveGhzSettings={"channel": 44, "channelWidth": 40},
    )
    build_world(session, tmp_path)
    rma = shipped_rma(session, AP, swap=False)
    dashboard = adapter(dash_sandbox)
    dashboard.use_bulk_swap = False

    replacement.swap_replacement(
        session=session,
        actor=LOGI,
        rma_id=rma.id or 0,
        now=SWAPPED,
        dashboard=dashboard,
        organization_id=ORG,
        swapped_by=SwapParty.CUSTOMER,
        swapped_by_name="総務 佐藤",
    )
    serials = network_serials(sdk)
    assert AP_SPARE in serials and AP not in serials
    new = sdk.devices.getDevice(AP_SPARE)
    assert (new["name"], new["tags"], new["notes"]) == ("3F会議室AP", ["ap"], "天井")
    radio = sdk.wireless.getDeviceWirelessRadioSettings(AP_SPARE)
    assert radio["twoFourGhzSettings"] == {"channel": 6, "targetPower": 12}
    assert radio["fiveGhzSettings"]["channel"] == 44
    assert radio["fiveGhzSettings"]["channelWidth"] == 40
    rma = rma_service.get_rma(session=session, rma_id=rma.id or 0)
    assert rma.dashboard_swap is not None and rma.dashboard_swap.startswith("claim_copy_remove")
    assert (rma.swapped_by_kind, rma.swapped_by_name) == ("customer", "総務 佐藤")


def test_a_dashboard_failure_leaves_the_database_as_it_was(
    session: Session, tmp_path: Path, dash_sandbox: SandboxServer
) -> None:
    build_world(session, tmp_path)
    rma = shipped_rma(session, swap=False)
    failed = inventory.get_device(session=session, serial=FAILED)
    failed.network_id = "N_demo_osaka"  # the dashboard has it elsewhere: the swap must refuse
    session.add(failed)
    session.flush()
    events_before = len(session.exec(select(OwnershipEvent)).all())

    with pytest.raises(DashboardError, match="not in network N_demo_osaka"):
        replacement.swap_replacement(
            session=session,
            actor=LOGI,
            rma_id=rma.id or 0,
            now=SWAPPED,
            dashboard=adapter(dash_sandbox),
            organization_id=ORG,
        )
    session.expire_all()
    assert rma_service.get_rma(session=session, rma_id=rma.id or 0).status == RmaStatus.SHIPPED
    devices = {d.serial: d for d in session.exec(select(Device))}
    assert devices[FAILED].status == "failed" and devices[FAILED].contract_id is not None
    assert devices[SPARE].status == "in_transit" and devices[SPARE].contract_id is None
    assert len(session.exec(select(OwnershipEvent)).all()) == events_before
    sdk = dash_sandbox.dashboard_api()
    assert FAILED in network_serials(sdk) and SPARE not in network_serials(sdk)
    # the claim taken before the call is given back, audited, so the swap can be retried
    after = rma_service.get_rma(session=session, rma_id=rma.id or 0)
    assert after.swap_claimed_at is None
    actions = [e.action for e in history(session=session, entity_type="rma", entity_id=rma.number)]
    assert actions[-2:] == ["rma.swap_claimed", "rma.swap_failed"]
    failed = inventory.get_device(session=session, serial=FAILED)
    failed.network_id = NET  # corrected: the retry goes through
    session.add(failed)
    session.flush()
    replacement.swap_replacement(
        session=session,
        actor=LOGI,
        rma_id=rma.id or 0,
        now=SWAPPED,
        dashboard=adapter(dash_sandbox),
        organization_id=ORG,
    )
    assert rma_service.get_rma(session=session, rma_id=rma.id or 0).status == RmaStatus.SWAPPED
    assert SPARE in network_serials(sdk) and FAILED not in network_serials(sdk)

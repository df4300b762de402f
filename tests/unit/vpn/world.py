"""Builders shared by the VPN service, API and CLI tests: a sandbox state and matching contracts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session

from dashboard.meraki import MerakiDashboard
from dashboard.provisioning import MerakiProvisioning
from dashboard.session import build_sdk
from dashboard.vpn import MerakiVpnDashboard
from inventory.models import Contract, Device
from provisioning.service import ProvisioningOptions
from sandbox import seeds
from sandbox.access import attach_device
from sandbox.server import SandboxServer

ORG = "537758"
TOKYO, OSAKA, KOBE = "N_demo_tokyo", "N_demo_osaka", "N_vpn_kobe"
TOKYO_MX, OSAKA_MX, KOBE_MX = "Q2FY-AAAA-0001", "Q2FY-AAAA-0002", "Q2KY-BBBB-0001"
CUSTOMER = "株式会社さくら商事"
OPTIONS = ProvisioningOptions(secret_key=b"vpn-test-key", rate=1000.0, poll_seconds=0.05)
T1 = datetime(2026, 5, 1, 1, 0, tzinfo=UTC)
T2 = datetime(2026, 5, 1, 2, 0, tzinfo=UTC)


def static_wan(ip: str) -> dict[str, Any]:
    return {
        "wanEnabled": "enabled",
        "usingStaticIp": True,
        "staticIp": ip,
        "staticSubnetMask": "255.255.255.0",
        "staticGatewayIp": ip.rsplit(".", 1)[0] + ".1",
        "staticDns": ["1.1.1.1"],
    }


def sandbox_state(*, extra_spokes: int = 0, kobe_wan: str | None = "100.64.1.2") -> dict[str, Any]:
    """Demo seed + Osaka's MX + Kobe (router plan, CGNAT WAN) + optional extra VPN spokes."""
    st = seeds.seed_demo()
    st.devices[TOKYO_MX]["publicIp"] = "203.0.113.10"
    attach_device(st, st.devices[OSAKA_MX], OSAKA)
    seeds.add_network(st, ORG, KOBE, "神戸営業所 Kobe", ["appliance"])
    attach_device(st, st.devices[KOBE_MX], KOBE)
    if kobe_wan:
        st.devices[KOBE_MX]["managementInterface"]["wan1"] = static_wan(kobe_wan)
    if extra_spokes:
        st.network_settings[TOKYO]["siteToSiteVpn"] = {"mode": "hub", "hubs": [], "subnets": []}
        for i in range(extra_spokes):
            net = f"N_vpn_{i:04d}"
            seeds.add_network(st, ORG, net, f"拠点{i:04d}", ["appliance"])
            seeds.add_device(st, ORG, "MX67", f"Q2FY-{i // 10000:04d}-{i % 10000:04d}", net)
            st.network_settings[net]["siteToSiteVpn"] = {
                "mode": "spoke",
                "hubs": [{"hubId": TOKYO, "useDefaultRoute": False}],
                "subnets": [{"localSubnet": f"10.{i // 250}.{i % 250}.0/24", "useVpn": True}],
            }
    return st.to_dict()


def load(sandbox: SandboxServer, **kwargs: Any) -> None:
    sandbox.admin.load_state(sandbox_state(**kwargs))
    sandbox.admin.reset_counters()


def contracts(session: Session) -> None:
    """Tokyo and Osaka on a UTM contract with VPN; Kobe on a router contract with VPN."""
    utm = Contract(
        number="C-VPN-UTM",
        customer=CUSTOMER,
        plan="utm",
        options=["vpn"],
        status="active",
    )
    router = Contract(
        number="C-VPN-RT", customer="神戸物産", plan="router", options=["vpn"], status="active"
    )
    session.add(utm)
    session.add(router)
    session.flush()
    for serial, model, network, site, contract in (
        (TOKYO_MX, "MX67", TOKYO, "東京本社", utm),
        (OSAKA_MX, "MX67", OSAKA, "大阪支店", utm),
        (KOBE_MX, "MX68", KOBE, "神戸営業所", router),
    ):
        session.add(
            Device(
                serial=serial,
                model=model,
                status="deployed",
                customer=contract.customer,
                site=site,
                contract_id=contract.id,
                network_id=network,
            )
        )
    session.flush()


def vpn_dashboard(sandbox: SandboxServer, per_page: int = 300) -> MerakiVpnDashboard:
    dashboard = MerakiDashboard(  # patience 0.3 s: a 503 storm fails the call (first wait 0.5 s)
        api_key=sandbox.api_key, base_url=sandbox.base_url, maximum_retries=1, retry_wait=0,
        patience_seconds=0.3,
    )  # fmt: skip
    return MerakiVpnDashboard(dashboard, per_page=per_page)


def provisioning_dashboard(sandbox: SandboxServer) -> MerakiProvisioning:
    """The provisioning adapter VPN construction writes site-to-site settings through."""
    sdk = build_sdk(  # patience 0.3 s: a 503 storm fails the call
        api_key=sandbox.api_key, base_url=sandbox.base_url, maximum_retries=2,
        patience_seconds=0.3,
    )  # fmt: skip
    return MerakiProvisioning(sdk, organization_id=ORG)

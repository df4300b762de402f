"""Router-plan sheets for the netdevices tests, derived from provisioning/examples/router.yaml."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from provisioning.sheet_io import load_sheet
from provisioning.sheet_model import Sheet, sheet_to_raw

EXAMPLE = Path(__file__).resolve().parents[2] / "provisioning" / "examples" / "router.yaml"


def router_raw() -> dict[str, Any]:
    return sheet_to_raw(load_sheet(EXAMPLE))


def sheet(raw: dict[str, Any]) -> Sheet:
    return Sheet.model_validate(raw)


def router_sheet() -> Sheet:
    return sheet(router_raw())


def changed_sheet() -> Sheet:
    """One VLAN added (60, DHCP 4 hours, Google DNS) and rule 2 narrowed to RDP."""
    raw = router_raw()
    raw["vlans"].append(
        {
            "id": 60,
            "name": "Guest",
            "subnet": "192.168.60.0/24",
            "applianceIp": "192.168.60.1",
            "dhcpHandling": "run",
            "dhcpLeaseTime": "4 hours",
            "dnsNameservers": ["google_dns"],
        }
    )
    raw["l3FirewallRules"][1].update(protocol="tcp", destPort="3389")
    return sheet(raw)


def yamaha_sheet() -> Sheet:
    """router.yaml without the DHCP relay (RTX relays for the whole box, not per VLAN)."""
    raw = router_raw()
    raw["vlans"][1]["dhcpHandling"] = "off"
    raw["vlans"][1].pop("dhcpRelayServerIps", None)
    return sheet(raw)

"""Named seeds ("demo", "empty") and bulk generators for tests and benchmarks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sandbox import defaults
from sandbox.access import attach_device
from sandbox.state import SandboxState

SEED_TIME = datetime(2024, 4, 1, 0, 0, tzinfo=UTC)

DEMO_ORG_ID = "537758"

DEMO_NETWORKS: list[tuple[str, str, list[str]]] = [
    ("N_demo_tokyo", "東京本社 Tokyo HQ", ["appliance", "wireless"]),
    ("N_demo_osaka", "大阪支店 Osaka", ["appliance"]),
    ("N_demo_nagoya", "名古屋営業所 Nagoya", ["wireless"]),
    ("N_demo_yokohama", "横浜支店 Yokohama", ["appliance"]),
]

DEMO_DEVICES: list[tuple[str, str, str | None]] = [
    ("MX67", "Q2FY-AAAA-0001", "N_demo_tokyo"),
    ("MX67", "Q2FY-AAAA-0002", None),
    ("MX67", "Q2FY-AAAA-0004", "N_demo_yokohama"),
    ("MX68", "Q2KY-BBBB-0001", None),
    ("MX68", "Q2KY-BBBB-0002", None),
    ("MX68", "Q2KY-BBBB-0003", "N_demo_osaka"),
    ("Z4", "Q2TZ-CCCC-0001", None),
    ("MR36", "Q3AJ-DDDD-0001", "N_demo_tokyo"),
    ("MR36", "Q3AJ-DDDD-0002", None),
    ("MR36", "Q3AJ-DDDD-0003", None),
    ("MR46", "Q3AC-EEEE-0001", None),
    ("MR46", "Q3AC-EEEE-0002", None),
    ("MX67", "Q2FY-ZZZZ-0099", None),
]


def add_organization(st: SandboxState, org_id: str, name: str) -> None:
    """Create an empty organization."""
    st.organizations[org_id] = defaults.organization(org_id, name)


def add_network(
    st: SandboxState,
    org_id: str,
    net_id: str,
    name: str,
    product_types: list[str],
    time_zone: str = "Asia/Tokyo",
) -> None:
    """Create a network with factory settings."""
    st.networks[net_id] = defaults.network(net_id, org_id, name, product_types, time_zone, [])
    st.network_settings[net_id] = defaults.network_settings()


def add_device(
    st: SandboxState, org_id: str, model: str, serial: str, network_id: str | None = None
) -> None:
    """Claim a device (and a license for it) into an organization, optionally into a network."""
    dev = defaults.device(serial, model, org_id, SEED_TIME, order_number="4C1234567")
    st.devices[serial] = dev
    lic_id = str(st.new_id())
    st.licenses[lic_id] = defaults.license_for(lic_id, dev, SEED_TIME)
    st.device_licenses[serial] = lic_id
    if network_id is not None:
        attach_device(st, dev, network_id)


def generate_inventory(
    st: SandboxState, org_id: str, count: int, model: str = "MR36", prefix: str = "Q3GN"
) -> list[str]:
    """Bulk-claim `count` unassigned devices with serials PREFIX-NNNN-NNNN into an org."""
    serials = []
    start = sum(1 for s in st.devices if s.startswith(prefix + "-"))
    for i in range(start, start + count):
        serial = f"{prefix}-{i // 10000:04d}-{i % 10000:04d}"
        add_device(st, org_id, model, serial)
        serials.append(serial)
    return serials


def generate_organizations(st: SandboxState, count: int, devices_each: int = 0) -> list[str]:
    """Add `count` organizations, each with one appliance+wireless network and some devices."""
    ids = []
    base = 600000 + len(st.organizations)
    for n in range(count):
        org_id = str(base + n)
        add_organization(st, org_id, f"bench-{org_id}")
        add_network(st, org_id, f"N_bench_{org_id}", f"bench {org_id}", ["appliance", "wireless"])
        generate_inventory(st, org_id, devices_each, prefix=f"Q3{org_id[-2:]}")
        ids.append(org_id)
    return ids


def seed_demo() -> SandboxState:
    """The demo organization of netkeep's walkthrough."""
    st = SandboxState()
    add_organization(st, DEMO_ORG_ID, "demo")
    for net_id, name, products in DEMO_NETWORKS:
        add_network(st, DEMO_ORG_ID, net_id, name, products)
    for net_id in ("N_demo_tokyo", "N_demo_osaka", "N_demo_yokohama"):
        st.network_settings[net_id]["vlansEnabled"] = True
        st.network_settings[net_id]["vlans"] = {"1": defaults.default_vlan()}
    for model, serial, device_net in DEMO_DEVICES:
        add_device(st, DEMO_ORG_ID, model, serial, device_net)
    return st


def seed_empty() -> SandboxState:
    """One organization and nothing else."""
    st = SandboxState()
    add_organization(st, DEMO_ORG_ID, "demo")
    return st


SEEDS: dict[str, Callable[[], SandboxState]] = {"demo": seed_demo, "empty": seed_empty}


def build_seed(name: str) -> SandboxState:
    """State for a named seed; KeyError names the unknown seed."""
    try:
        return SEEDS[name]()
    except KeyError:
        raise KeyError(f"unknown seed {name!r}; known: {', '.join(sorted(SEEDS))}") from None

"""Pytest plugin: fixtures that start the loopback fake SSH device (``pytest_plugins`` entry)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from pydantic import SecretStr

from netdevices.fake_ssh import Behaviour, FakeDevice, FakeSSHServer
from netdevices.ports import DeviceTarget, Platform

FAST: dict[str, float] = {
    "conn_timeout": 2.0,
    "auth_timeout": 2.0,
    "banner_timeout": 2.0,
    "read_timeout": 2.0,
}

IOS_ROUTER_ROUTE = """Codes: L - local, C - connected, S - static, R - RIP, M - mobile, B - BGP
       * - candidate default, U - per-user static route, o - ODR

Gateway of last resort is 203.0.113.1 to network 0.0.0.0

S*    0.0.0.0/0 [1/0] via 203.0.113.1
      192.168.0.0/24 is variably subnetted, 2 subnets, 2 masks
C        192.168.0.0/24 is directly connected, Vlan1
L        192.168.0.1/32 is directly connected, Vlan1"""
BRIEF_HEADER = "Interface              IP-Address      OK? Method Status                Protocol"
IOS_ROUTER_BRIEF = (
    BRIEF_HEADER
    + """
GigabitEthernet0/0/0   203.0.113.2     YES DHCP   up                    up
GigabitEthernet0/1/0   unassigned      YES unset  up                    up
Vlan1                  192.168.0.1     YES NVRAM  up                    up"""
)
IOS_SWITCH_ROUTE = """Default gateway is 192.168.0.1

Host               Gateway           Last Use    Total Uses  Interface
ICMP redirect cache is empty"""
IOS_SWITCH_BRIEF = (
    BRIEF_HEADER
    + """
Vlan1                  192.168.0.250   YES NVRAM  up                    up
GigabitEthernet1/0/1   unassigned      YES unset  up                    up
GigabitEthernet1/0/2   unassigned      YES unset  down                  down"""
)


def ios_router() -> FakeDevice:
    """A customer's edge router: default route, two up L3 interfaces, NAT."""
    return FakeDevice(
        hostname="cust-edge",
        running=[
            "hostname cust-edge",
            "interface GigabitEthernet0/0/0",
            " ip address dhcp",
            " ip nat outside",
            "interface Vlan1",
            " ip address 192.168.0.1 255.255.255.0",
            " ip nat inside",
            "ip nat inside source list 1 interface GigabitEthernet0/0/0 overload",
            "ip route 0.0.0.0 0.0.0.0 203.0.113.1",
        ],
        outputs={"show ip route": IOS_ROUTER_ROUTE, "show ip interface brief": IOS_ROUTER_BRIEF},
    )


def ios_switch() -> FakeDevice:
    """A plain L2 switch with a management address: no routing."""
    return FakeDevice(
        hostname="cust-sw",
        running=[
            "hostname cust-sw",
            "interface Vlan1",
            " ip address 192.168.0.250 255.255.255.0",
            "ip default-gateway 192.168.0.1",
        ],
        outputs={"show ip route": IOS_SWITCH_ROUTE, "show ip interface brief": IOS_SWITCH_BRIEF},
    )


def ios_new_router() -> FakeDevice:
    """netkeep's own router before provisioning, with config netkeep must leave alone."""
    return FakeDevice(
        running=[
            "hostname rtr-test",
            "interface GigabitEthernet0/0/0",
            " ip address dhcp",
            " ip nat outside",
            "interface Vlan99",
            " description customer management",
            " ip address 10.99.0.1 255.255.255.0",
            "ip nat inside source static tcp 10.99.0.5 22 interface GigabitEthernet0/0/0 2222",
            "ip dhcp excluded-address 10.99.0.1 10.99.0.50",
            "ip route 0.0.0.0 0.0.0.0 dhcp",
            "line vty 0 4",
            " transport input ssh",
        ]
    )


def yamaha_router() -> FakeDevice:
    """A Yamaha RTX on PPPoE with NAT (console prompt set, as netmiko needs a named prompt)."""
    return FakeDevice(
        platform="yamaha",
        hostname="RTX1210",
        running=[
            "login password *",
            "console prompt RTX1210",
            "ip route default gateway pp 1",
            "ip lan1 address 192.168.100.1/24",
            "pp select 1",
            " pp always-on on",
            " pppoe use lan2",
            " ip pp nat descriptor 1000",
            " pp enable 1",
            "pp select none",
            "nat descriptor type 1000 masquerade",
        ],
    )


def yamaha_plain() -> FakeDevice:
    """A Yamaha RTX used as a plain LAN box: no route, no NAT, no PPPoE."""
    return FakeDevice(
        platform="yamaha",
        hostname="RTX1210",
        running=["login password *", "console prompt RTX1210", "ip lan1 address 192.168.0.2/24"],
    )


@dataclass
class FakeEndpoint:
    """A running fake device and how to reach it."""

    device: FakeDevice
    server: FakeSSHServer

    def target(self, **overrides: Any) -> DeviceTarget:
        """A DeviceTarget for this device with the test suite's short timeouts."""
        platform = Platform.YAMAHA if self.device.platform == "yamaha" else Platform.CISCO_IOS
        values: dict[str, Any] = {
            "host": self.server.host,
            "port": self.server.port,
            "device_type": platform,
            "username": self.device.username,
            "password": SecretStr(self.device.password),
            "secret": SecretStr(self.device.enable_secret),
            **FAST,
        }
        values.update(overrides)
        return DeviceTarget(**values)


@pytest.fixture
def fake_device_factory() -> Iterator[Callable[[FakeDevice], FakeEndpoint]]:
    """Start any FakeDevice on a free loopback port; every server stops after the test."""
    servers: list[FakeSSHServer] = []

    def start(device: FakeDevice) -> FakeEndpoint:
        server = FakeSSHServer(device).__enter__()
        servers.append(server)
        return FakeEndpoint(device, server)

    yield start
    for server in servers:
        server.close()


@pytest.fixture
def fake_ios(fake_device_factory: Callable[[FakeDevice], FakeEndpoint]) -> FakeEndpoint:
    """netkeep's IOS router before provisioning."""
    return fake_device_factory(ios_new_router())


@pytest.fixture
def fake_yamaha(fake_device_factory: Callable[[FakeDevice], FakeEndpoint]) -> FakeEndpoint:
    """A Yamaha RTX on PPPoE."""
    return fake_device_factory(yamaha_router())


__all__ = [
    "Behaviour",
    "FakeEndpoint",
    "fake_device_factory",
    "fake_ios",
    "fake_yamaha",
    "ios_new_router",
    "ios_router",
    "ios_switch",
    "yamaha_plain",
    "yamaha_router",
]

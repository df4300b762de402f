"""Site check: pure evidence parsing, and real SSH logins to the loopback fake devices."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from core.errors import DeviceUnreachable, DomainError, ValidationFailed
from netdevices import testing as fakes
from netdevices.fake_ssh import Behaviour, FakeDevice
from netdevices.netmiko_adapter import NetmikoDeviceCLI
from netdevices.ports import Platform
from netdevices.site_check import ALLOWED, REFUSED, check_site, ios_evidence, judge, yamaha_evidence

Factory = Callable[[FakeDevice], fakes.FakeEndpoint]


@pytest.mark.parametrize(
    ("route", "brief", "running", "meanings"),
    [
        (fakes.IOS_ROUTER_ROUTE, "", "", {"default route", "route via a next hop"}),
        ("", fakes.IOS_ROUTER_BRIEF, "", {"up interface with an IP"}),
        ("", fakes.IOS_SWITCH_BRIEF, "", set()),
        ("", "", "interface G0\n ip nat outside", {"NAT is configured"}),
        ("", "", "router ospf 1", {"a routing protocol runs"}),
        (fakes.IOS_SWITCH_ROUTE, "", "ip default-gateway 192.168.0.1", set()),
    ],
)
def test_ios_evidence(route: str, brief: str, running: str, meanings: set[str]) -> None:
    assert {e.meaning for e in ios_evidence(route, brief, running)} == meanings


@pytest.mark.parametrize(
    ("config", "routing"),
    [
        ("ip route default gateway pp 1", True),
        ("ip route default gateway 192.168.0.254", True),
        ("pp select 1\n pppoe use lan2\npp select none", True),
        ("nat descriptor type 1000 masquerade", True),
        ("ip lan2 address dhcp", True),
        ("# RTX1210 Rev.14\nip lan1 address 192.168.0.2/24\nconsole prompt R", False),
    ],
)
def test_yamaha_evidence(config: str, routing: bool) -> None:
    assert bool(yamaha_evidence(config)) is routing


@pytest.mark.parametrize(
    ("platform", "outputs"),
    [
        (Platform.CISCO_IOS, ["@@@ garbage", fakes.IOS_ROUTER_BRIEF, "hostname r"]),
        (Platform.YAMAHA, ["%%%% ~~~~"]),
    ],
)
def test_unrecognised_output_is_refused_with_excerpt(
    platform: Platform, outputs: list[str]
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        judge("192.0.2.1:22", platform, outputs)
    assert outputs[0] in str(caught.value)


@pytest.mark.parametrize(
    ("make", "routing"),
    [(fakes.ios_router, True), (fakes.ios_switch, False)],
)
def test_ios_site_check_over_ssh(fake_device_factory: Factory, make, routing: bool) -> None:
    endpoint = fake_device_factory(make())
    with NetmikoDeviceCLI(endpoint.target()) as cli:
        result = check_site(cli=cli)
    assert result.routing is routing
    assert result.verdict == (REFUSED if routing else ALLOWED)
    assert result.install_allowed is not routing
    if routing:
        lines = {e.line for e in result.evidence}
        assert "S*    0.0.0.0/0 [1/0] via 203.0.113.1" in lines
        assert "ip nat outside" in lines


@pytest.mark.parametrize(
    ("make", "routing"),
    [(fakes.yamaha_router, True), (fakes.yamaha_plain, False)],
)
def test_yamaha_site_check_over_ssh(fake_device_factory: Factory, make, routing: bool) -> None:
    endpoint = fake_device_factory(make())
    with NetmikoDeviceCLI(endpoint.target()) as cli:
        result = check_site(cli=cli)
    assert result.platform is Platform.YAMAHA
    assert result.routing is routing
    if routing:
        assert "ip route default gateway pp 1" in {e.line for e in result.evidence}
        assert result.verdict == "UTM/router install refused: an upstream router exists"


def test_site_check_on_garbage_device_is_a_clear_domain_error(fake_device_factory: Factory) -> None:
    device = fakes.ios_router()
    device.behaviour = Behaviour.GARBAGE
    endpoint = fake_device_factory(device)
    with pytest.raises(DomainError) as caught, NetmikoDeviceCLI(endpoint.target()) as cli:
        check_site(cli=cli)
    assert isinstance(caught.value, DeviceUnreachable | ValidationFailed)
    assert "DEADBEEF" in str(caught.value)

"""Pure rendering, parsing and diffing of router configs (no SSH)."""

from __future__ import annotations

import pytest

from core.errors import ValidationFailed
from netdevices.ports import Platform
from netdevices.router_config import Change, Section, diff, parse_running_config, render
from tests.netdevices.sheets import changed_sheet, router_raw, router_sheet, sheet, yamaha_sheet

ACL = "ip access-list extended NETKEEP-L3"


def _as_running(lines: list[str]) -> str:
    """What IOS would print after taking these lines (exit lines dropped)."""
    return "\n".join(line for line in lines if line.strip() != "exit")


@pytest.mark.parametrize(
    ("platform", "expected"),
    [
        (Platform.CISCO_IOS, "interface Vlan50"),
        (Platform.CISCO_IOS, " ip helper-address 192.168.1.10"),
        (Platform.CISCO_IOS, " permit tcp 192.168.50.0 0.0.0.255 host 192.168.1.10 eq 445"),
        (Platform.CISCO_IOS, " deny ip 192.168.50.0 0.0.0.255 192.168.1.0 0.0.0.255"),
        (Platform.CISCO_IOS, " remark rule 1: l3FirewallRules[0] CAD SMB LAN"),
        (Platform.CISCO_IOS, " permit ip any any"),
        (Platform.CISCO_IOS, "ip dhcp excluded-address 192.168.1.2 192.168.1.29"),
        (Platform.CISCO_IOS, " network 192.168.1.0 255.255.255.0"),
        (Platform.CISCO_IOS, " dns-server 192.168.1.1"),
        (Platform.CISCO_IOS, " hardware-address ac1f.6b00.1122"),
        (
            Platform.CISCO_IOS,
            "ip nat inside source static tcp 192.168.1.10 5001 interface GigabitEthernet0/0/0 5001",
        ),
        (Platform.YAMAHA, "ip lan1/2 address 192.168.50.1/24"),
        (Platform.YAMAHA, "vlan lan1/2 802.1q vid=50"),
        (Platform.YAMAHA, "ip filter 9001 pass 192.168.50.0/24 192.168.1.10 tcp * 445"),
        (Platform.YAMAHA, "ip filter 9999 pass * * * * *"),
        (Platform.YAMAHA, "ip lan1/1 secure filter in 9001 9002 9999"),
        (
            Platform.YAMAHA,
            "dhcp scope 1 192.168.1.1-192.168.1.254/24 except 192.168.1.1 "
            "192.168.1.2-192.168.1.29 gateway 192.168.1.1 expire 24:00",
        ),
        (Platform.YAMAHA, "dhcp scope bind 1 192.168.1.10 ethernet ac:1f:6b:00:11:22"),
        (Platform.YAMAHA, "nat descriptor masquerade static 1000 1 192.168.1.10 tcp 5001"),
    ],
)
def test_render_contains(platform: Platform, expected: str) -> None:
    source = yamaha_sheet() if platform is Platform.YAMAHA else router_sheet()
    assert expected in render(source, platform).lines()


def test_ios_lines_are_ascii_and_in_dependency_order() -> None:
    lines = render(router_sheet(), Platform.CISCO_IOS).lines()
    assert all(line.isascii() for line in lines)
    assert lines.index(ACL) < lines.index("interface Vlan1")
    assert lines.index("ip dhcp excluded-address 192.168.1.1") < lines.index(
        "ip dhcp pool NETKEEP-VLAN1"
    )


@pytest.mark.parametrize(
    ("lease", "line"),
    [("30 minutes", " lease 0 0 30"), ("4 hours", " lease 0 4"), ("1 week", " lease 7")],
)
def test_ios_lease(lease: str, line: str) -> None:
    raw = router_raw()
    raw["vlans"][0]["dhcpLeaseTime"] = lease
    assert line in render(sheet(raw), Platform.CISCO_IOS).lines()


@pytest.mark.parametrize(
    ("rule", "entries"),
    [
        (
            {"policy": "deny", "protocol": "tcp", "destPort": "80,443"},
            ["deny tcp any any eq 80 443"],
        ),
        (
            {"policy": "allow", "protocol": "udp", "destPort": "5000-5010", "syslogEnabled": True},
            ["permit udp any any range 5000 5010 log"],
        ),
        (
            {"policy": "deny", "protocol": "icmp", "srcCidr": "10.0.0.0/8,172.16.0.0/12"},
            ["deny icmp 10.0.0.0 0.255.255.255 any", "deny icmp 172.16.0.0 0.15.255.255 any"],
        ),
    ],
)
def test_ios_acl_entries(rule: dict[str, object], entries: list[str]) -> None:
    raw = router_raw()
    raw["l3FirewallRules"] = [rule]
    lines = render(sheet(raw), Platform.CISCO_IOS).lines()
    start = lines.index(ACL)
    assert lines[start + 2 : start + 2 + len(entries)] == [f" {e}" for e in entries]


@pytest.mark.parametrize(
    ("platform", "change", "location"),
    [
        (
            Platform.CISCO_IOS,
            ("portForwardingRules", 0, "publicPort", "6000-6001"),
            "portForwardingRules[0]",
        ),
        (Platform.CISCO_IOS, ("l3FirewallRules", 0, "protocol", "icmp6"), "l3FirewallRules[0]"),
        (Platform.YAMAHA, ("vlans", 1, "dhcpHandling", "relay"), "vlans[1]"),
    ],
)
def test_unrenderable_settings_fail_with_location(
    platform: Platform, change: tuple[str, int, str, str], location: str
) -> None:
    raw = router_raw()
    section, index, key, value = change
    raw[section][index][key] = value
    if key == "publicPort":
        raw[section][index]["localPort"] = value
    if key == "protocol":
        raw[section][index].pop("destPort")
    with pytest.raises(ValidationFailed) as caught:
        render(sheet(raw), platform)
    assert [p.location for p in caught.value.problems] == [location]


def test_parse_running_config_sections() -> None:
    text = (
        "Building configuration...\n!\nversion 15.9\nhostname r\n!\ninterface Vlan1\n"
        " ip address 1.1.1.1 255.0.0.0\n shutdown\n!\nip route 0.0.0.0 0.0.0.0 1.1.1.2\nend"
    )
    assert parse_running_config(text) == [
        Section("hostname r"),
        Section("interface Vlan1", ("ip address 1.1.1.1 255.0.0.0", "shutdown")),
        Section("ip route 0.0.0.0 0.0.0.0 1.1.1.2"),
    ]


@pytest.mark.parametrize("platform", [Platform.CISCO_IOS, Platform.YAMAHA])
def test_diff_of_own_rendering_is_empty(platform: Platform) -> None:
    source = yamaha_sheet() if platform is Platform.YAMAHA else router_sheet()
    desired = render(source, platform)
    assert diff(desired, _as_running(desired.lines())).is_empty


def test_diff_never_touches_unmanaged_lines() -> None:
    desired = render(router_sheet(), Platform.CISCO_IOS)
    running = _as_running(
        [
            "hostname rtr",
            "interface Vlan1",
            " ip ospf cost 10",  # inside a netkeep interface, but not a line netkeep renders
            "interface Vlan99",
            " ip address 10.99.0.1 255.255.255.0",
            "ip dhcp pool CUSTOMER",
            " network 10.99.0.0 255.255.255.0",
            "ip dhcp excluded-address 10.99.0.1",
            "ip nat inside source static tcp 10.99.0.5 22 interface GigabitEthernet0/0/0 2222",
            "ip access-list extended CUSTOMER-ACL",
            " permit ip any any",
        ]
    )
    result = diff(desired, running)
    assert result.removed == ()
    assert not any("10.99." in c or "CUSTOMER" in c or "ospf" in c for c in result.commands)


def test_diff_removes_stale_netkeep_items_last_and_nat_first() -> None:
    desired = render(router_sheet(), Platform.CISCO_IOS)
    stale = [
        "interface Vlan70",
        " description netkeep VLAN 70 old",
        " ip address 192.168.70.1 255.255.255.0",
        "ip dhcp pool NETKEEP-VLAN70",
        " network 192.168.70.0 255.255.255.0",
        "ip nat inside source static tcp 192.168.70.9 80 interface GigabitEthernet0/0/0 80",
        "ip dhcp excluded-address 192.168.70.1",
    ]
    result = diff(desired, _as_running([*desired.lines(), *stale]))
    assert set(result.removed) == {
        Change("", "interface Vlan70"),
        Change("", "ip dhcp pool NETKEEP-VLAN70"),
        Change("", stale[5]),
        Change("", "ip dhcp excluded-address 192.168.70.1"),
    }
    assert result.added == ()
    assert result.commands == (
        f"no {stale[5]}",
        "no ip dhcp excluded-address 192.168.70.1",
        "no ip dhcp pool NETKEEP-VLAN70",
        "no interface Vlan70",
    )


def test_diff_of_changed_sheet_is_exact() -> None:
    before = render(router_sheet(), Platform.CISCO_IOS)
    result = diff(render(changed_sheet(), Platform.CISCO_IOS), _as_running(before.lines()))
    old_rule = "deny ip 192.168.50.0 0.0.0.255 192.168.1.0 0.0.0.255"
    new_rule = "deny tcp 192.168.50.0 0.0.0.255 192.168.1.0 0.0.0.255 eq 3389"
    assert result.removed == (Change(ACL, old_rule),)
    vlan = "interface Vlan60"
    pool = "ip dhcp pool NETKEEP-VLAN60"
    assert result.added == (
        Change(ACL, new_rule),
        Change("", vlan),
        Change(vlan, "description netkeep VLAN 60 Guest"),
        Change(vlan, "ip address 192.168.60.1 255.255.255.0"),
        Change(vlan, "ip nat inside"),
        Change(vlan, "ip access-group NETKEEP-L3 in"),
        Change("", "ip dhcp excluded-address 192.168.60.1"),
        Change("", pool),
        Change(pool, "network 192.168.60.0 255.255.255.0"),
        Change(pool, "default-router 192.168.60.1"),
        Change(pool, "dns-server 8.8.8.8 8.8.4.4"),
        Change(pool, "lease 0 4"),
    )
    # The ACL keeps its order: the changed rule and everything after it are rewritten in place.
    acl = result.commands[: result.commands.index(" exit") + 1]
    assert acl == (
        ACL,
        f" no {old_rule}",
        " no remark default: allow any (as the Meraki default rule)",
        " no permit ip any any",
        f" {new_rule}",
        " remark default: allow any (as the Meraki default rule)",
        " permit ip any any",
        " exit",
    )


def test_yamaha_diff_overwrites_by_key_and_removes_what_left() -> None:
    before = render(yamaha_sheet(), Platform.YAMAHA)
    raw = router_raw()
    raw["vlans"] = raw["vlans"][:1]
    raw["l3FirewallRules"][0]["destPort"] = "139,445"
    after = render(sheet(raw), Platform.YAMAHA)
    result = diff(after, _as_running(["ip route default gateway pp 1", *before.lines()]))
    assert "ip filter 9001 pass 192.168.50.0/24 192.168.1.10 tcp * 139,445" in result.commands
    assert "no ip lan1/2 address" in result.commands
    assert "no vlan lan1/2 802.1q" in result.commands
    assert not any("ip route" in c for c in result.commands)
    kinds = [c.startswith("no ") for c in result.commands]
    assert kinds == sorted(kinds)  # every add or overwrite before the first removal

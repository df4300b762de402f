"""The diff that plans every dashboard write, stated from what a plan must say.

A plan must create what does not exist (a new VLAN, RF profile, device, or the network),
update only the fields that differ (inside nested settings too), leave equal things alone,
compare only what the dashboard reports, and never show a secret (docs/sheets.md; issue 22).
"""

from __future__ import annotations

from typing import Any

import pytest

from provisioning.domain import (
    Change,
    ChangeAction,
    FieldChange,
    desired_resources,
    diff,
    field_changes,
    fingerprint_secrets,
    ident_of,
    kind_of,
    masked,
    normalise_current,
    same,
    sections_of,
    sorted_subnets,
)

A = ChangeAction


@pytest.mark.parametrize(
    ("key", "kind", "ident"),
    [
        ("vlan/10", "vlan", "10"),
        ("ssid/3", "ssid", "3"),
        ("rfProfile/会議室", "rfProfile", "会議室"),
        ("device/Q2FY-AAAA-0001", "device", "Q2FY-AAAA-0001"),
        ("device/Q2FY-AAAA-0001/managementInterface", "managementInterface", "Q2FY-AAAA-0001"),
        ("device/Q2FY-AAAA-0001/radio", "radio", "Q2FY-AAAA-0001"),
        ("security/intrusion", "security/intrusion", ""),
        ("vpn/siteToSiteVpn", "vpn/siteToSiteVpn", ""),
        ("l3FirewallRules", "l3FirewallRules", ""),
        ("network", "network", ""),
    ],
)
def test_resource_keys(key, kind, ident):
    assert (kind_of(key), ident_of(key)) == (kind, ident)


VIEW: dict[str, Any] = {
    "network": {"name": "本社", "productTypes": ["appliance"]},
    "devices": {
        "S1": {
            "name": "mx",
            "address": None,
            "managementInterface": {"wan1": {"usingStaticIp": False}},
        },
        "S2": {"name": "ap", "radio": {"rfProfileId": "会議室"}},
    },
    "appliance": {
        "vlans": {10: {"name": "data", "subnet": "10.0.10.0/24"}},
        "l3FirewallRules": {"rules": []},
        "security/intrusion": {"mode": "prevention"},
    },
    "wireless": {
        "ssids": {0: {"name": "staff"}},
        "rfProfiles": {"会議室": {"bandSelectionType": "ap"}},
    },
}


def test_desired_resources_flatten_the_view():
    assert desired_resources(VIEW) == {
        "network": {"name": "本社", "productTypes": ["appliance"]},
        "device/S1": {"name": "mx"},  # unset fields and separately written parts left out
        "device/S1/managementInterface": {"wan1": {"usingStaticIp": False}},
        "device/S2": {"name": "ap"},
        "device/S2/radio": {"rfProfileId": "会議室"},
        "vlan/10": {"name": "data", "subnet": "10.0.10.0/24", "id": "10"},
        "l3FirewallRules": {"rules": []},
        "security/intrusion": {"mode": "prevention"},
        "ssid/0": {"name": "staff"},
        "rfProfile/会議室": {"bandSelectionType": "ap"},
    }


def test_sections_are_what_the_sheet_names_even_empty():
    assert sections_of(VIEW) == {
        "network", "device", "vlan", "l3FirewallRules", "security/intrusion", "ssid", "rfProfile"
    }  # fmt: skip
    assert sections_of({"network": {}}) == {"network"}
    assert sections_of({"network": {}, "appliance": {"vlans": {}}, "wireless": {"ssids": {}}}) == {
        "network", "vlan", "ssid"
    }  # fmt: skip


def test_secrets_are_fingerprinted_wherever_they_are():
    body = {
        "name": "staff",
        "psk": "clear",
        "radiusServers": [{"host": "h", "secret": "s"}, {"host": "i", "secret": ""}],
        "nested": {"psk": 5},
    }
    assert fingerprint_secrets(body, lambda v: f"fp({v})") == {
        "name": "staff",
        "psk": "fp(clear)",
        "radiusServers": [{"host": "h", "secret": "fp(s)"}, {"host": "i", "secret": ""}],
        "nested": {"psk": 5},  # not a clear text value: left for the diff to report
    }


@pytest.mark.parametrize(
    ("kind", "body", "expected"),
    [
        ("l3FirewallRules", {"rules": [{"comment": "a"}, {"comment": "Default rule"}]},
         {"rules": [{"comment": "a"}]}),
        # only the last rule is the dashboard's implicit one
        ("l3FirewallRules", {"rules": [{"comment": "Default rule"}, {"comment": "a"}]},
         {"rules": [{"comment": "Default rule"}, {"comment": "a"}]}),
        ("l3FirewallRules", {}, {"rules": []}),
        ("contentFiltering", {"blockedUrlCategories": [{"id": "meraki:1", "name": "x"}, "m:2"]},
         {"blockedUrlCategories": ["meraki:1", "m:2"]}),
        ("contentFiltering", {}, {"blockedUrlCategories": []}),
        ("vpn/siteToSiteVpn", {"mode": "spoke", "hubs": None}, {"mode": "spoke", "hubs": []}),
        ("vpn/siteToSiteVpn",
         {"hubs": [], "subnets": [{"localSubnet": "10.2.0.0/16"}, {"localSubnet": "10.1.0.0/16"}]},
         {"hubs": [], "subnets": [{"localSubnet": "10.1.0.0/16"}, {"localSubnet": "10.2.0.0/16"}]}),
        ("vlan", {"id": 10, "name": "a"}, {"id": "10", "name": "a"}),
        ("vlan", {"name": "a"}, {"name": "a"}),
        ("ssid", {"id": 1, "rules": None}, {"id": 1, "rules": None}),
    ],
)  # fmt: skip
def test_normalise_current(kind, body, expected):
    original = repr(body)
    assert normalise_current(kind, body) == expected
    assert repr(body) == original  # the dashboard's answer is not changed in place


def test_subnets_in_address_order_then_prefix_then_the_unparsable():
    subnets = [
        {"localSubnet": "junk"},
        {"localSubnet": "10.0.0.0/24"},
        {"localSubnet": "9.0.0.0/8"},
        {"localSubnet": "10.0.0.0/16"},
        {"localSubnet": "another"},
    ]
    assert [s["localSubnet"] for s in sorted_subnets(subnets)] == [
        "9.0.0.0/8", "10.0.0.0/16", "10.0.0.0/24", "another", "junk"
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("want", "have", "expected"),
    [
        (None, "anything", True),  # nothing asked
        ("", None, True),
        ([], None, True),
        ({}, None, True),
        (0, None, False),
        (False, None, False),
        ("x", None, False),
        ({"a": 1}, "not a dict", False),
        ({"a": 1}, {"a": 2}, False),
        ({"a": {"b": 1}}, {"a": {"b": 1, "c": 2}}, True),  # desired keys only, nested too
        ({"a": {"b": 1}}, {"a": {"b": 2}}, False),
        ({"secret": "fp"}, {"host": "h"}, True),  # never returned: cannot be compared
        ({"secret": "fp"}, {"secret": "other"}, False),
        ({"fixedIpAssignments": {"m": 1}}, {"fixedIpAssignments": {"m": 1, "n": 2}}, False),
        ({"fixedIpAssignments": {"m": 1}}, {"fixedIpAssignments": {"m": 1}}, True),
        ([1, 2], [1, 2], True),  # equal lists are the same
        ([{"a": 1}], [{"a": 1, "x": 0}], True),
        ([1, 2], [1, 2, 3], False),
        ([1, 2], [1], False),
        ([1, 2], [1, 3], False),
        ([1], "1", False),
        (1, 1.0, True),
        (1.5, 1.5, True),
        (1.5, 2, False),
        (True, 1, False),  # a flag is not a number
        (1, True, False),
        (True, True, True),
        (False, True, False),
        ("10", 10, True),  # the dashboard returns some ids as numbers
        ("a", "b", False),
        (1.5, "1.5", False),
    ],
)
def test_same(want, have, expected):
    assert same(want, have) is expected


def test_exact_keys_for_a_whole_map():
    assert same({"a": 1}, {"a": 1, "b": 2}, exact_keys=True) is False
    assert same({"a": 1}, {"a": 1}, exact_keys=True) is True


def test_masked_hides_secrets_at_any_depth():
    value = {"psk": "p", "radiusServers": [{"host": "h", "secret": "s"}], "n": {"psk": None}}
    assert masked(value) == {
        "psk": "(secret)",
        "radiusServers": [{"host": "h", "secret": "(secret)"}],
        "n": {"psk": "(secret)"},
    }
    assert masked([1, "x"]) == [1, "x"]
    assert masked("psk") == "psk"


def test_a_new_resource_lists_every_field_nested_ones_by_path():
    desired = {"name": "v", "dhcp": {"lease": "1 day", "dns": None}, "psk": "fp", "off": None}
    assert field_changes(desired, None) == [
        FieldChange("name", None, "v"),
        FieldChange("dhcp.lease", None, "1 day"),
        FieldChange("psk", secret=True),
    ]


def test_an_update_names_only_what_differs_inside_nested_settings():
    desired = {"name": "v", "dhcp": {"lease": "1 day", "dns": "8.8.8.8"}}
    current = {"name": "v", "dhcp": {"lease": "1 day", "dns": "1.1.1.1"}}
    assert field_changes(desired, current) == [FieldChange("dhcp.dns", "1.1.1.1", "8.8.8.8")]


def test_a_nested_setting_the_dashboard_lacks_is_replaced_whole_and_masked():
    desired = {"auth": {"psk": "fp", "mode": "wpa2"}}
    assert field_changes(desired, {"auth": "legacy"}) == [
        FieldChange("auth", "legacy", {"psk": "(secret)", "mode": "wpa2"})
    ]
    assert field_changes(desired, {}) == [
        FieldChange("auth", None, {"psk": "(secret)", "mode": "wpa2"})
    ]


def test_lists_equal_are_left_alone_different_are_replaced_masked():
    desired = {"radiusServers": [{"host": "h", "secret": "fp-new"}], "tags": ["a"]}
    current = {"radiusServers": [{"host": "h", "secret": "fp-old"}], "tags": ["a"]}
    assert field_changes(desired, current) == [
        FieldChange(
            "radiusServers",
            [{"host": "h", "secret": "(secret)"}],
            [{"host": "h", "secret": "(secret)"}],
        )
    ]


@pytest.mark.parametrize(
    ("have", "changes"),
    [
        ("fp", []),
        ("other", [FieldChange("psk", secret=True)]),
        (None, [FieldChange("psk", secret=True)]),
    ],
)
def test_a_secret_changes_when_its_fingerprint_differs_or_is_unknown(have, changes):
    assert field_changes({"psk": "fp"}, {"psk": have}) == changes


@pytest.mark.parametrize(
    ("current", "changes"),
    [
        ({"name": "s"}, []),  # not reported (non-PSK SSID): not compared
        ({"name": "s", "wpaEncryptionMode": "WPA2 only"}, [
            FieldChange("wpaEncryptionMode", "WPA2 only", "WPA3 Transition Mode")
        ]),
        ({"name": "s", "wpaEncryptionMode": "WPA3 Transition Mode"}, []),
    ],
)  # fmt: skip
def test_reported_only_fields_of_an_ssid(current, changes):
    desired = {"name": "s", "wpaEncryptionMode": "WPA3 Transition Mode"}
    assert field_changes(desired, current, kind="ssid") == changes
    # other kinds always compare it
    if "wpaEncryptionMode" not in current:
        assert field_changes(desired, current, kind="vlan") == [
            FieldChange("wpaEncryptionMode", None, "WPA3 Transition Mode")
        ]


def test_map_fields_compare_their_keys_exactly():
    desired = {"fixedIpAssignments": {"aa": {"ip": "1"}}}
    assert field_changes(desired, {"fixedIpAssignments": {"aa": {"ip": "1"}}}) == []
    assert field_changes(desired, {"fixedIpAssignments": {}}) == [
        FieldChange("fixedIpAssignments", {}, {"aa": {"ip": "1"}})
    ]


def test_an_empty_desired_setting_is_satisfied_by_anything():
    assert field_changes({"dhcp": {}}, {"dhcp": {"lease": "1 day"}}) == []


def _diff(desired, current, *, prune=False, network_exists=True, sections=None):
    keys = {kind_of(k) for k in [*desired, *current]}
    return diff(
        desired,
        current,
        sections=frozenset(sections if sections is not None else keys),
        prune=prune,
        network_exists=network_exists,
    )


def test_a_missing_network_is_created_with_its_name():
    desired = {"network": {"name": "本社", "productTypes": ["appliance"], "timeZone": "Asia/Tokyo"}}
    assert _diff(desired, {}, network_exists=False) == [
        Change(
            "network",
            A.CREATE,
            (
                FieldChange("name", None, "本社"),
                FieldChange("productTypes", None, ["appliance"]),
                FieldChange("timeZone", None, "Asia/Tokyo"),
            ),
        )
    ]


def test_an_existing_network_is_never_renamed_by_a_plan():
    desired = {"network": {"name": "新", "productTypes": ["wireless"], "timeZone": "Asia/Tokyo"}}
    current = {"network": {"name": "旧", "productTypes": ["appliance"], "timeZone": "UTC"}}
    assert _diff(desired, current) == [
        Change("network", A.UPDATE, (FieldChange("timeZone", "UTC", "Asia/Tokyo"),))
    ]
    current["network"]["timeZone"] = "Asia/Tokyo"
    assert _diff(desired, current) == []


@pytest.mark.parametrize("key", ["vlan/20", "rfProfile/会議室", "device/Q2FY-AAAA-0001"])
def test_a_new_vlan_rf_profile_or_device_is_created(key):
    assert _diff({key: {"name": "x"}}, {}) == [
        Change(key, A.CREATE, (FieldChange("name", None, "x"),))
    ]


def test_ssids_and_singletons_always_exist_so_they_are_updated():
    desired = {"ssid/3": {"name": "guest"}, "l3FirewallRules": {"rules": [{"policy": "deny"}]}}
    assert _diff(desired, {}) == [
        Change("ssid/3", A.UPDATE, (FieldChange("name", None, "guest"),)),
        Change("l3FirewallRules", A.UPDATE, (FieldChange("rules", None, [{"policy": "deny"}]),)),
    ]


def test_an_existing_resource_is_updated_only_where_it_differs():
    desired = {"vlan/10": {"id": "10", "name": "data", "subnet": "10.0.10.0/24"}}
    same_vlan = {"vlan/10": {"id": "10", "name": "data", "subnet": "10.0.10.0/24", "x": 1}}
    assert _diff(desired, same_vlan) == []
    renamed = {"vlan/10": {"id": "10", "name": "old", "subnet": "10.0.10.0/24"}}
    assert _diff(desired, renamed) == [
        Change("vlan/10", A.UPDATE, (FieldChange("name", "old", "data"),))
    ]


def test_pruning_deletes_vlans_and_disables_enabled_ssids_of_named_sections_only():
    desired = {"network": {"name": "n"}, "vlan/10": {"id": "10"}}
    current = {
        "network": {"name": "n"},
        "vlan/10": {"id": "10"},
        "vlan/20": {"id": "20"},
        "ssid/1": {"enabled": True},
        "ssid/2": {"enabled": False},
        "rfProfile/x": {"name": "x"},  # never pruned
    }
    all_named = {"network", "vlan", "ssid", "rfProfile"}
    assert _diff(desired, current, prune=True, sections=all_named) == [
        Change("vlan/20", A.DELETE),
        Change("ssid/1", A.DISABLE, (FieldChange("enabled", True, False),)),
    ]
    assert _diff(desired, current, prune=True, sections={"network", "vlan"}) == [
        Change("vlan/20", A.DELETE)
    ]
    assert _diff(desired, current, prune=False, sections=all_named) == []


@pytest.mark.parametrize("field", ["encryptionMode", "wpaEncryptionMode"])
def test_both_psk_only_fields_are_compared_only_when_reported(field):
    assert field_changes({"name": "s", field: "wpa"}, {"name": "s"}, kind="ssid") == []
    assert field_changes({field: "wpa"}, {field: "open"}, kind="ssid") == [
        FieldChange(field, "open", "wpa")
    ]


def test_a_field_change_carries_its_value_unless_it_is_a_secret():
    assert FieldChange("name", "a", "b").secret is False
    assert Change("vlan/10", A.DELETE).fields == ()
    assert Change("vlan/10", A.DELETE).kind == "vlan"
    assert Change("device/S/radio", A.UPDATE).kind == "radio"


def test_a_subnet_written_with_host_bits_sorts_by_its_network():
    subnets = [{"localSubnet": "10.0.0.0/8"}, {"localSubnet": "9.0.0.1/8"}]
    assert [s["localSubnet"] for s in sorted_subnets(subnets)] == ["9.0.0.1/8", "10.0.0.0/8"]

"""Batching rules stated with literal values (issue 22: mutants of provisioning/batching.py).

The order of writes (docs/sheets.md): the network is created first, then devices are claimed,
VLANs enabled, created, updated, then network/device settings, SSIDs and RF profiles, AP radio
assignments and batchable appliance settings, deletions, and last the appliance settings the
action-batch API cannot carry (sent direct).
"""

from __future__ import annotations

from typing import Any

import pytest

from core.errors import ValidationFailed
from provisioning.batching import (
    CallEstimate,
    Operation,
    StepPlan,
    created_refs,
    estimate,
    operations,
    pack,
    pack_ticks,
    read_calls,
    resolve_created,
    secret_refs,
)
from provisioning.domain import Change, ChangeAction

C, U, D, X = ChangeAction.CREATE, ChangeAction.UPDATE, ChangeAction.DELETE, ChangeAction.DISABLE
N = "/networks/{networkId}"
SERIAL = "Q2XX-AAAA-0001"


def _rows(ops: list[Operation]) -> list[tuple[Any, ...]]:
    return [(o.key, o.action, o.resource, o.operation, o.batchable, o.phase) for o in ops]


def test_every_kind_of_write_has_its_path_operation_and_place_in_the_order() -> None:
    changes = [
        Change("l3FirewallRules", U),
        Change("security/intrusion", U),
        Change("contentFiltering", U),
        Change("portForwardingRules", U),
        Change("oneToOneNatRules", U),
        Change("security/malware", U),
        Change("l7FirewallRules", U),
        Change("vpn/siteToSiteVpn", U),
        Change("vlan/1", D),
        Change("rfProfile/old", D),
        Change("rfProfile/tuned", U),
        Change("rfProfile/new", C),
        Change("ssid/3", X),
        Change("ssid/0", U),
        Change(f"device/{SERIAL}/managementInterface", U),
        Change(f"device/{SERIAL}", C),
        Change("device/Q2XX-AAAA-0002", U),
        Change("network", U),
        Change("vlan/20", U),
        Change("vlan/30", C),
    ]
    desired: dict[str, dict[str, Any]] = {k.key: {"name": "x"} for k in changes}
    current: dict[str, dict[str, Any]] = {
        "rfProfile/old": {"id": "55"},
        "rfProfile/tuned": {"id": 56},
    }
    ops = operations(changes, desired, current, organization_id="o1", enable_vlans=True)
    assert _rows(ops) == [
        ("devices", "claim", f"{N}/devices/claim", "claim", True, 1),
        ("vlansSettings", "enable", f"{N}/appliance/vlans/settings", "update", True, 2),
        ("vlan/30", "create", f"{N}/appliance/vlans", "create", True, 3),
        ("vlan/20", "update", f"{N}/appliance/vlans/20", "update", True, 4),
        ("network", "update", N, "update", True, 5),
        ("rfProfile/tuned", "update", f"{N}/wireless/rfProfiles/56", "update", True, 6),
        ("rfProfile/new", "create", f"{N}/wireless/rfProfiles", "create", True, 6),
        ("ssid/3", "disable", f"{N}/wireless/ssids/3", "update", True, 6),
        ("ssid/0", "update", f"{N}/wireless/ssids/0", "update", True, 6),
        ("l7FirewallRules", "update", f"{N}/appliance/firewall/l7FirewallRules", "update", True, 7),
        ("vpn/siteToSiteVpn", "update", f"{N}/appliance/vpn/siteToSiteVpn", "update", True, 7),
        # devices last among the batchable writes: a device claimed moments ago may answer 404
        (
            f"device/{SERIAL}/managementInterface",
            "update",
            f"/devices/{SERIAL}/managementInterface",
            "update",
            True,
            7,
        ),
        (f"device/{SERIAL}", "update", f"/devices/{SERIAL}", "update", True, 7),
        ("device/Q2XX-AAAA-0002", "update", "/devices/Q2XX-AAAA-0002", "update", True, 7),
        ("vlan/1", "delete", f"{N}/appliance/vlans/1", "destroy", True, 8),
        ("rfProfile/old", "delete", f"{N}/wireless/rfProfiles/55", "destroy", True, 8),
        (
            "l3FirewallRules",
            "update",
            f"{N}/appliance/firewall/l3FirewallRules",
            "update",
            False,
            9,
        ),
        ("security/intrusion", "update", f"{N}/appliance/security/intrusion", "update", False, 9),
        ("contentFiltering", "update", f"{N}/appliance/contentFiltering", "update", False, 9),
        (
            "portForwardingRules",
            "update",
            f"{N}/appliance/firewall/portForwardingRules",
            "update",
            False,
            9,
        ),
        (
            "oneToOneNatRules",
            "update",
            f"{N}/appliance/firewall/oneToOneNatRules",
            "update",
            False,
            9,
        ),
        ("security/malware", "update", f"{N}/appliance/security/malware", "update", False, 9),
    ]
    assert ops[0].body == {"serials": [SERIAL]}  # only the created device is claimed
    assert ops[1].body == {"vlansEnabled": True}
    assert {o.key: o.body for o in ops if o.operation == "destroy"} == {
        "vlan/1": {},
        "rfProfile/old": {},
    }
    assert next(o for o in ops if o.key == "ssid/3").body == {"enabled": False}


def test_creating_the_network_comes_first_and_goes_direct_with_its_whole_body() -> None:
    want = {"name": "Site", "productTypes": ["appliance"], "timeZone": None}
    ops = operations(
        [Change("vlan/10", C), Change("network", C)],
        {"network": want, "vlan/10": {"id": "10"}},
        {},
        organization_id="o1",
        enable_vlans=False,
    )
    assert _rows(ops) == [
        ("network", "create", "/organizations/o1/networks", "create", False, 0),
        ("vlan/10", "create", f"{N}/appliance/vlans", "create", True, 3),
    ]
    assert ops[0].body == {"name": "Site", "productTypes": ["appliance"]}
    assert ops[1].body == {"id": "10"}


def test_update_bodies_leave_out_blanks_and_the_fields_that_cannot_change() -> None:
    desired: dict[str, dict[str, Any]] = {
        "network": {
            "name": "Site",
            "productTypes": ["appliance"],
            "timeZone": "Asia/Tokyo",
            "notes": None,
        },
        "vlan/20": {"id": "20", "name": "LAN", "subnet": None},
        f"device/{SERIAL}": {"name": "AP", "address": None, "tags": []},
        f"device/{SERIAL}/managementInterface": {"wan1": {"usingStaticIp": False}, "x": None},
        "rfProfile/p": {"name": "p", "minBitrate": None},
        "l3FirewallRules": {"rules": [], "syslog": None},
    }
    changes = [Change(k, U) for k in desired]
    ops = operations(
        changes, desired, {"rfProfile/p": {"id": "9"}}, organization_id="o", enable_vlans=False
    )
    assert {o.key: o.body for o in ops} == {
        "network": {"timeZone": "Asia/Tokyo"},
        "vlan/20": {"name": "LAN"},
        f"device/{SERIAL}": {"name": "AP", "tags": []},
        f"device/{SERIAL}/managementInterface": {"wan1": {"usingStaticIp": False}},
        "rfProfile/p": {"name": "p"},
        "l3FirewallRules": {"rules": [], "syslog": None},  # a singleton is sent as the sheet has it
    }


def test_an_ssid_body_carries_placeholders_instead_of_secrets() -> None:
    want = {
        "name": "Guest",
        "psk": "hmac-sha256:ab",
        "radiusServers": [
            {"host": "10.0.0.1", "secret": "hmac-sha256:cd"},
            {"host": "10.0.0.2", "port": 1812},
        ],
        "dot11w": {"secret": 1},
    }
    ops = operations(
        [Change("ssid/0", U)], {"ssid/0": want}, {}, organization_id="o", enable_vlans=False
    )
    assert ops[0].body == {
        "name": "Guest",
        "psk": {"$secret": "ssid/0/psk"},
        "radiusServers": [
            {"host": "10.0.0.1", "secret": {"$secret": "ssid/0/radiusServers/0/secret"}},
            {"host": "10.0.0.2", "port": 1812},
        ],
        "dot11w": {"secret": 1},  # only a text value is a secret fingerprint
    }


def test_secret_refs_leaves_plain_values_and_names_list_items_by_index() -> None:
    assert secret_refs("text", "r") == "text"
    assert secret_refs([{"psk": "a"}, {"psk": "b"}], "r") == [
        {"psk": {"$secret": "r/0/psk"}},
        {"psk": {"$secret": "r/1/psk"}},
    ]


def test_an_ap_is_assigned_a_profile_the_network_has_by_its_id() -> None:
    ap = f"device/{SERIAL}/radio"
    ops = operations(
        [Change(ap, U)],
        {ap: {"rfProfile": "A"}},
        {"rfProfile/A": {"id": 41}},
        organization_id="o",
        enable_vlans=False,
    )
    assert _rows(ops) == [
        (ap, "update", f"/devices/{SERIAL}/wireless/radio/settings", "update", True, 7)
    ]
    assert ops[0].body == {"rfProfileId": "41"}


def test_every_unknown_rf_profile_is_named_before_anything_is_written() -> None:
    a, b = "device/Q2XX-AAAA-0001/radio", "device/Q2XX-AAAA-0002/radio"
    with pytest.raises(ValidationFailed) as refused:
        operations(
            [Change(a, U), Change(b, U)],
            {a: {"rfProfile": "X"}, b: {"rfProfile": "Y"}},
            {"rfProfile/X": {"name": "X"}},
            organization_id="o",
            enable_vlans=False,
        )
    assert [p.location for p in refused.value.problems] == [
        "devices[Q2XX-AAAA-0001].rfProfile",
        "devices[Q2XX-AAAA-0002].rfProfile",
    ]


def test_no_claim_and_no_vlan_enabling_unless_asked() -> None:
    ops = operations(
        [Change(f"device/{SERIAL}", U)], {}, {}, organization_id="o", enable_vlans=False
    )
    assert [o.key for o in ops] == [f"device/{SERIAL}"]
    assert ops[0].body == {}


def _op(key: str, action: str = "update", body: dict[str, Any] | None = None) -> Operation:
    return Operation(key, action, "/r", action, body or {}, True, 5)


def test_a_write_waits_only_for_a_resource_created_in_the_same_run() -> None:
    ref = {"rfProfileId": {"$created": "rfProfile/A"}}
    updated_then_used = pack([_op("rfProfile/A"), _op("radio", body=ref)])
    assert [len(s.operations) for s in updated_then_used] == [2]
    created_then_used = pack([_op("rfProfile/A", "create"), _op("radio", body=ref)])
    assert [len(s.operations) for s in created_then_used] == [1, 1]
    assert [s.synchronous for s in created_then_used] == [True, True]


def test_pack_chooses_sync_or_async_by_the_limits_it_is_given() -> None:
    # 41 actions with 20 per sync batch and 40 per async one: 3 sync calls <= 2 x 2 async calls
    steps = pack([_op("k")] * 41, sync_max=20, async_max=40)
    assert [(s.synchronous, len(s.operations)) for s in steps] == [
        (True, 20),
        (True, 20),
        (True, 1),
    ]
    # 61 actions: 4 sync calls = 2 x 2 async calls, a tie goes synchronous
    steps = pack([_op("k")] * 61, sync_max=20, async_max=40)
    assert [len(s.operations) for s in steps if s.synchronous] == [20, 20, 20, 1]
    # 45 actions with 50 per async batch: 3 sync calls > 2 x 1 async call
    steps = pack([_op("k")] * 45, sync_max=20, async_max=50)
    assert [(s.synchronous, len(s.operations)) for s in steps] == [(False, 45)]
    # 201 actions under the default limits: async batches of 100, 100, 1
    steps = pack([_op("k")] * 201)
    assert [(s.synchronous, len(s.operations)) for s in steps] == [
        (False, 100),
        (False, 100),
        (False, 1),
    ]


def test_a_direct_write_is_one_synchronous_non_batch_step() -> None:
    direct = Operation("l3FirewallRules", "update", "/r", "update", {}, False, 9)
    assert pack([direct]) == [StepPlan((direct,), batch=False, synchronous=True)]
    assert pack([]) == []


def test_step_resources_and_batch_actions() -> None:
    ops = (_op("vlan/2", body={"a": 1}), _op("vlan/1"), _op("vlan/2"))
    assert StepPlan(ops, batch=True).resources == ["vlan/1", "vlan/2"]
    assert ops[0].as_action() == {"resource": "/r", "operation": "update", "body": {"a": 1}}


def test_created_refs_and_resolve_created_find_placeholders_at_any_depth() -> None:
    body = {
        "a": [{"$created": "x"}, 3, {"b": {"$created": "y"}}],
        "c": {"$created": "z", "other": 1},  # not a placeholder: it has another key
        "d": "$created",
    }
    assert created_refs(body) == {"x", "y"}
    assert created_refs("x") == set()
    assert resolve_created(body, {"x": "1", "y": "2"}) == {
        "a": ["1", 3, {"b": "2"}],
        "c": {"$created": "z", "other": 1},
        "d": "$created",
    }


@pytest.mark.parametrize(
    ("sizes", "limit", "groups"),
    [
        ([1], 100, [[0]]),
        ([1, 1, 1], 2, [[0, 1], [2]]),
        ([2, 3, 1], 3, [[0, 2], [1]]),  # the 1 fits in the first batch's room
        ([3, 1, 2, 1], 3, [[0], [1, 2], [3]]),
        ([3, 4], 3, [[0], [1]]),
    ],
)
def test_pack_ticks_with_other_limits(
    sizes: list[int], limit: int, groups: list[list[int]]
) -> None:
    one_tick = [[(site, size, False) for site, size in enumerate(sizes)]]
    assert pack_ticks(one_tick, limit) == [[(0, i) for i in g] for g in groups]


def test_read_calls_count_the_network_each_section_each_wan_and_the_rf_assignments() -> None:
    desired: dict[str, dict[str, Any]] = {
        "network": {},
        f"device/{SERIAL}/managementInterface": {},
        "device/Q2XX-AAAA-0002/managementInterface": {},
        f"device/{SERIAL}/radio": {},
        "device/Q2XX-AAAA-0002/radio": {},
        "vlan/1": {},
    }
    sections = frozenset({"network", "vlan", "devices"})
    assert read_calls(sections, desired) == 6  # network + 2 sections + 2 WANs + 1 assignment list
    assert read_calls(frozenset({"network"}), {"network": {}}) == 1
    assert read_calls(frozenset({"vlan"}), {}) == 2


def test_estimate_counts_calls_and_paced_seconds_with_poll_waits() -> None:
    d = Operation("k", "update", "/r", "update", {}, False, 9)
    steps = [
        StepPlan((d,), batch=False),
        StepPlan((d,), batch=False),
        StepPlan((d,), batch=True, synchronous=True),
        StepPlan((d,), batch=True, synchronous=False),
        StepPlan((d,), batch=True, synchronous=False),
    ]
    cost = estimate(steps, reads=4, verify_reads=3, rate=3.0, poll_seconds=1.5)
    # 4 reads + 2 direct + 3 batches + 2 polls + 3 verify reads = 14 calls; 14/3 s + 2 x 1.5 s
    assert cost == CallEstimate(4, 2, 3, 2, 3, 7.67)
    assert cost.calls == 14
    assert estimate(iter(steps), reads=0, verify_reads=0, rate=1.0, poll_seconds=0.0).seconds == 7

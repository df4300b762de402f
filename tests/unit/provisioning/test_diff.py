"""The pure rules: field-level diff, secrets, default rule, pruning, packing, the limiter."""

from __future__ import annotations

import pytest

from dashboard.pacing import OrgRateLimiter
from provisioning.batching import (
    Operation,
    pack,
)
from provisioning.domain import (
    ChangeAction,
    FieldChange,
    diff,
    field_changes,
    normalise_current,
    same,
)


@pytest.mark.parametrize(
    ("want", "have", "expected"),
    [
        ({"a": 1}, {"a": 1, "extra": 2}, True),
        ({"a": [1, 2]}, {"a": [2, 1]}, False),
        (10, "10", True),
        (12.0, 12, True),
        (True, "True", False),
        ([], None, True),
        ({"psk": "fp"}, {}, True),
    ],
)
def test_same(want: object, have: object, expected: bool) -> None:
    assert same(want, have) is expected


def test_unchanged_fields_are_omitted_and_secrets_show_no_value() -> None:
    changes = field_changes(
        {"name": "A", "psk": "hmac-sha256:new", "visible": True},
        {"name": "A", "psk": "hmac-sha256:old", "visible": False},
    )
    assert changes == [FieldChange("psk", secret=True), FieldChange("visible", False, True)]


def test_fixed_ip_assignments_compare_their_keys_exactly() -> None:
    want = {"fixedIpAssignments": {"aa": {"ip": "1"}}}
    have = {"fixedIpAssignments": {"aa": {"ip": "1"}, "bb": {"ip": "2"}}}
    assert [c.path for c in field_changes(want, have)] == ["fixedIpAssignments"]


def test_the_implicit_default_rule_is_ignored() -> None:
    current = normalise_current(
        "l3FirewallRules", {"rules": [{"comment": "x"}, {"comment": "Default rule"}]}
    )
    assert current == {"rules": [{"comment": "x"}]}


def test_settings_sheets_prune_vlans_and_disable_ssids_change_requests_do_not() -> None:
    desired = {"network": {"name": "n"}, "vlan/10": {"id": "10", "name": "a"}}
    current = {
        "network": {"name": "n"},
        "vlan/10": {"id": "10", "name": "a"},
        "vlan/1": {"id": "1", "name": "Default"},
        "ssid/3": {"enabled": True},
        "ssid/4": {"enabled": False},
    }
    sections = frozenset({"network", "vlan", "ssid"})
    pruned = diff(desired, current, sections=sections, prune=True, network_exists=True)
    assert [(c.key, c.action) for c in pruned] == [
        ("vlan/1", ChangeAction.DELETE),
        ("ssid/3", ChangeAction.DISABLE),
    ]
    assert diff(desired, current, sections=sections, prune=False, network_exists=True) == []


def _op(batchable: bool) -> Operation:
    return Operation("k", "update", "/r", "update", {}, batchable, 1)


@pytest.mark.parametrize(
    ("n", "expected"),
    [(1, [(True, 1)]), (20, [(True, 20)]), (40, [(True, 20), (True, 20)]), (41, [(False, 41)])],
)
def test_pack_uses_sync_batches_until_async_is_cheaper(n: int, expected: list[object]) -> None:
    steps = pack([_op(True)] * n)
    assert [(s.synchronous, len(s.operations)) for s in steps] == expected


def test_pack_keeps_direct_writes_as_their_own_steps_in_order() -> None:
    steps = pack([_op(False), _op(True), _op(True), _op(False)])
    assert [(s.batch, len(s.operations)) for s in steps] == [(False, 1), (True, 2), (False, 1)]


def test_limiter_paces_an_organization_and_honours_a_pause() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        now[0] += s

    limiter = OrgRateLimiter(rate=10.0, clock=lambda: now[0], sleep=sleep)
    for _ in range(30):
        limiter.acquire("o1")
    assert now[0] == pytest.approx(2.0)  # 10 at once, then 10 per second
    limiter.acquire("o2")  # another organization has its own bucket
    assert now[0] == pytest.approx(2.0)
    limiter.pause("o1", 3.0)
    limiter.acquire("o1")
    assert now[0] >= 5.0

"""Pure rollout rules: packing sites' steps into shared batches, finding a site's actions."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import ValidationFailed
from provisioning.actions import contains_actions, created_here
from provisioning.batching import (
    ASYNC_BATCH_MAX,
    batch_cost,
    batch_ticks,
    operations,
    pack,
    pack_ticks,
    packed_steps,
    resolve_created,
    rollout_batches,
    send_order,
    tick_steps,
)
from provisioning.domain import Change, ChangeAction
from provisioning.journal import VERIFY
from provisioning.models import JobStep
from provisioning.org_rollout import journal_shape


def _one_tick(sizes: list[int]) -> list[list[tuple[int, int, bool]]]:
    return [[(site, size, False) for site, size in enumerate(sizes)]]


@pytest.mark.parametrize(
    ("sizes", "groups"),
    [
        ([], []),
        ([9], [[0]]),
        ([9, 8, 9], [[0, 1, 2]]),
        ([60, 40, 1], [[0, 1], [2]]),
        ([100, 100], [[0], [1]]),
        # a step goes into the first batch with room, not only the last one opened
        ([30, 80, 30, 30], [[0, 2, 3], [1]]),
        ([60, 60, 30], [[0, 2], [1]]),  # the first with room, not the last
        ([150, 10], [[0], [1]]),  # a step over the limit is a batch alone, never split
    ],
)
def test_one_ticks_steps_fill_the_first_batch_with_room_and_never_split(
    sizes: list[int], groups: list[list[int]]
) -> None:
    packed = pack_ticks(_one_tick(sizes))
    assert packed == [[(0, i) for i in g] for g in groups]
    assert all(sum(sizes[i] for _, i in g) <= ASYNC_BATCH_MAX or len(g) == 1 for g in packed)


F, T = False, True


@pytest.mark.parametrize(
    ("ticks", "batches"),
    [
        # site 0's second step rides in the room site 1's first batch left: site 0 goes on
        # when its own first batch ended, not when both did
        (
            [[(0, 100, F), (1, 50, F)], [(0, 20, F), (1, 20, F)]],
            [[(0, 0)], [(0, 1), (1, 0)], [(1, 1)]],
        ),
        # never into the batch of the site's step before, nor one before it
        ([[(0, 10, F)], [(0, 10, F)]], [[(0, 0)], [(1, 0)]]),
        ([[(0, 10, F), (1, 95, F)], [(1, 2, F)]], [[(0, 0)], [(0, 1)], [(1, 0)]]),
        # a claim goes only in a batch of its own tick or later (the ticks budget the claims)
        ([[(0, 100, F), (1, 50, F)], [(0, 20, T)]], [[(0, 0)], [(0, 1)], [(1, 0)]]),
        ([[(0, 30, T), (1, 30, T)], [(0, 5, F), (1, 5, T)]], [[(0, 0), (0, 1)], [(1, 0), (1, 1)]]),
    ],
)
def test_a_later_ticks_step_takes_room_left_after_its_sites_step_before(
    ticks: list[list[tuple[int, int, bool]]], batches: list[list[tuple[int, int]]]
) -> None:
    assert pack_ticks(ticks) == batches


def test_packed_steps_are_the_ticks_steps_in_their_batches() -> None:
    queues = [["a1", "a2"], ["b1"], ["c1", "c2"]]
    size = {"a1": 60, "a2": 30, "b1": 50, "c1": 30, "c2": 10}
    ticks = [[0, 1, 2], [0, 2]]
    # a1 opens a batch, b1 the next (no room left by a1), c1 joins a1's; a2 and c2 ride in
    # b1's room, after their sites' first batch; c2 claims, and b1's batch is of tick 0
    packed = packed_steps(queues, ticks, lambda s: size[s], lambda s: s == "c2")
    assert packed == [["a1", "c1"], ["b1", "a2"], ["c2"]]


def test_a_rollouts_batches_take_the_sites_with_most_direct_writes_first() -> None:
    queues = [["a1", "a2"], ["b1"], ["c1"]]
    # b has 3 direct writes behind its batch, c 1, a none: b's step opens the first batch
    batches = rollout_batches(queues, [0, 3, 1], lambda s: 60, lambda s: False, None)
    assert batches == [["b1"], ["c1"], ["a1"], ["a2"]]


@given(
    st.lists(
        st.lists(st.tuples(st.integers(1, 120), st.booleans()), min_size=1, max_size=4),
        max_size=12,
    )
)
def test_packed_ticks_keep_each_sites_steps_in_order_and_whole(
    sites: list[list[tuple[int, bool]]],
) -> None:
    """Whatever the sites' steps: each step is in exactly one batch, a batch holds at most the
    limit (or one step over it), and each site's steps are in strictly later batches in order."""
    ticks = batch_ticks([[c for _, c in steps] for steps in sites], None)
    taken = tick_steps(sites, ticks)
    steps = [
        [(site, size, claim) for site, (size, claim) in zip(tick, mine, strict=True)]
        for tick, mine in zip(ticks, taken, strict=True)
    ]
    packed = pack_ticks(steps)
    placed = sorted(ref for batch in packed for ref in batch)
    assert placed == sorted((t, p) for t, tick in enumerate(steps) for p in range(len(tick)))
    for batch in packed:
        sizes = [steps[t][p][1] for t, p in batch]
        assert sum(sizes) <= ASYNC_BATCH_MAX or len(sizes) == 1
    where = {ref: b for b, batch in enumerate(packed) for ref in batch}
    for site in range(len(sites)):
        mine = [
            where[(t, p)]
            for t, tick in enumerate(steps)
            for p, s in enumerate(tick)
            if s[0] == site
        ]
        assert mine == sorted(mine) and len(set(mine)) == len(mine)


def test_batch_cost_is_one_call_synchronous_and_two_asynchronous() -> None:
    assert [batch_cost(n) for n in (1, 20, 21, 100)] == [1, 1, 2, 2]


def _action(i: int) -> dict[str, Any]:
    return {"resource": f"/networks/N{i}/appliance/vlans", "operation": "create", "body": {"id": i}}


def test_a_sites_actions_are_found_inside_a_shared_batch_in_order() -> None:
    batch = {"actions": [_action(1), _action(2), _action(3)]}
    assert contains_actions(batch, [_action(2), _action(3)])
    assert contains_actions(batch, [_action(1), _action(2), _action(3)])
    assert not contains_actions(batch, [_action(3), _action(2)])
    assert not contains_actions(batch, [_action(1), _action(3)])
    assert not contains_actions({"actions": []}, [_action(1)])


def _step(kind: str) -> JobStep:
    if kind == "v":
        return JobStep(job_id=1, number=1, action=VERIFY, status="pending")
    key, action = ("network", "create") if kind == "c" else ("l3FirewallRules", "update")
    return JobStep(
        job_id=1,
        number=1,
        action="x",
        batch=kind == "b",
        operations=[{"key": key, "action": action}],
        status="pending",
    )


def test_journal_shape_names_creation_batches_direct_writes_and_verify() -> None:
    assert journal_shape([_step(k) for k in "cbbddv"]) == "cbbddv"
    assert journal_shape([_step(k) for k in "bdv"]) == "bdv"


RF = "rfProfile/標準"
AP = "device/Q3AJ-AAAA-0001/radio"


def _assign(current: dict[str, Any]) -> list[Any]:
    changes = [Change(RF, ChangeAction.CREATE), Change(AP, ChangeAction.UPDATE)]
    desired = {RF: {"name": "標準", "bandSelectionType": "ap"}, AP: {"rfProfile": "標準"}}
    return operations(changes, desired, current, organization_id="o", enable_vlans=False)


def test_an_ap_waits_for_the_rf_profile_it_is_assigned_in_the_same_apply() -> None:
    ops = _assign({})
    radio = next(op for op in ops if op.key == AP)
    assert radio.body == {"rfProfileId": {"$created": RF}}
    steps = pack(ops)
    assert [[op.key for op in s.operations] for s in steps] == [[RF], [AP]]
    assert resolve_created(radio.body, {RF: "77"}) == {"rfProfileId": "77"}


def test_an_existing_rf_profile_is_assigned_by_id_in_the_same_batch() -> None:
    ops = _assign({RF: {"id": "12", "name": "標準"}})
    assert next(op for op in ops if op.key == AP).body == {"rfProfileId": "12"}
    assert len(pack(ops)) == 1


def test_an_unknown_rf_profile_is_refused_with_its_place() -> None:
    changes = [Change(AP, ChangeAction.UPDATE)]
    with pytest.raises(ValidationFailed) as refused:
        operations(
            changes, {AP: {"rfProfile": "無い"}}, {}, organization_id="o", enable_vlans=False
        )
    assert [p.location for p in refused.value.problems] == ["devices[Q3AJ-AAAA-0001].rfProfile"]


def test_created_ids_are_matched_to_their_create_actions_by_collection_in_order() -> None:
    net = "/networks/{networkId}"
    ops = [
        {"key": "vlan/10", "operation": "create", "resource": f"{net}/appliance/vlans"},
        {"key": "rfProfile/A", "operation": "create", "resource": f"{net}/wireless/rfProfiles"},
        {"key": "rfProfile/B", "operation": "create", "resource": f"{net}/wireless/rfProfiles"},
        {"key": "ssid/0", "operation": "update", "resource": f"{net}/wireless/ssids/0"},
    ]
    made = [
        {"id": "10", "uri": "/api/v1/networks/N1/appliance/vlans/10"},
        {"id": "501", "uri": "/api/v1/networks/N1/wireless/rfProfiles/501"},
        {"id": "502", "uri": "/api/v1/networks/N1/wireless/rfProfiles/502"},
    ]
    assert created_here(made, "N1", ops) == {
        "vlan/10": "10",
        "rfProfile/A": "501",
        "rfProfile/B": "502",
    }
    assert created_here(made, "N2", ops) == {}


@pytest.mark.parametrize(
    ("direct", "order"),
    [
        ([], []),
        ([0, 5, 0, 5], [1, 3, 0, 2]),  # the UTM sites (five direct writes) before Wi-Fi ones
        ([1, 2, 3], [2, 1, 0]),
        ([2, 2, 2], [0, 1, 2]),  # equal: as given
        ([0, 7, 3, 7, 0], [1, 3, 2, 0, 4]),
    ],
)
def test_sites_with_more_direct_writes_send_their_batches_first(
    direct: list[int], order: list[int]
) -> None:
    assert send_order(direct) == order


N, C = False, True  # a batch step without / with a claim request


@pytest.mark.parametrize(
    ("claims", "limit", "ticks"),
    [
        ([], None, []),
        ([[N, N], [N], []], None, [[0, 1], [0]]),  # every site's next step, one per tick
        ([[C, N], [C, N]], None, [[0, 1], [0, 1]]),  # no limit: claims go like the rest
        # two claims allowed: the third site's claim waits while the others go on
        ([[C, N], [C, N], [C, N]], 2, [[0, 1], [0, 1], [2], [2]]),
        # the budget counts for the whole run, not per tick; a site without claims never waits
        ([[C], [N, N, N], [C], [C]], 2, [[0, 1, 2], [1], [1], [3]]),
        ([[C], [C], [C]], 1, [[0], [1], [2]]),  # a window passes for each
    ],
)
def test_batch_ticks_take_each_sites_next_step_within_the_claim_budget(
    claims: list[list[bool]], limit: int | None, ticks: list[list[int]]
) -> None:
    assert batch_ticks(claims, limit) == ticks


def test_each_tick_takes_each_of_its_sites_next_step_in_order() -> None:
    queues = [["a1", "a2", "a3"], ["b1"], ["c1", "c2"]]
    ticks = [[0, 1, 2], [0], [0, 2]]
    assert tick_steps(queues, ticks) == [["a1", "b1", "c1"], ["a2"], ["a3", "c2"]]
    assert tick_steps(queues, []) == []

"""Pure rollout rules: packing sites' steps into shared batches, finding a site's actions."""

from __future__ import annotations

from typing import Any

import pytest

from provisioning.apply import VERIFY, _contains_actions
from provisioning.batching import ASYNC_BATCH_MAX, batch_cost, pack_round
from provisioning.models import JobStep
from provisioning.rollout import _shape


@pytest.mark.parametrize(
    ("sizes", "groups"),
    [
        ([], []),
        ([9], [[0]]),
        ([9, 8, 9], [[0, 1, 2]]),
        ([60, 40, 1], [[0, 1], [2]]),
        ([100, 100], [[0], [1]]),
        ([30, 80, 30, 30], [[0], [1], [2, 3]]),
    ],
)
def test_pack_round_never_splits_a_step_nor_exceeds_the_limit(
    sizes: list[int], groups: list[list[int]]
) -> None:
    packed = pack_round(sizes)
    assert packed == groups
    assert [i for g in packed for i in g] == list(range(len(sizes)))
    assert all(sum(sizes[i] for i in g) <= ASYNC_BATCH_MAX for g in packed)


def test_batch_cost_is_one_call_synchronous_and_two_asynchronous() -> None:
    assert [batch_cost(n) for n in (1, 20, 21, 100)] == [1, 1, 2, 2]


def _action(i: int) -> dict[str, Any]:
    return {"resource": f"/networks/N{i}/appliance/vlans", "operation": "create", "body": {"id": i}}


def test_a_sites_actions_are_found_inside_a_shared_batch_in_order() -> None:
    batch = {"actions": [_action(1), _action(2), _action(3)]}
    assert _contains_actions(batch, [_action(2), _action(3)])
    assert _contains_actions(batch, [_action(1), _action(2), _action(3)])
    assert not _contains_actions(batch, [_action(3), _action(2)])
    assert not _contains_actions(batch, [_action(1), _action(3)])
    assert not _contains_actions({"actions": []}, [_action(1)])


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
    assert _shape([_step(k) for k in "cbbddv"]) == "cbbddv"
    assert _shape([_step(k) for k in "bdv"]) == "bdv"

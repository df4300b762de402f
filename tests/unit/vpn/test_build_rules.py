"""How a VPN build may move: written out from the construction contract, never from the table.

docs/domain.md "VPN service" and vpn/compensation.py's contract: a build is stored applied, or —
when it failed half-way and its writes were undone — failed (undo complete) or
partially_reverted (something stayed on the dashboard). A revert moves an applied build to
reverted, or to partially_reverted when an undo fails; reverting again takes up what is left.
"""

from __future__ import annotations

import pytest

from core.errors import InvalidTransition
from vpn.domain import BUILD_STARTS, BuildStatus, advance_build, undo_outcome

A, F = BuildStatus.APPLIED, BuildStatus.FAILED
PR, R = BuildStatus.PARTIALLY_REVERTED, BuildStatus.REVERTED
EVERY = (A, F, PR, R)

ALLOWED = {(A, R), (A, PR), (PR, R), (PR, PR)}


def test_the_statuses_a_build_is_stored_with() -> None:
    assert sorted(s.value for s in BuildStatus) == [
        "applied", "failed", "partially_reverted", "reverted",
    ]  # fmt: skip
    # never stored as reverted without having been applied first
    assert sorted(s.value for s in BUILD_STARTS) == ["applied", "failed", "partially_reverted"]


@pytest.mark.parametrize(("current", "target"), sorted(ALLOWED))
def test_allowed_build_moves(current: BuildStatus, target: BuildStatus) -> None:
    assert advance_build(current, target) is target
    assert advance_build(current.value, target) is target  # as read from the build row


@pytest.mark.parametrize(
    ("current", "target"), [(a, b) for a in EVERY for b in EVERY if (a, b) not in ALLOWED]
)
def test_every_other_build_move_is_refused(current: BuildStatus, target: BuildStatus) -> None:
    with pytest.raises(InvalidTransition) as refused:
        advance_build(current, target, entity="VPN build 7")
    assert (refused.value.current, refused.value.target) == (current.value, target.value)
    assert str(refused.value).startswith("VPN build 7: cannot move")


def test_a_failed_or_reverted_build_has_nothing_left_to_revert() -> None:
    for done in ("failed", "reverted"):
        with pytest.raises(InvalidTransition, match="allowed next: none"):
            advance_build(done, BuildStatus.REVERTED)
    with pytest.raises(InvalidTransition) as refused:
        advance_build(A, A)
    assert refused.value.allowed == ["partially_reverted", "reverted"]


@pytest.mark.parametrize(
    ("left", "build_failed", "status"),
    [
        (False, True, "failed"),  # a failed build whose undo went through
        (True, True, "partially_reverted"),  # a failed build whose undo left something
        (False, False, "reverted"),  # a revert that went through
        (True, False, "partially_reverted"),  # a revert that left something
    ],
)
def test_what_an_undo_leaves_the_build_as(left: bool, build_failed: bool, status: str) -> None:
    assert undo_outcome(left_on_dashboard=left, build_failed=build_failed) == status

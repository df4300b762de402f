"""The engine's pure rules: how a journal step may move, and how action batches are waited for."""

from __future__ import annotations

from typing import Any

import pytest

from core.errors import DashboardError, InvalidTransition
from provisioning.batch_wait import BatchTimings, Waiter, batch_ended, wait_for_batches
from provisioning.domain import StepStatus, advance_step

P, R, D, F = StepStatus.PENDING, StepStatus.RUNNING, StepStatus.DONE, StepStatus.FAILED

# Written from the journal's contract, not from the table:
# - a pending step starts (it is marked running before its request goes out);
# - a running step finishes, fails, is taken up again by a resume (running → running), or goes
#   back to pending when the shared batch carrying it failed as a whole (sent again alone);
# - a failed step is tried again by a resume (→ running);
# - a done step never moves: it is never sent again.
ALLOWED = {(P, R), (R, R), (R, D), (R, F), (R, P), (F, R)}


@pytest.mark.parametrize(("current", "target"), sorted(ALLOWED))
def test_allowed_step_moves(current: StepStatus, target: StepStatus) -> None:
    assert advance_step(current, target) is target
    assert advance_step(str(current), target) is target  # as read from the journal row


@pytest.mark.parametrize(
    ("current", "target"),
    [(a, b) for a in (P, R, D, F) for b in (P, R, D, F) if (a, b) not in ALLOWED],
)
def test_every_other_step_move_is_refused(current: StepStatus, target: StepStatus) -> None:
    with pytest.raises(InvalidTransition) as refused:
        advance_step(current, target)
    assert refused.value.current == current.value
    assert refused.value.target == target.value


def test_a_done_step_names_no_way_out() -> None:
    with pytest.raises(InvalidTransition, match="allowed next: none"):
        advance_step(D, R)


class FakeDashboard:
    """Answers get_batch from a script: each batch id's statuses in the order they are read."""

    def __init__(self, script: dict[str, list[dict[str, Any] | Exception]]) -> None:
        self.script = script
        self.reads: list[str] = []

    def get_batch(self, batch_id: str) -> dict[str, Any]:
        self.reads.append(batch_id)
        answer = self.script[batch_id].pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def batch(batch_id: str, **status: bool) -> dict[str, Any]:
    return {"id": batch_id, "status": status}


def waiter(clock: Clock, **timings: float) -> Waiter:
    return Waiter(BatchTimings(**timings), clock.sleep, clock)


@pytest.mark.parametrize(
    ("status", "ended"),
    [
        ({}, False),
        ({"completed": True}, True),
        ({"failed": True}, True),
        ({"completed": False}, False),
    ],
)
def test_a_batch_has_ended_when_it_completed_or_failed(
    status: dict[str, bool], ended: bool
) -> None:
    assert batch_ended({"id": "1", "status": status}) is ended
    assert batch_ended({"id": "1"}) is False


def test_finished_batches_cost_no_read_and_no_wait() -> None:
    clock, dash = Clock(), FakeDashboard({})
    done = [batch("1", completed=True), batch("2", failed=True)]
    assert wait_for_batches(dash, done, waiter(clock)) == done
    assert dash.reads == [] and clock.slept == []


def test_waits_grow_by_the_backoff_up_to_the_cap_and_one_read_per_running_batch() -> None:
    clock = Clock()
    running = [batch("1"), batch("2")]
    dash = FakeDashboard(
        {
            "1": [batch("1"), batch("1"), batch("1", completed=True)],
            "2": [batch("2"), batch("2"), batch("2"), batch("2", failed=True)],
        }
    )
    out = wait_for_batches(
        dash,
        running,
        waiter(clock, poll_seconds=1.0, backoff=2.0, max_delay=3.0, deadline=60.0),
    )
    assert out == [batch("1", completed=True), batch("2", failed=True)]
    assert clock.slept == [1.0, 2.0, 3.0, 3.0]
    assert dash.reads == ["1", "2", "1", "2", "1", "2", "2"]


def test_a_batch_still_running_at_the_deadline_is_an_error_and_a_failed_read_is_kept() -> None:
    clock = Clock()
    dash = FakeDashboard({"1": [batch("1")] * 10, "2": [DashboardError("dashboard unreachable")]})
    out = wait_for_batches(
        dash,
        [batch("1"), batch("2")],
        waiter(clock, poll_seconds=2.0, backoff=1.0, max_delay=2.0, deadline=5.0),
    )
    late, unread = out
    assert isinstance(late, DashboardError) and "did not finish in 5 seconds" in late.message
    assert isinstance(unread, DashboardError) and unread.message == "dashboard unreachable"
    # reads at 2, 4 and 6 s; at 6 s the 5 s deadline has passed
    assert clock.slept == [2.0, 2.0, 2.0]
    assert dash.reads == ["1", "2", "1", "1"]

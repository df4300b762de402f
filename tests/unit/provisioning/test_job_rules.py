"""How a provisioning job may move, how it ends, and what status a rollout of jobs reads as.

The allowed moves are written out from the engine's contract (README "Provisioning",
docs/architecture.md "A killed rollout resumes by itself", docs/domain.md), never from the table.
"""

from __future__ import annotations

import pytest

from core.errors import InvalidTransition
from provisioning.domain import JobStatus, advance_job, job_outcome, rollout_status

P, R, D = JobStatus.PENDING, JobStatus.RUNNING, JobStatus.DONE
F, V = JobStatus.FAILED, JobStatus.VERIFY_FAILED
EVERY = (P, R, D, F, V)

# - a journalled job is pending until it runs (it starts: running);
# - a running job ends done (every step done, the read-back matches), failed (a step failed) or
#   verify_failed (every step done, the read-back still differs); a job a crash left running is
#   taken up again by a resume (running → running);
# - a failed job is continued by a resume, and so is a verify_failed one (a rollout's resume
#   takes up every job that is not done);
# - a done job never runs again.
ALLOWED = {(P, R), (R, R), (R, D), (R, F), (R, V), (F, R), (V, R)}


def test_the_statuses_are_the_five_the_api_shows() -> None:
    assert sorted(s.value for s in JobStatus) == [
        "done", "failed", "pending", "running", "verify_failed",
    ]  # fmt: skip


@pytest.mark.parametrize(("current", "target"), sorted(ALLOWED))
def test_allowed_job_moves(current: JobStatus, target: JobStatus) -> None:
    assert advance_job(current, target) is target
    assert advance_job(current.value, target) is target  # as read from the job row


@pytest.mark.parametrize(
    ("current", "target"), [(a, b) for a in EVERY for b in EVERY if (a, b) not in ALLOWED]
)
def test_every_other_job_move_is_refused(current: JobStatus, target: JobStatus) -> None:
    with pytest.raises(InvalidTransition) as refused:
        advance_job(current, target)
    assert (refused.value.current, refused.value.target) == (current.value, target.value)
    assert str(refused.value).startswith("provisioning job: cannot move")


def test_a_refusal_names_the_moves_that_are_allowed() -> None:
    with pytest.raises(InvalidTransition) as refused:
        advance_job(P, D)
    assert refused.value.allowed == ["running"]
    with pytest.raises(InvalidTransition) as from_running:
        advance_job(R, P)
    assert from_running.value.allowed == ["done", "failed", "running", "verify_failed"]
    with pytest.raises(InvalidTransition, match="allowed next: none"):
        advance_job(D, R)


@pytest.mark.parametrize(
    ("verify_differs", "all_steps_done", "outcome"),
    [
        (False, True, "done"),
        (True, True, "verify_failed"),
        (False, False, "failed"),  # a step left unfinished is never reported as done
        (True, False, "verify_failed"),  # the difference is what the operator must see
    ],
)
def test_how_a_job_that_ran_without_failing_ends(
    verify_differs: bool, all_steps_done: bool, outcome: str
) -> None:
    assert job_outcome(verify_differs=verify_differs, all_steps_done=all_steps_done) == outcome


@pytest.mark.parametrize(
    ("jobs", "status"),
    [
        ([], "nothing to do"),  # no sheet had a change: no job
        (["pending", "pending"], "pending"),
        (["running"], "running"),
        (["done", "done", "done"], "done"),
        (["failed", "failed"], "failed"),
        (["verify_failed"], "verify_failed"),
        (["done", "failed"], "partly done"),
        (["done", "running"], "partly done"),
        (["pending", "running"], "partly done"),
        (["done", "verify_failed", "done"], "partly done"),
    ],
)
def test_a_rollout_reads_as_its_jobs_when_they_agree_else_partly_done(
    jobs: list[str], status: str
) -> None:
    assert rollout_status(jobs) == status
    assert rollout_status(JobStatus(j) for j in jobs) == status

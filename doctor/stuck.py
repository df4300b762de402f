"""No job or rollout left pending or running: pure, `now` passed in."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from doctor.facts import Invariant, RunFacts, Violation


def stuck_violations(
    runs: Sequence[RunFacts], *, now: datetime, bound: timedelta
) -> list[Violation]:
    """No job or rollout is left pending or running longer than `bound` since it last moved."""
    found: list[Violation] = []
    rollouts: dict[str, list[RunFacts]] = {}
    for run in runs:
        if now - run.last_activity <= bound:
            continue
        if run.rollout:
            rollouts.setdefault(run.rollout, []).append(run)
            continue
        found.append(
            Violation(
                Invariant.STUCK,
                f"job {run.job_id}",
                f"job {run.job_id} has been {run.status} since {run.last_activity:%Y-%m-%d %H:%M} "
                f"UTC (over {_minutes(bound)})",
                f"netkeep apply SHEET --resume {run.job_id}",
            )
        )
    for rollout, stuck in sorted(rollouts.items()):
        jobs = ", ".join(str(r.job_id) for r in sorted(stuck, key=lambda r: r.job_id))
        found.append(
            Violation(
                Invariant.STUCK,
                f"rollout {rollout}",
                f"rollout {rollout} has unfinished jobs ({jobs}) idle for over {_minutes(bound)}",
                f"netkeep apply SHEETS... --rollout {rollout}",
            )
        )
    return found


def _minutes(bound: timedelta) -> str:
    return f"{int(bound.total_seconds() // 60)} min"

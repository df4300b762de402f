"""Several real processes calling one organization under the configured shared budget.

Used by `tests/service/test_shared_budget.py` and `bench/shared_budget.py`: each process builds
its own SDK session and budget from settings (as `netkeep` does), makes one warm-up call, waits
until every process is warm, then makes `calls` requests of the organization (GET its networks)
through the RequestMeter. What the dashboard saw per second is read from the sandbox's counters
by the caller.
"""

from __future__ import annotations

import multiprocessing
import queue
import time
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """Wall time from the common start to the last process's end, and the processes' counts."""

    wall_s: float
    calls: int
    rate_limited: int


def _one_process(
    settings_fields: dict[str, Any],
    organization_id: str,
    calls: int,
    ready: Any,
    start: Any,
    results: Any,
) -> None:
    from core.settings import Settings
    from dashboard.provisioning import MerakiProvisioning

    settings = Settings(**settings_fields, _env_file=None)
    dash = MerakiProvisioning.from_settings(settings, organization_id=organization_id)
    dash.list_networks()  # connections and imports warm before the common start
    ready.put(1)
    start.wait(timeout=120)
    baseline = dash.stats.calls
    for _ in range(calls):
        dash.list_networks()
    results.put((dash.stats.calls - baseline, dash.stats.rate_limited, time.time()))


def run_processes(
    *,
    settings_fields: dict[str, Any],
    organization_id: str,
    processes: int,
    calls: int,
) -> ProbeResult:
    """Start `processes` spawned processes; once all are warm, each makes `calls` requests."""
    context = multiprocessing.get_context("spawn")
    ready, results, start = context.Queue(), context.Queue(), context.Event()
    workers = [
        context.Process(
            target=_one_process,
            args=(settings_fields, organization_id, calls, ready, start, results),
        )
        for _ in range(processes)
    ]
    for worker in workers:
        worker.start()
    deadline = time.time() + 240
    _collect(ready, len(workers), workers, deadline)
    start_at = time.time()
    start.set()
    outcomes: list[tuple[int, int, float]] = _collect(results, len(workers), workers, deadline)
    for worker in workers:
        worker.join(timeout=30)
        if worker.exitcode != 0:
            raise RuntimeError(f"a budget probe process ended with {worker.exitcode}")
    return ProbeResult(
        wall_s=max(end for _, _, end in outcomes) - start_at,
        calls=sum(n for n, _, _ in outcomes),
        rate_limited=sum(limited for _, limited, _ in outcomes),
    )


def _collect(channel: Any, count: int, workers: list[Any], deadline: float) -> list[Any]:
    """`count` messages from `channel`; RuntimeError when a process died or time ran out."""
    got: list[Any] = []
    while len(got) < count:
        try:
            got.append(channel.get(timeout=0.5))
        except queue.Empty:
            failed = [w.exitcode for w in workers if w.exitcode not in (None, 0)]
            if failed or time.time() > deadline:
                for worker in workers:
                    worker.terminate()
                raise RuntimeError(f"budget probe processes failed or hung: {failed}") from None
    return got

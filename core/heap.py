"""The garbage collector's full passes held off while a bulk run builds what it keeps.

A rollout plans and journals thousands of sites before its first request and keeps them until
its outcome: the heap grows by a quarter again and again, and each time CPython walks all of
it in a full pass (a quarter of a second each on a rollout of 1,000 sites, every thread
stopped, the dashboard's budget idle). `bulk_run` raises the third threshold for the block, so
that full passes are rare; the young generations are still collected as usual (most cyclic
garbage dies young), and a full pass still comes after `FULL_PASS_EVERY` young-generation
passes of the middle generation, so the heap of a run of hours stays bounded. The thresholds
are the process's: runs that overlap (two rollouts in one worker) share the block, and the
thresholds found before the first are restored when the last ends. Unlike `gc.freeze`, which
the API's start-up uses for its long-lived objects, nothing is kept out of collection for good.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

FULL_PASS_EVERY = 200
"""Middle-generation passes between two full passes in a bulk run (CPython's default: 10)."""

_lock = threading.Lock()
_runs = 0
_saved: tuple[int, ...] = ()


@contextmanager
def bulk_run() -> Iterator[None]:
    """Full collections held off for the block (and for every block overlapping it)."""
    global _runs, _saved
    with _lock:
        if _runs == 0:
            _saved = gc.get_threshold()
            young, middle, full = _saved
            gc.set_threshold(young, middle, max(FULL_PASS_EVERY, full))
        _runs += 1
    try:
        yield
    finally:
        with _lock:
            _runs -= 1
            if _runs == 0:
                gc.set_threshold(*_saved)

"""Expensive renders (coverage pictures, PDFs, image decodes) bounded per process, and cached.

At most `slots` renders run at once; a request that finds every slot taken waits up to
`wait_seconds` and then gets `Busy` (503 with Retry-After) instead of piling more work on.
A finished render is kept under a key naming the exact content it was drawn from (a digest of
the data, the layout's hash, the resolution), so the same picture is never drawn twice while it
stays in the cache; the cache holds at most `cache_bytes` and forgets the least recently used.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from core.errors import Busy


class RenderGate:
    """A process's render slots and its cache of finished renders."""

    def __init__(self, *, slots: int, wait_seconds: float, cache_bytes: int = 32 * 2**20) -> None:
        self.slots = max(1, slots)
        self.wait_seconds = wait_seconds
        self.cache_bytes = cache_bytes
        self._semaphore = threading.BoundedSemaphore(self.slots)
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, bytes] = OrderedDict()
        self._cached_bytes = 0
        self.renders = 0

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one render slot for the block, or raise Busy once `wait_seconds` have passed."""
        if not self._semaphore.acquire(timeout=self.wait_seconds):
            raise Busy(
                f"all {self.slots} render slots are busy; try again in a few seconds",
                retry_after=max(1, round(self.wait_seconds / 4)),
            )
        try:
            yield
        finally:
            self._semaphore.release()

    def render(self, key: str, draw: Callable[[], bytes]) -> bytes:
        """The cached bytes for `key`, else `draw()` run in a slot and kept."""
        with self._lock:
            found = self._cache.get(key)
            if found is not None:
                self._cache.move_to_end(key)
                return found
        with self.slot():
            with self._lock:  # drawn by another request while this one waited
                found = self._cache.get(key)
            if found is not None:
                return found
            data = draw()
            self.renders += 1
        self._keep(key, data)
        return data

    def _keep(self, key: str, data: bytes) -> None:
        if len(data) > self.cache_bytes // 4:
            return
        with self._lock:
            if key in self._cache:
                return
            self._cache[key] = data
            self._cached_bytes += len(data)
            while self._cached_bytes > self.cache_bytes:
                _, dropped = self._cache.popitem(last=False)
                self._cached_bytes -= len(dropped)


def unbounded() -> RenderGate:
    """A gate for one local user (the CLI): many slots, no wait."""
    return RenderGate(slots=64, wait_seconds=0.0, cache_bytes=0)

"""Expensive renders (coverage pictures, PDFs, image decodes) bounded per process, and cached.

At most `slots` renders run at once, on the gate's own `slots` worker threads (so the memory a
render allocates is reused by the next one instead of spreading over every request thread's
malloc arena); a request that finds every slot taken waits up to `wait_seconds` and then gets
`Busy` (503 with Retry-After) instead of piling more work on.
A finished render is kept under a key naming the exact content it was drawn from (a digest of
the data, the layout's hash, the resolution), so the same picture is never drawn twice while it
stays in the cache; the cache holds at most `cache_bytes` and forgets the least recently used.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import TypeVar

from core.errors import Busy

T = TypeVar("T")


class RenderGate:
    """A process's render slots and its cache of finished renders."""

    def __init__(
        self,
        *,
        slots: int,
        wait_seconds: float,
        cache_bytes: int = 32 * 2**20,
        inline: bool = False,
    ) -> None:
        self.slots = max(1, slots)
        self.inline = inline
        self.wait_seconds = wait_seconds
        self.cache_bytes = cache_bytes
        self._semaphore = threading.BoundedSemaphore(self.slots)
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, bytes] = OrderedDict()
        self._cached_bytes = 0
        self._workers: ThreadPoolExecutor | None = None
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

    def run(self, work: Callable[[], T]) -> T:
        """`work()` in a slot, on one of the gate's worker threads."""
        with self.slot():
            return self._call(work)

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
            data = self._call(draw)
            self.renders += 1
        self._keep(key, data)
        return data

    def _call(self, work: Callable[[], T]) -> T:
        if self.inline:
            return work()
        return self._pool().submit(work).result()

    def _pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._workers is None:
                self._workers = ThreadPoolExecutor(self.slots, thread_name_prefix="render")
            return self._workers

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
    """A gate for one local user (the CLI): work runs in the caller's thread, nothing is kept."""
    return RenderGate(slots=64, wait_seconds=0.0, cache_bytes=0, inline=True)

"""Render slots: never more at once than allowed, Busy after the wait, one drawing per content."""

from __future__ import annotations

import threading
import time

import pytest

from core.errors import Busy
from core.render_gate import RenderGate


def test_no_more_renders_run_at_once_than_slots() -> None:
    gate = RenderGate(slots=2, wait_seconds=5)
    running = peak = 0
    lock = threading.Lock()

    def draw(n: int) -> bytes:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.05)
        with lock:
            running -= 1
        return str(n).encode()

    threads = [
        threading.Thread(target=gate.render, args=(f"k{n}", lambda n=n: draw(n))) for n in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak == 2
    assert gate.renders == 8


def test_a_render_that_finds_every_slot_taken_gives_up_with_busy() -> None:
    gate = RenderGate(slots=1, wait_seconds=0.05)
    with gate.slot():
        started = time.perf_counter()
        with pytest.raises(Busy) as busy:
            gate.render("other", lambda: b"x")
        assert time.perf_counter() - started < 1
    assert busy.value.http_status == 503 and busy.value.retry_after >= 1
    assert gate.render("other", lambda: b"x") == b"x"  # the slot is free again


def test_the_same_content_is_drawn_once() -> None:
    gate = RenderGate(slots=1, wait_seconds=1)
    drawn: list[str] = []

    def draw(key: str) -> bytes:
        drawn.append(key)
        return key.encode() * 10

    assert gate.render("a", lambda: draw("a")) == b"a" * 10
    assert gate.render("a", lambda: draw("a")) == b"a" * 10
    assert gate.render("b", lambda: draw("b")) == b"b" * 10
    assert drawn == ["a", "b"]


def test_the_cache_forgets_the_least_recently_used_beyond_its_size() -> None:
    gate = RenderGate(slots=1, wait_seconds=1, cache_bytes=400)
    drawn: list[str] = []

    def render(key: str) -> bytes:
        return gate.render(key, lambda: drawn.append(key) or b"." * 100)

    for key in ("a", "b", "c", "d"):
        render(key)
    render("a")  # still cached (400 bytes fit), now the most recent
    render("e")  # 500 bytes: "b", the least recently used, goes
    render("a")
    render("b")
    assert drawn == ["a", "b", "c", "d", "e", "b"]


def test_a_failed_render_frees_its_slot_and_caches_nothing() -> None:
    gate = RenderGate(slots=1, wait_seconds=0.05)

    def broken() -> bytes:
        raise ValueError("bad layout")

    with pytest.raises(ValueError):
        gate.render("k", broken)
    assert gate.render("k", lambda: b"ok") == b"ok"


def test_renders_run_on_as_many_threads_as_slots() -> None:
    gate = RenderGate(slots=2, wait_seconds=5)
    seen: set[int] = set()

    def draw(n: int) -> bytes:
        seen.add(threading.get_ident())
        time.sleep(0.01)
        return b"x"

    threads = [
        threading.Thread(target=gate.render, args=(f"t{n}", lambda n=n: draw(n))) for n in range(10)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) <= 2 and threading.get_ident() not in seen


def test_the_cli_gate_runs_in_the_callers_thread() -> None:
    from core.render_gate import unbounded

    assert unbounded().run(threading.get_ident) == threading.get_ident()

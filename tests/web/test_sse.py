"""Server-sent events: multi-line data survives, a quiet stream sends keep-alives, and a stream
whose client went away stops its events."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from web.sse import _stream, encode

T = TypeVar("T")


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """asyncio.run on its own thread: Playwright's sync API keeps a loop on this one."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result(timeout=30)


def test_each_line_of_the_data_is_its_own_field() -> None:
    assert encode("step", "<li>\n  a\r\n</li>") == (
        b"event: step\ndata: <li>\ndata:   a\ndata: </li>\n\n"
    )


def test_a_quiet_stream_sends_keep_alives_and_ends_with_its_events() -> None:
    async def events() -> AsyncIterator[tuple[str, str]]:
        await asyncio.sleep(0.25)
        yield "done", "ok"

    async def collect() -> list[bytes]:
        return [chunk async for chunk in _stream(events(), keepalive_seconds=0.1)]

    chunks = run(collect())
    assert chunks[0] == b": connected\n\n"
    assert chunks.count(b": keep-alive\n\n") >= 1
    assert chunks[-1] == b"event: done\ndata: ok\n\n"


def test_a_stream_closed_early_stops_its_events() -> None:
    stopped: list[bool] = []

    async def events() -> AsyncIterator[tuple[str, str]]:
        try:
            while True:
                await asyncio.sleep(0.01)
                yield "step", "x"
        finally:
            stopped.append(True)

    async def read_two() -> None:
        stream = _stream(events(), keepalive_seconds=5)
        got = [await anext(stream), await anext(stream)]
        assert got[1].startswith(b"event: step")
        await stream.aclose()  # what Starlette does when the client disconnects

    run(read_two())
    assert stopped == [True]

"""Server-sent events: an async iterator of (event, data) pairs as a `text/event-stream`."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from starlette.responses import StreamingResponse

KEEPALIVE_SECONDS = 15.0
Event = tuple[str, str]


def encode(event: str, data: str) -> bytes:
    """One event; every line of `data` gets its own `data:` field (newlines survive)."""
    lines = data.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return (f"event: {event}\n" + "".join(f"data: {line}\n" for line in lines) + "\n").encode()


async def _stream(events: AsyncIterator[Event], keepalive_seconds: float) -> AsyncIterator[bytes]:
    """The events encoded, a comment line whenever none came for `keepalive_seconds`."""
    iterator = aiter(events)
    pending: asyncio.Future[Event] | None = None
    try:
        yield b": connected\n\n"
        while True:
            if pending is None:
                pending = asyncio.ensure_future(anext(iterator))
            done, _ = await asyncio.wait({pending}, timeout=keepalive_seconds)
            if not done:
                yield b": keep-alive\n\n"
                continue
            try:
                event, data = pending.result()
            except StopAsyncIteration:
                return
            pending = None
            yield encode(event, data)
    finally:  # the client went away (Starlette cancels the stream) or the events ended
        if pending is not None and not pending.done():
            pending.cancel()
            with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                await pending
        aclose: Any = getattr(iterator, "aclose", None)
        if aclose is not None:
            with contextlib.suppress(RuntimeError):
                await aclose()


def sse_response(
    events: AsyncIterator[Event], *, keepalive_seconds: float = KEEPALIVE_SECONDS
) -> StreamingResponse:
    """A streaming answer that stops when the events end or the client disconnects."""
    return StreamingResponse(
        _stream(events, keepalive_seconds),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )

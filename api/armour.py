"""The HTTP armour around the whole app, as pure ASGI middleware (no body is buffered twice).

Outermost first:
- `SecurityHeaders`: nosniff, a frame policy, a referrer policy and a CSP on every response (a
  strict one on HTML), `Cache-Control: no-store` on every `/api` response.
- `HostCheck` (Starlette's `TrustedHostMiddleware`, answering in the API's JSON error): a `Host`
  outside the allowed list gets 400, never a redirect or a link built from it.
- `BodyLimit`: a body over `max_body_bytes` gets 413 — at once when its Content-Length says so,
  else as soon as the streamed bytes pass the limit, before the route runs.
- `JsonShape`: a JSON body nested deeper than `max_json_depth`, or holding a lone surrogate
  (not Unicode text; it cannot be stored), gets 422 before validation.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable
from typing import Any

from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.errors import DomainError, PayloadTooLarge, Problem, ValidationFailed, error_body
from core.settings import Settings

DEFAULT_HOSTS = ("localhost", "127.0.0.1", "[::1]", "testserver")
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# Swagger UI and ReDoc need their own scripts, inline style attributes, data: icons, a blob:
# worker (ReDoc's search) and fetches of /openapi.json; nothing else, and nothing inline to run.
HTML_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; worker-src 'self' blob:; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
ALWAYS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-resource-policy", b"same-origin"),
)
REPLACED = {name for name, _ in ALWAYS} | {b"content-security-policy"}
API_JSON_HEADERS = (
    (b"content-type", b"application/json"),
    *ALWAYS,
    (b"content-security-policy", API_CSP.encode()),
    (b"cache-control", b"no-store"),
)
"""What `SecurityHeaders` makes of a JSON response's headers under /api, built once (the hot
read, `api.app.HotReadDispatcher`, sends them itself)."""


def allowed_hosts(settings: Settings) -> list[str]:
    """Local names, the configured API host (unless it is a wildcard bind) and the settings'."""
    hosts = list(DEFAULT_HOSTS)
    if settings.api_host not in ("", "0.0.0.0", "::"):
        hosts.append(f"[{settings.api_host}]" if ":" in settings.api_host else settings.api_host)
    hosts.extend(h.strip().lower() for h in settings.allowed_hosts if h.strip())
    return list(dict.fromkeys(hosts))


def armour(app: ASGIApp, settings: Settings) -> tuple[ASGIApp, HostCheck]:
    """The app wrapped in every layer above, configured from the settings; and its host check
    (whose `seen_allowed` lets a hot path skip the check for a Host already allowed)."""
    inner = JsonShape(app, max_depth=settings.max_json_depth)
    limited = BodyLimit(inner, max_bytes=settings.max_body_bytes)
    hosted = HostCheck(limited, allowed_hosts(settings))
    return SecurityHeaders(hosted), hosted


class SecurityHeaders:
    """Adds the security headers to every response, whichever layer produced it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        is_api = scope["path"].startswith("/api/")

        async def send_armoured(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = _armoured(list(message.get("headers", [])), is_api)
            await send(message)

        await self.app(scope, receive, send_armoured)


def _armoured(headers: list[tuple[bytes, bytes]], is_api: bool) -> list[tuple[bytes, bytes]]:
    content_type = next((v for k, v in headers if k.lower() == b"content-type"), b"")
    kept = [
        (k, v)
        for k, v in headers
        if k.lower() not in REPLACED and not (is_api and k.lower() == b"cache-control")
    ]
    csp = HTML_CSP if content_type.startswith(b"text/html") else API_CSP
    kept.extend(ALWAYS)
    kept.append((b"content-security-policy", csp.encode()))
    if is_api:
        kept.append((b"cache-control", b"no-store"))
    return kept


class HostCheck:
    """Starlette's host check, its plain-text refusal replaced by the API's one JSON error.

    `seen_allowed` holds the first `Host` header values it has let through (at most
    SEEN_HOSTS_MAX of them): Starlette's decision depends on that value alone, so a request
    carrying one of them would be let through again.
    """

    SEEN_HOSTS_MAX = 64

    def __init__(self, app: ASGIApp, hosts: list[str]) -> None:
        self.app = app
        self.check = TrustedHostMiddleware(self._allowed, allowed_hosts=hosts, www_redirect=False)
        self.seen_allowed: set[bytes | None] = set()

    async def _allowed(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["netkeep.host_allowed"] = True
        if len(self.seen_allowed) < self.SEEN_HOSTS_MAX:
            self.seen_allowed.add(_header(scope, b"host"))
        await self.app(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def refused_or_passed(message: Message) -> None:
            if scope.get("netkeep.host_allowed"):
                await send(message)
            elif message["type"] == "http.response.start":
                body = error_body("bad_host", "the Host header names no host this API serves")
                await JSONResponse(body, status_code=400)(scope, receive, send)

        await self.check(scope, receive, refused_or_passed)


class _TooLarge(Exception):
    """Raised inside the app's receive when the streamed body passes the limit."""


def _error_response(error: DomainError) -> JSONResponse:
    return JSONResponse(error.to_dict(), status_code=error.http_status)


def _too_large(max_bytes: int) -> JSONResponse:
    return _error_response(
        PayloadTooLarge(
            f"the request body is larger than {max_bytes:,} bytes; nothing was read or changed",
            limit_bytes=max_bytes,
        )
    )


def _header(scope: Scope, name: bytes) -> bytes | None:
    return next((v for k, v in scope["headers"] if k == name), None)


class BodyLimit:
    """413 for a body over `max_bytes`, counted as it streams in (not only its Content-Length)."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await _too_large(self.max_bytes)(scope, receive, send)
            return
        received = 0
        over = False
        started = False

        async def counted_receive() -> Message:
            nonlocal received, over
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    over = True
                    raise _TooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if over:
                return  # the app's answer to the aborted read is replaced by the 413
            started = started or message["type"] == "http.response.start"
            await send(message)

        with contextlib.suppress(_TooLarge):
            await self.app(scope, counted_receive, guarded_send)
        if over and not started:
            await _too_large(self.max_bytes)(scope, receive, send)


JSON_TYPE = re.compile(rb"^application/(?:[\w.+-]+\+)?json\b", re.IGNORECASE)
SURROGATE = re.compile("[\ud800-\udfff]")
WITH_BODY = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class JsonShape:
    """422 for a JSON body nested too deep or holding a lone surrogate; others pass untouched."""

    def __init__(self, app: ASGIApp, *, max_depth: int) -> None:
        self.app = app
        self.max_depth = max_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        content_type = _header(scope, b"content-type") if scope["type"] == "http" else None
        if (
            content_type is None
            or scope["method"] not in WITH_BODY
            or not JSON_TYPE.match(content_type)
        ):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        problem = json_shape_problem(body, self.max_depth)
        if problem is not None:
            await _error_response(ValidationFailed([problem]))(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)


def _replay(body: bytes, receive: Receive) -> Callable[[], Any]:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def json_shape_problem(body: bytes, max_depth: int) -> Problem | None:
    """Why this JSON body is refused before validation, or None (invalid JSON is left to it)."""
    try:
        value = json.loads(body)
    except RecursionError:
        return Problem(f"JSON nested deeper than {max_depth} levels", "body")
    except ValueError:
        return None
    stack: list[tuple[object, int, str]] = [(value, 0, "body")]
    while stack:
        item, depth, where = stack.pop()
        if isinstance(item, str):
            if not item.isascii() and SURROGATE.search(item):
                return Problem("contains a lone surrogate, which is not Unicode text", where)
            continue
        if not isinstance(item, dict | list):
            continue
        if depth >= max_depth:
            return Problem(f"JSON nested deeper than {max_depth} levels", where)
        if isinstance(item, dict):
            for key, child in item.items():
                if not key.isascii() and SURROGATE.search(key):
                    return Problem(
                        "a key contains a lone surrogate, which is not Unicode text", where
                    )
                stack.append((child, depth + 1, f"{where}.{key}"))
        else:
            stack.extend((child, depth + 1, f"{where}[{i}]") for i, child in enumerate(item))
    return None
